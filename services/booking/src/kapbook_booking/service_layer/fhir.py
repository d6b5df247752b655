"""Use case: read the clinic as FHIR R4 scheduling resources and SMART Scheduling Links files.

Read-only. Slots come straight from the availability engine (no slot table to keep in sync);
the catalogue is read in a fixed handful of queries. Nothing here sees Flask or HTTP.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from kapbook_booking.adapters import repository as repo
from kapbook_booking.adapters import tables
from kapbook_booking.adapters.schedules import load_schedules
from kapbook_booking.domain import fhir
from kapbook_booking.domain.availability import Slot, find_slots
from kapbook_booking.domain.errors import Invalid, NotFound
from kapbook_platform.clock import Clock
from kapbook_platform.database import read_only


class UnknownResource(NotFound):
    code = "not_found"


class InvalidSearch(Invalid):
    code = "invalid_search"


@dataclass(frozen=True)
class SlotSearch:
    """Free slots starting in [start, end), optionally of some types, one clinician or one room."""

    start: datetime
    end: datetime
    type_codes: frozenset[str] | None = None
    clinician_id: str | None = None
    room_id: str | None = None


@dataclass(frozen=True)
class Catalogue:
    locations: list[dict]
    clinicians: list[dict]
    types: list[dict]
    rooms: list[dict]
    clinician_locations: dict[str, list[str]]
    clinician_types: dict[str, list[dict]]


@dataclass
class FhirDirectory:
    sessions: sessionmaker[Session]
    clock: Clock
    max_days: int

    def _reading(self) -> Session:
        return self.sessions(bind=read_only(self.sessions.kw["bind"]))

    def catalogue(self) -> Catalogue:
        """Locations, active clinicians, active appointment types and rooms, with who works where on what."""
        with self._reading() as session:
            types = [dict(row) for row in repo.appointment_types_by_code(session) if row["active"]]
            clinicians = [dict(row) for row in repo.clinicians_by_name(session)]
            ids = [row["id"] for row in clinicians]
            by_code = {kind["code"]: kind for kind in types}
            kinds: dict[str, list[dict]] = defaultdict(list)
            for clinician_id, code in repo.clinician_type_codes(session, ids):
                if code in by_code:
                    kinds[clinician_id].append(by_code[code])
            places: dict[str, list[str]] = defaultdict(list)
            for clinician_id, location_id in repo.clinician_location_ids(session, ids):
                places[clinician_id].append(location_id)
            return Catalogue(
                locations=[dict(row) for row in repo.locations_by_name(session)],
                clinicians=clinicians, types=types,
                rooms=[dict(row) for row in repo.rooms_by_location(session)],
                clinician_locations=dict(places), clinician_types=dict(kinds),
            )

    def active_types(self) -> list[dict]:
        """The bookable appointment types, by code (all a Slot search needs of the catalogue)."""
        with self._reading() as session:
            return [dict(row) for row in repo.appointment_types_by_code(session) if row["active"]]

    def free_slots(self, search: SlotSearch, types: Iterable[dict]) -> list[tuple[Slot, dict]]:
        """Free slots of each wanted type, by start then clinician, honouring notice and horizon."""
        if search.end <= search.start:
            raise InvalidSearch("The start range is empty.")
        if search.end - search.start > timedelta(days=self.max_days):
            raise InvalidSearch(f"Ask for at most {self.max_days} days of slots at a time.")
        now = self.clock()
        found: list[tuple[Slot, dict]] = []
        kinds = 0
        with self._reading() as session:
            for row in types:
                if search.type_codes is not None and row["code"] not in search.type_codes:
                    continue
                kind = repo.appointment_type_from_row(row)
                schedules, rooms = load_schedules(session, kind, search.start, search.end, now,
                                                  clinician_id=search.clinician_id)
                slots = find_slots(kind.availability_rules(), schedules, rooms, now=now,
                                   window_start=search.start, window_end=search.end)
                found.extend((slot, row) for slot in slots
                             if search.room_id is None or slot.room_id == search.room_id)
                kinds += 1
        if kinds > 1:  # find_slots already orders one type's slots by start, then clinician
            found.sort(key=lambda pair: (pair[0].start_utc, pair[0].clinician_id, pair[1]["code"]))
        return found

    def appointments(self, start: datetime, end: datetime, statuses: list[str] | None, count: int, offset: int
                     ) -> tuple[list[tuple[dict, dict]], int]:
        """One page of bookings (with their type) starting in [start, end)."""
        with self._reading() as session:
            rows, total = repo.bookings_starting_between(session, start, end, statuses, count, offset)
            return [(dict(row), self._type_row(session, row["appointment_type_id"])) for row in rows], total

    def appointment(self, booking_id: str) -> tuple[dict, dict]:
        with self._reading() as session:
            row = repo.row_by_id(session, tables.bookings, booking_id)
            if row is None:
                raise UnknownResource(f"There is no Appointment/{booking_id}.")
            return dict(row), self._type_row(session, row["appointment_type_id"])

    @staticmethod
    def _type_row(session: Session, type_id: str) -> dict:
        return dict(repo.row_by_id(session, tables.appointment_types, type_id) or {"code": "unknown", "name": "Unknown"})


def find(resources: Iterable[dict], kind: str, resource_id: str) -> dict:
    """The resource with this id, or UnknownResource."""
    for resource in resources:
        if resource["id"] == resource_id:
            return resource
    raise UnknownResource(f"There is no {kind}/{resource_id}.")


def schedules(catalogue: Catalogue) -> list[dict]:
    """One Schedule per clinician, and one per chair or room."""
    return [
        fhir.clinician_schedule(row, catalogue.clinician_locations.get(row["id"], []),
                                catalogue.clinician_types.get(row["id"], []))
        for row in catalogue.clinicians
    ] + [fhir.room_schedule(row) for row in catalogue.rooms]


def resources_of(catalogue: Catalogue, kind: str, *, phone: str | None, website: str) -> list[dict]:
    """Every resource of one readable catalogue kind."""
    if kind == "Location":
        return [fhir.location(row, phone, website) for row in catalogue.locations]
    if kind == "Practitioner":
        return [fhir.practitioner(row) for row in catalogue.clinicians]
    if kind == "PractitionerRole":
        return [fhir.practitioner_role(row, catalogue.clinician_locations.get(row["id"], []),
                                       catalogue.clinician_types.get(row["id"], [])) for row in catalogue.clinicians]
    if kind == "HealthcareService":
        return [fhir.healthcare_service(row) for row in catalogue.types]
    if kind == "Schedule":
        return schedules(catalogue)
    raise UnknownResource(f"This server does not serve {kind}.")


def published_locations(catalogue: Catalogue) -> list[dict]:
    """The locations SMART can list: physical places with a postal address (not "online")."""
    return [row for row in catalogue.locations if fhir.postal_address(row.get("address"))]


def smart_schedules(catalogue: Catalogue) -> list[dict]:
    """SMART Schedules: one per (published location, appointment type) that some clinician offers there."""
    places = {row["id"] for row in published_locations(catalogue)}
    pairs: dict[tuple[str, str], dict] = {}
    for clinician in catalogue.clinicians:
        if not clinician["active"]:
            continue
        for location_id in set(catalogue.clinician_locations.get(clinician["id"], [])) & places:
            for kind in catalogue.clinician_types.get(clinician["id"], []):
                pairs[(location_id, kind["code"])] = kind
    return [fhir.smart_schedule(location_id, kind) for (location_id, _), kind in sorted(pairs.items(), key=lambda p: p[0])]
