"""Staff use cases for the clinic's catalogue: locations, rooms, appointment types and clinicians.

Every write is one unit of work with one audit row. A record other rows still point at is
not deleted: the answer is a 409 that says what uses it, and deactivating keeps the history.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from kapbook_booking.adapters import repository as repo
from kapbook_booking.adapters import tables
from kapbook_booking.service_layer.errors import Conflict, Invalid
from kapbook_booking.service_layer.staff_records import (
    Reference,
    StaffWrites,
    fetch_or_404,
    refuse_if_referenced,
    require_exists,
)
from kapbook_platform.staff.principal import StaffPrincipal

APPOINTMENT_CATEGORIES = (
    "consultation", "evaluation", "preparation", "dosing_iv", "dosing_esketamine", "dosing_im", "integration", "booster",
)
MODALITIES = ("in_person", "telehealth")
CLINICIAN_ROLES = ("prescriber", "therapist", "nurse")
MINUTES_PER_DAY = 24 * 60
KEEP_HISTORY = "Deactivate it instead (PATCH with active=false); its bookings keep their history."

Record = dict[str, Any]


def new_calendar_token() -> str:
    """The secret in a clinician's iCalendar feed URL."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class StaffCatalog:
    writes: StaffWrites

    # --- locations -------------------------------------------------------------

    def locations(self) -> list[Record]:
        """Every location, by name."""
        with self.writes.reading() as session:
            return [dict(row) for row in repo.locations_by_name(session)]

    def location(self, location_id: str) -> Record:
        with self.writes.reading() as session:
            return dict(fetch_or_404(session, tables.locations, location_id, "location"))

    def create_location(self, actor: StaffPrincipal, values: Mapping[str, Any]) -> Record:
        with self.writes.unit_of_work() as session:
            location_id = self.writes.insert(session, actor, tables.locations, "location", values)
        return self.location(location_id)

    def update_location(self, actor: StaffPrincipal, location_id: str, changes: Mapping[str, Any]) -> Record:
        with self.writes.unit_of_work() as session:
            row = fetch_or_404(session, tables.locations, location_id, "location", lock=True)
            self.writes.update(session, actor, tables.locations, "location", row, changes)
        return self.location(location_id)

    def delete_location(self, actor: StaffPrincipal, location_id: str) -> None:
        """Delete a location nothing refers to any more."""
        with self.writes.unit_of_work() as session:
            row = fetch_or_404(session, tables.locations, location_id, "location", lock=True)
            references = [
                Reference(tables.rooms.c.location_id, "rooms"),
                Reference(tables.working_hours.c.location_id, "working-hour intervals"),
                Reference(tables.schedule_overrides.c.location_id, "date overrides"),
                Reference(tables.bookings.c.location_id, "bookings"),
            ]
            hint = "Move or delete its rooms and hours first; a location with bookings stays for their history."
            refuse_if_referenced(session, location_id, f"The location {row['name']!r}", references, hint)
            self.writes.delete(session, actor, tables.locations, "location", location_id)

    # --- rooms and chairs --------------------------------------------------------

    def rooms(self, location_id: str | None = None) -> list[Record]:
        """Rooms and chairs, by location and name; optionally at one location."""
        with self.writes.reading() as session:
            return [dict(row) for row in repo.rooms_by_location(session, location_id)]

    def room(self, room_id: str) -> Record:
        with self.writes.reading() as session:
            return dict(fetch_or_404(session, tables.rooms, room_id, "room"))

    def create_room(self, actor: StaffPrincipal, values: Mapping[str, Any]) -> Record:
        with self.writes.unit_of_work() as session:
            require_exists(session, tables.locations, values["location_id"], "location_id", "location")
            room_id = self.writes.insert(session, actor, tables.rooms, "room", values)
        return self.room(room_id)

    def update_room(self, actor: StaffPrincipal, room_id: str, changes: Mapping[str, Any]) -> Record:
        with self.writes.unit_of_work() as session:
            row = fetch_or_404(session, tables.rooms, room_id, "room", lock=True)
            self.writes.update(session, actor, tables.rooms, "room", row, changes)
        return self.room(room_id)

    def delete_room(self, actor: StaffPrincipal, room_id: str) -> None:
        """Delete a room or chair that was never booked."""
        with self.writes.unit_of_work() as session:
            row = fetch_or_404(session, tables.rooms, room_id, "room", lock=True)
            references = [Reference(tables.bookings.c.room_id, "bookings")]
            refuse_if_referenced(session, room_id, f"The room {row['name']!r}", references, KEEP_HISTORY)
            self.writes.delete(session, actor, tables.rooms, "room", room_id)

    # --- appointment types -------------------------------------------------------

    def appointment_types(self) -> list[Record]:
        """Every appointment type, by code."""
        with self.writes.reading() as session:
            return [dict(row) for row in repo.appointment_types_by_code(session)]

    def appointment_type(self, type_id: str) -> Record:
        with self.writes.reading() as session:
            return dict(fetch_or_404(session, tables.appointment_types, type_id, "appointment type"))

    def create_appointment_type(self, actor: StaffPrincipal, values: Mapping[str, Any]) -> Record:
        with self.writes.unit_of_work() as session:
            _refuse_taken_code(session, values["code"])
            check_appointment_type(session, values)
            type_id = self.writes.insert(session, actor, tables.appointment_types, "appointment_type", values)
        return self.appointment_type(type_id)

    def update_appointment_type(self, actor: StaffPrincipal, type_id: str, changes: Mapping[str, Any]) -> Record:
        with self.writes.unit_of_work() as session:
            row = fetch_or_404(session, tables.appointment_types, type_id, "appointment type", lock=True)
            if changes.get("code", row["code"]) != row["code"]:
                _refuse_taken_code(session, changes["code"])
            check_appointment_type(session, {**row, **changes})
            self.writes.update(session, actor, tables.appointment_types, "appointment_type", row, changes)
        return self.appointment_type(type_id)

    def delete_appointment_type(self, actor: StaffPrincipal, type_id: str) -> None:
        """Delete an appointment type that was never booked (clinicians stop offering it)."""
        with self.writes.unit_of_work() as session:
            row = fetch_or_404(session, tables.appointment_types, type_id, "appointment type", lock=True)
            references = [Reference(tables.bookings.c.appointment_type_id, "bookings")]
            refuse_if_referenced(session, type_id, f"The appointment type {row['code']!r}", references, KEEP_HISTORY)
            self.writes.delete(session, actor, tables.appointment_types, "appointment_type", type_id)

    # --- clinicians -----------------------------------------------------------------

    def clinicians(self) -> list[Record]:
        """Every clinician with the types they deliver and the locations they work at (three queries)."""
        with self.writes.reading() as session:
            return _clinician_views(session, repo.clinicians_by_name(session))

    def clinician(self, clinician_id: str) -> Record:
        with self.writes.reading() as session:
            return _clinician_views(session, [fetch_or_404(session, tables.clinicians, clinician_id, "clinician")])[0]

    def create_clinician(self, actor: StaffPrincipal, values: Mapping[str, Any]) -> Record:
        columns = {k: v for k, v in values.items() if k != "appointment_types"}
        with self.writes.unit_of_work() as session:
            type_ids = _type_ids(session, values["appointment_types"])
            row = columns | {"calendar_token": new_calendar_token()}
            clinician_id = self.writes.insert(session, actor, tables.clinicians, "clinician", row)
            repo.link_clinician_types(session, clinician_id, type_ids)
        return self.clinician(clinician_id)

    def update_clinician(self, actor: StaffPrincipal, clinician_id: str, changes: Mapping[str, Any]) -> Record:
        columns = {k: v for k, v in changes.items() if k != "appointment_types"}
        with self.writes.unit_of_work() as session:
            row = fetch_or_404(session, tables.clinicians, clinician_id, "clinician", lock=True)
            relinked = "appointment_types" in changes and self._relink(session, clinician_id, changes["appointment_types"])
            also_changed = ["appointment_types"] if relinked else []
            self.writes.update(session, actor, tables.clinicians, "clinician", row, columns, also_changed)
        return self.clinician(clinician_id)

    def delete_clinician(self, actor: StaffPrincipal, clinician_id: str) -> None:
        """Delete a clinician who was never booked; their hours, overrides and time off go too."""
        with self.writes.unit_of_work() as session:
            row = fetch_or_404(session, tables.clinicians, clinician_id, "clinician", lock=True)
            references = [
                Reference(tables.bookings.c.clinician_id, "bookings"),
                Reference(tables.staff_members.c.clinician_id, "staff accounts"),
            ]
            refuse_if_referenced(session, clinician_id, f"The clinician {row['name']!r}", references, KEEP_HISTORY)
            self.writes.delete(session, actor, tables.clinicians, "clinician", clinician_id)

    @staticmethod
    def _relink(session: Session, clinician_id: str, codes: Iterable[str]) -> bool:
        """Make the clinician deliver exactly these types; True if that changed anything."""
        wanted = set(_type_ids(session, codes))
        current = repo.clinician_type_ids(session, clinician_id)
        if wanted == current:
            return False
        if current - wanted:
            repo.unlink_clinician_types(session, clinician_id, current - wanted)
        repo.link_clinician_types(session, clinician_id, sorted(wanted - current))
        return True


def check_appointment_type(session: Session, values: Mapping[str, Any]) -> None:
    """Rules across fields and tables: a room kind that exists, none for telehealth, notice inside the horizon."""
    errors: dict[str, list[str]] = {}
    kind = values.get("room_kind")
    if kind and values["modality"] == "telehealth":
        errors["room_kind"] = ["A telehealth appointment takes no room; leave room_kind empty."]
    elif kind and not repo.active_room_kind_exists(session, kind):
        errors["room_kind"] = [f"No active room or chair is of kind {kind!r}; add one first."]
    if values["min_notice_minutes"] >= values["horizon_days"] * MINUTES_PER_DAY:
        errors["min_notice_minutes"] = ["The minimum notice must be shorter than the booking horizon."]
    if errors:
        raise Invalid("The appointment type is not valid; see errors.", errors=errors)


def _refuse_taken_code(session: Session, code: str) -> None:
    if repo.appointment_type_code_taken(session, code):
        raise Conflict(f"An appointment type with code {code!r} exists already; codes are unique.", code="code_taken")


def _type_ids(session: Session, codes: Iterable[str]) -> list[str]:
    """The ids of these type codes; unknown codes are a 422 on ``appointment_types``."""
    codes = sorted(set(codes))
    found = repo.appointment_type_ids_for_codes(session, codes)
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise Invalid(
            "Some appointment types do not exist; see errors.",
            errors={"appointment_types": [f"Unknown appointment type {code!r}." for code in unknown]},
        )
    return [found[code] for code in codes]


def _clinician_views(session: Session, rows: list[RowMapping]) -> list[Record]:
    """Clinician rows with their type codes and location ids, in two more queries whatever the count."""
    ids = [row["id"] for row in rows]
    codes = repo.clinician_type_codes(session, ids)
    places = repo.clinician_location_ids(session, ids)
    by_id: dict[str, Record] = {
        row["id"]: {k: v for k, v in row.items() if k != "calendar_token"} | {"appointment_types": [], "location_ids": []}
        for row in rows
    }
    for clinician_id, code in codes:
        by_id[clinician_id]["appointment_types"].append(code)
    for clinician_id, location_id in places:
        by_id[clinician_id]["location_ids"].append(location_id)
    return list(by_id.values())
