"""Use cases of treatment series: protocols (staff catalogue), a proposed plan, booking a whole plan
all-or-nothing, reading a series, cancelling its remaining sessions, and the protocol re-check of a
rescheduled session.

A plan is read and checked in one fixed handful of queries (`load_schedules` over the window, then
the engine in memory). Booking it is one transaction: every session is inserted under the
database's no-overlap guarantees (exclusion constraints on PostgreSQL, triggers and BEGIN IMMEDIATE
on SQLite); one refused insert rolls every session back.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session, sessionmaker

from kapbook_booking.adapters import repository as repo
from kapbook_booking.adapters import tables
from kapbook_booking.adapters.schedules import load_schedules
from kapbook_booking.domain.availability import Slot
from kapbook_booking.domain.model import (
    AppointmentType,
    DriverConfirmationRequired,
    IdempotencyKeyReused,
    InvalidTransition,
    OutsideBookingWindow,
    OutsidePolicyWindow,
    SlotUnavailable,
    UnknownAppointmentType,
    check_booking_window,
)
from kapbook_booking.domain.series import (
    FreeTimes,
    Protocol,
    ProtocolRuleBroken,
    SeriesNotFound,
    SeriesUnavailable,
    UnknownProtocol,
    candidate_starts,
    place_requested,
    plan_series,
    rule_breaks,
    series_status,
)
from kapbook_booking.service_layer.bookings import booking_event_data, booking_row, booking_view, give_video_room
from kapbook_booking.service_layer.eligibility import NOT_NEEDED, EligibilityGate, ScreeningLookup
from kapbook_booking.service_layer.errors import Conflict, Forbidden, Invalid
from kapbook_booking.service_layer.lifecycle import Actor, BookingLifecycle
from kapbook_booking.service_layer.links import ManageLinks
from kapbook_booking.service_layer.patient_proofs import remember_patient, with_proven_screening
from kapbook_booking.service_layer.staff_records import StaffWrites, fetch_or_404
from kapbook_platform.clock import Clock, utc_now
from kapbook_platform.contracts import EventType
from kapbook_platform.database import read_only, retry_on_conflict
from kapbook_platform.messaging.outbox import Outbox
from kapbook_platform.staff.audit import record_audit
from kapbook_platform.staff.principal import StaffPrincipal

LIVE = ("booked", "arrived", "fulfilled")
# Another writer may take a chair between our read and our insert: the series is planned again.
SERIES_ATTEMPTS = 3
_TICK = timedelta(microseconds=1)


def protocol_view(row: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("id", "code", "name", "appointment_type", "sessions", "min_gap_hours", "max_window_days", "max_per_week",
            "requires_preparation", "integration_within_days", "active")
    return {key: row[key] for key in keys}


@dataclass(frozen=True)
class ProposeSeries:
    protocol: str
    start: datetime
    timezone: str
    clinician_id: str | None = None


@dataclass(frozen=True)
class BookSeries:
    """Command: book every session of a plan at once."""

    protocol: str
    timezone: str
    sessions: tuple[tuple[datetime, str | None], ...]
    patient: dict[str, Any]
    screening_id: str | None = None
    driver_confirmed: bool = False
    override_reason: str | None = None
    idempotency_key: str | None = None
    staff: StaffPrincipal | None = field(default=None, compare=False)
    # A returning patient's proof from the emailed link, in place of screening_id (see patient_proofs).
    patient_proof: str | None = None

    def fingerprint(self) -> str:
        body = {k: v for k, v in vars(self).items() if k not in {"idempotency_key", "staff", "patient_proof"}}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()

    @property
    def created_by(self) -> str:
        return f"staff:{self.staff.staff_id}" if self.staff else "patient"


class _InsertLost(Exception):
    """An insert met a row committed after our read; the whole series is planned again."""


@dataclass
class SeriesService:
    sessions: sessionmaker[Session]
    outbox: Outbox
    links: ManageLinks
    eligibility: EligibilityGate
    lifecycle: BookingLifecycle
    writes: StaffWrites
    clock: Clock = utc_now
    video_room_template: str = ""

    # --- protocols ------------------------------------------------------------------------

    def protocols(self, appointment_type: str | None = None, active_only: bool = True) -> list[dict[str, Any]]:
        with self._reading() as session:
            return [protocol_view(row) for row in repo.protocols_list(session, appointment_type, active_only)]

    def protocol(self, protocol_id: str) -> dict[str, Any]:
        with self._reading() as session:
            row = repo.protocol_by_id(session, protocol_id)
        if row is None:
            raise SeriesNotFound(f"There is no protocol with id {protocol_id!r}.")
        return protocol_view(row)

    def create_protocol(self, actor: StaffPrincipal, values: Mapping[str, Any]) -> dict[str, Any]:
        with self.writes.unit_of_work() as session:
            if repo.protocol_code_taken(session, values["code"]):
                raise Conflict(f"A protocol with code {values['code']!r} exists already; codes are unique.", code="code_taken")
            row = _protocol_columns(session, values)
            check_protocol(row)
            protocol_id = self.writes.insert(session, actor, tables.protocols, "protocol", row)
        return self.protocol(protocol_id)

    def update_protocol(self, actor: StaffPrincipal, protocol_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        with self.writes.unit_of_work() as session:
            row = fetch_or_404(session, tables.protocols, protocol_id, "protocol", lock=True)
            if changes.get("code", row["code"]) != row["code"] and repo.protocol_code_taken(session, changes["code"]):
                raise Conflict(f"A protocol with code {changes['code']!r} exists already; codes are unique.", code="code_taken")
            columns = _protocol_columns(session, changes)
            check_protocol({**row, **columns})
            self.writes.update(session, actor, tables.protocols, "protocol", row, columns)
        return self.protocol(protocol_id)

    # --- proposals ------------------------------------------------------------------------

    def propose(self, query: ProposeSeries) -> dict[str, Any]:
        """The whole plan from a first session, in a fixed number of queries whatever the clinic's size."""
        now = self.clock()
        with self._reading() as session:
            protocol, kind = self._protocol_and_type(session, query.protocol)
            _check_first_start(kind, query.start, now)
            free, zones = _free_times(session, kind, protocol, query.start, now, query.clinician_id)
            names = repo.clinician_names(session)
        plan = plan_series(protocol, free, query.start, zones, query.clinician_id)
        zone = ZoneInfo(query.timezone)
        sessions = [
            {"position": s.position, "start": s.choice.start.astimezone(zone), "end": s.choice.end.astimezone(zone),
             "clinician_id": s.choice.clinician_id, "clinician_name": names.get(s.choice.clinician_id, ""),
             "location_id": s.choice.location_id, "room_id": s.choice.room_id, "changes": list(s.changes),
             "integration_by": _integration_by(protocol, s.choice.end, zone)}
            for s in plan.sessions
        ]
        return {"protocol": self._protocol_view_of(protocol, kind), "timezone": query.timezone,
                "sessions": sessions, "changes": plan.changes}

    # --- booking ----------------------------------------------------------------------------

    def book(self, command: BookSeries) -> tuple[dict[str, Any], bool]:
        """Book every session or none; returns (series view, created) — created is False on a replay."""
        if command.override_reason and command.staff is None:
            raise Forbidden("Only staff may override a protocol's rules.", code="override_needs_staff")
        command = with_proven_screening(command, self._reading, self.clock(), self.eligibility.valid_days)
        screening = self._look_up_screening(command)
        for _attempt in range(SERIES_ATTEMPTS):
            try:
                return retry_on_conflict(lambda: self._book(command, screening))
            except _InsertLost:
                continue  # planned again on fresh data: the refusal then names the sessions taken
        raise SeriesUnavailable("Another booking took one of these sessions at the same moment; please choose again.")

    def _look_up_screening(self, command: BookSeries) -> ScreeningLookup:
        """Ask eligibility before any transaction opens (it may take seconds), as a single booking does."""
        with self._reading() as session:
            if command.idempotency_key and repo.find_idempotent(session, "series", command.idempotency_key):
                return NOT_NEEDED
            protocol, kind = self._protocol_and_type(session, command.protocol)
            self._check_request(protocol, kind, command, self.clock())
            if not kind.requires_eligibility:
                return NOT_NEEDED
            known = repo.eligibility_decision(session, command.screening_id)
        return ScreeningLookup(known) if known is not None else self.eligibility.ask(command.screening_id)

    def _check_request(self, protocol: Protocol, kind: AppointmentType, command: BookSeries, now: datetime) -> None:
        """Refusals that need neither the schedules nor an eligibility decision."""
        if not command.sessions:
            raise Invalid("A series needs its sessions.", errors={"sessions": ["At least one session."]})
        _check_order(kind, command)
        window_errors: dict[str, list[str]] = {}
        for position, (start, _clinician) in enumerate(command.sessions, start=1):
            try:
                check_booking_window(kind, start, now)
            except OutsideBookingWindow as refusal:
                window_errors[str(position)] = [refusal.message]
        if window_errors:
            raise OutsideBookingWindow("Some sessions are outside the booking window; see errors.",
                                       errors={"sessions": window_errors})
        if kind.requires_driver and not command.driver_confirmed:
            raise DriverConfirmationRequired("Please confirm that an adult will drive you home after each session.")
        if kind.requires_eligibility:
            self.eligibility.require_screening(command.screening_id)

    def _book(self, command: BookSeries, screening: ScreeningLookup) -> tuple[dict[str, Any], bool]:
        now = self.clock()
        with self.sessions.begin() as session:
            replay = self._replay(session, command)
            if replay is not None:
                return replay, False
            protocol, kind = self._protocol_and_type(session, command.protocol)
            self._check_request(protocol, kind, command, now)
            if kind.requires_eligibility:
                self.eligibility.check(screening.decision, command.patient["email"], now)
                if screening.from_service:
                    repo.remember_eligibility_decision(session, screening.decision)
            repo.delete_expired_holds(session, now)
            placed = self._place(session, protocol, kind, command, now)
            series_id = self._insert(session, protocol, kind, command, placed, now)
            remember_patient(session, command.patient, now)
            view = self._publish_booked(session, series_id, now)
            if command.idempotency_key:
                repo.remember_idempotent(session, "series", command.idempotency_key, command.fingerprint(), series_id, now)
        return view, True

    def _place(self, session: Session, protocol: Protocol, kind: AppointmentType, command: BookSeries, now: datetime):
        """Each session's free clinician and room (fewest changes), after the protocol's rules; refusals name the session."""
        starts = [start for start, _ in command.sessions]
        schedules, rooms = load_schedules(session, kind, min(starts), max(starts) + _TICK, now)
        zones = {s.location_id: s.zone for s in schedules}
        free = FreeTimes.search(kind.availability_rules(), schedules, rooms, starts, now)
        placed, missing = place_requested(free, command.sessions, ZoneInfo(command.timezone))
        zone = zones.get(placed[0].location_id) if placed else next(iter(zones.values()), ZoneInfo(command.timezone))
        if not command.override_reason:
            self._check_rules(session, protocol, command, zone)
        if missing:
            raise SeriesUnavailable(
                f"{len(missing)} of the {len(starts)} sessions cannot be booked, so none was; see errors.",
                errors={"sessions": {str(position): reasons for position, reasons in missing.items()}},
            )
        return placed

    def _check_rules(self, session: Session, protocol: Protocol, command: BookSeries, zone: ZoneInfo) -> None:
        starts = {position: start for position, (start, _) in enumerate(command.sessions, start=1)}
        breaks = rule_breaks(protocol, starts, zone)
        if protocol.requires_preparation and not repo.has_preparation_before(session, command.patient["email"], min(starts.values())):
            breaks.setdefault(1, []).append(protocol.preparation_rule())
        if breaks:
            rules = sorted({reason for reasons in breaks.values() for reason in reasons})
            raise ProtocolRuleBroken(" ".join(rules), errors={"sessions": {str(p): r for p, r in sorted(breaks.items())}})

    def _insert(self, session: Session, protocol: Protocol, kind: AppointmentType, command: BookSeries, placed, now: datetime) -> str:
        series_id = str(uuid.uuid4())
        repo.insert_series(session, {
            "id": series_id, "protocol_id": protocol.id, "patient_email": command.patient["email"].lower(),
            "status": "booked", "size": len(placed), "created_by": command.created_by, "created_at": now,
            "idempotency_key": command.idempotency_key,
        })
        # All the series' locks at once, in one order, so two series never wait for each other in a cycle.
        repo.lock_all_resources(session, {c.clinician_id for c in placed}, {c.room_id for c in placed if c.room_id})
        patient = command.patient
        for position, choice in enumerate(placed, start=1):
            booking_id = str(uuid.uuid4())
            slot = Slot(choice.start, choice.end, choice.clinician_id, choice.location_id, choice.room_id)
            values = booking_row(booking_id, kind, slot, now) | {
                "status": "booked", "patient_name": patient["name"], "patient_email": patient["email"],
                "patient_phone": patient.get("phone"), "patient_timezone": patient["timezone"],
                "screening_id": command.screening_id, "driver_confirmed": command.driver_confirmed,
                "created_by": command.created_by, "series_id": series_id, "series_position": position,
            }
            try:
                repo.insert_booking(session, values)
            except SlotUnavailable:
                raise _InsertLost() from None
            give_video_room(session, kind, booking_id, self.video_room_template)
        if command.override_reason and command.staff is not None:
            record_audit(session, self.lifecycle.audit_table, f"staff:{command.staff.staff_id}", "series.override",
                         f"series:{series_id}", {"reason": command.override_reason})
        elif command.staff is not None:
            record_audit(session, self.lifecycle.audit_table, f"staff:{command.staff.staff_id}", "series.book",
                         f"series:{series_id}")
        return series_id

    def _publish_booked(self, session: Session, series_id: str, now: datetime) -> dict[str, Any]:
        """One booking.created per session (``series`` set), then one series.booked with every snapshot."""
        series = repo.series_by_id(session, series_id)
        rows = repo.series_session_details(session, series_id)
        snapshots, urls = [], {}
        for row in rows:
            urls[row["id"]] = self.links.issue(session, row["id"], now)
            data = booking_event_data(row, urls[row["id"]])
            self.outbox.add(session, EventType.BOOKING_CREATED, data)
            snapshots.append(data)
        first = rows[0]
        self.outbox.add(session, EventType.SERIES_BOOKED, {
            "series_id": series_id, "protocol": {"id": series["protocol_id"], "name": series["protocol_name"]},
            "patient": _contact(first), "sessions": snapshots, "booked_at": now.isoformat(),
        })
        return self._series_view(session, series, rows, urls)

    def _replay(self, session: Session, command: BookSeries) -> dict[str, Any] | None:
        if not command.idempotency_key:
            return None
        previous = repo.find_idempotent(session, "series", command.idempotency_key)
        if previous is None:
            return None
        if previous["request_sha256"] != command.fingerprint():
            raise IdempotencyKeyReused("This Idempotency-Key was already used for a different series request.")
        # Links are kept only as hashes: a replay answers with fresh ones for every session.
        rows = repo.series_session_details(session, previous["booking_id"])
        urls = {row["id"]: self.links.issue(session, row["id"], self.clock()) for row in rows}
        return self._view(session, previous["booking_id"], urls)

    # --- reading and cancelling ------------------------------------------------------------------

    def view_by_id(self, series_id: str) -> dict[str, Any]:
        with self._reading() as session:
            return self._view(session, series_id)

    def view_for_token(self, token: str) -> dict[str, Any]:
        with self._reading() as session:
            row = self.lifecycle.row_for_token(session, token)
            return self._view(session, self._series_id_for_token(session, token), {row["id"]: self.links.url_with(token)})

    def cancel_remaining_by_patient(self, token: str) -> dict[str, Any]:
        """Cancel the future sessions the cancellation policy still allows; past (and too close) ones stay."""
        with self.sessions.begin() as session:
            series_id = self._series_id_for_token(session, token)
            return self._cancel_remaining(session, series_id, Actor("patient"), "cancelled by the patient")

    def cancel_remaining_by_staff(self, series_id: str, staff: StaffPrincipal, reason: str) -> dict[str, Any]:
        """Staff cancel every future session at any notice, with a recorded reason."""
        with self.sessions.begin() as session:
            if repo.series_by_id(session, series_id) is None:
                raise SeriesNotFound("There is no such series.")
            return self._cancel_remaining(session, series_id, Actor(staff.name, staff), reason)

    def _cancel_remaining(self, session: Session, series_id: str, actor: Actor, reason: str) -> dict[str, Any]:
        now = self.clock()
        series = repo.series_by_id(session, series_id)
        rows = repo.series_session_details(session, series_id)
        future = [row for row in rows if row["status"] == "booked" and row["start"] > now]
        allowed = [row for row in future if actor.is_staff or now <= row["start"] - timedelta(hours=row["cancel_notice_hours"])]
        if not future:
            raise InvalidTransition("This series has no remaining sessions to cancel.")
        if not allowed:
            hours = future[0]["cancel_notice_hours"]
            raise OutsidePolicyWindow(
                f"Sessions can be cancelled online up to {hours} hours before they start. "
                "Please call the clinic to cancel this close to your next session.")
        for row in allowed:
            self.lifecycle.cancel_in(session, repo.booking_with_policy(session, row["id"]), actor, reason)
        cancelled = {row["id"] for row in allowed}
        rows = repo.series_session_details(session, series_id)
        status = _status(rows)
        repo.set_series_status(session, series_id, status)
        self.outbox.add(session, EventType.SERIES_CANCELLED, {
            "series_id": series_id, "protocol": {"id": series["protocol_id"], "name": series["protocol_name"]},
            "patient": _contact(rows[0]), "cancelled_booking_ids": [r["id"] for r in rows if r["id"] in cancelled],
            "kept_booking_ids": [r["id"] for r in rows if r["id"] not in cancelled], "cancelled_at": now.isoformat(),
        })
        if actor.is_staff:
            record_audit(session, self.lifecycle.audit_table, f"staff:{actor.staff.staff_id}", "series.cancel_remaining",
                         f"series:{series_id}", {"reason": reason})
        return self._series_view(session, repo.series_by_id(session, series_id), rows)

    def _series_id_for_token(self, session: Session, token: str) -> str:
        row = self.lifecycle.row_for_token(session, token)
        if row["series_id"] is None:
            raise SeriesNotFound("This appointment is not part of a series.")
        return row["series_id"]

    def _view(self, session: Session, series_id: str, urls: dict[str, str] | None = None) -> dict[str, Any]:
        series = repo.series_by_id(session, series_id)
        if series is None:
            raise SeriesNotFound("There is no such series.")
        return self._series_view(session, series, repo.series_session_details(session, series_id), urls)

    def _series_view(self, session: Session, series: RowMapping, rows: list[RowMapping],
                     urls: dict[str, str] | None = None) -> dict[str, Any]:
        """The series; a session's manage link only where ``urls`` has one just issued or presented."""
        urls = urls or {}
        protocol = repo.protocol_by_id(session, series["protocol_id"])
        return {
            "id": series["id"], "protocol": protocol_view(protocol), "status": _status(rows),
            "created_at": series["created_at"],
            "sessions": [booking_view(row, urls.get(row["id"])) for row in rows],
        }

    # --- shared -----------------------------------------------------------------------------------

    def _protocol_and_type(self, session: Session, code: str) -> tuple[Protocol, AppointmentType]:
        row = repo.protocol_by_code(session, code)
        if row is None:
            raise UnknownProtocol(f"There is no protocol {code!r}.", errors={"protocol": [f"Unknown protocol {code!r}."]})
        kind = repo.appointment_type_by_code(session, row["appointment_type"])
        if kind is None:
            raise UnknownAppointmentType(f"The protocol's appointment type {row['appointment_type']!r} is not offered.")
        return repo.protocol_from_row(row), kind

    @staticmethod
    def _protocol_view_of(protocol: Protocol, kind: AppointmentType) -> dict[str, Any]:
        return {"id": protocol.id, "code": protocol.code, "name": protocol.name, "appointment_type": kind.code,
                "sessions": protocol.sessions, "min_gap_hours": int(protocol.min_gap.total_seconds() // 3600),
                "max_window_days": protocol.max_window_days, "max_per_week": protocol.max_per_week,
                "requires_preparation": protocol.requires_preparation,
                "integration_within_days": protocol.integration_within_days, "active": True}

    def _reading(self) -> Session:
        return self.sessions(bind=read_only(self.sessions.kw["bind"]))


def _integration_by(protocol: Protocol, dose_end: datetime, zone: ZoneInfo) -> datetime | None:
    """When the protocol offers integration after each dose: the latest moment to have it (N days after the dose)."""
    if protocol.integration_within_days is None:
        return None
    return (dose_end + timedelta(days=protocol.integration_within_days)).astimezone(zone)


def _check_order(kind: AppointmentType, command: BookSeries) -> None:
    """Sessions come in time order, and none overlaps the one before (an override cannot book that either)."""
    errors: dict[str, list[str]] = {}
    for position, ((previous, _), (start, _)) in enumerate(zip(command.sessions, command.sessions[1:]), start=2):
        if start <= previous:
            errors[str(position)] = [f"Session {position} must start after session {position - 1}."]
        elif kind.blocked_range(previous)[1] > kind.blocked_range(start)[0]:
            errors[str(position)] = [f"Session {position} overlaps session {position - 1}."]
    if errors:
        raise Invalid("The sessions must be in time order and must not overlap; see errors.", errors={"sessions": errors})


def _check_first_start(kind: AppointmentType, start: datetime, now: datetime) -> None:
    try:
        check_booking_window(kind, start, now)
    except OutsideBookingWindow as refusal:
        raise OutsideBookingWindow(refusal.message, errors={"start": [refusal.message]}) from None


def _free_times(session: Session, kind: AppointmentType, protocol: Protocol, first_start: datetime, now: datetime,
                clinician_id: str | None) -> tuple[FreeTimes, dict[str, ZoneInfo]]:
    """One load of the window (every clinician of the type, or one) and the free times at each candidate start."""
    window_end = first_start + timedelta(days=protocol.max_window_days + 1)
    schedules, rooms = load_schedules(session, kind, first_start, window_end, now, clinician_id)
    zones = {s.location_id: s.zone for s in schedules}
    starts = candidate_starts(protocol, first_start, zones.values() or [ZoneInfo("UTC")])
    return FreeTimes.search(kind.availability_rules(), schedules, rooms, starts, now), zones


def _contact(row: RowMapping) -> dict[str, Any]:
    return {"name": row["patient_name"], "email": row["patient_email"], "timezone": row["patient_timezone"]}


def _status(rows: list[RowMapping]) -> str:
    return series_status(row["status"] for row in rows)


def _protocol_columns(session: Session, values: Mapping[str, Any]) -> dict[str, Any]:
    """Request fields as table columns: the appointment type's code becomes its id (unknown: 422)."""
    columns = {k: v for k, v in values.items() if k != "appointment_type"}
    if "appointment_type" in values:
        found = repo.appointment_type_ids_for_codes(session, [values["appointment_type"]])
        if values["appointment_type"] not in found:
            raise Invalid("The protocol is not valid; see errors.",
                          errors={"appointment_type": [f"Unknown appointment type {values['appointment_type']!r}."]})
        columns["appointment_type_id"] = found[values["appointment_type"]]
    return columns


def check_protocol(values: Mapping[str, Any]) -> None:
    """Rules across fields: the sessions must fit in the window at the minimum gap."""
    errors: dict[str, list[str]] = {}
    sessions, window, gap = values["sessions"], values["max_window_days"], values["min_gap_hours"]
    if sessions > window:
        errors["sessions"] = ["At most one session a day: the window must have at least as many days as sessions."]
    elif (sessions - 1) * max(gap, 24) >= window * 24 + 24:
        errors["min_gap_hours"] = ["The sessions cannot fit in the window at this minimum gap."]
    if errors:
        raise Invalid("The protocol is not valid; see errors.", errors=errors)
