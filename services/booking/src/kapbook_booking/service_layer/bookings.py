"""Use cases: book an appointment, hold a slot, read a booking; each one unit of work."""
from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import astuple, dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session, sessionmaker

from kapbook_booking.adapters import repository as repo
from kapbook_booking.adapters.schedules import load_schedules
from kapbook_booking.domain.availability import Slot, slot_at
from kapbook_booking.domain.model import (
    AppointmentType,
    DriverConfirmationRequired,
    HoldNotFound,
    IdempotencyKeyReused,
    SlotUnavailable,
    UnknownAppointmentType,
    check_booking_window,
)
from kapbook_booking.domain.video import DEFAULT_VIDEO_ROOM_TEMPLATE, join_url_for
from kapbook_booking.service_layer.availability import AvailabilityQuery, free_slots
from kapbook_booking.service_layer.availability_cache import AvailabilityCache
from kapbook_booking.service_layer.eligibility import NOT_NEEDED, EligibilityGate, ScreeningLookup
from kapbook_booking.service_layer.links import ManageLinks
from kapbook_booking.service_layer.patient_proofs import remember_patient, with_proven_screening
from kapbook_platform.clock import Clock, utc_now
from kapbook_platform.contracts import EventType
from kapbook_platform.database import read_only, retry_on_conflict
from kapbook_platform.messaging.outbox import Outbox

# Two requests may pick the same free chair at once; the loser retries with fresh data.
CHOICE_ATTEMPTS = 3


T = TypeVar("T")


@dataclass(frozen=True)
class BookAppointment:
    """Command: a patient (or staff on their behalf) books a time."""

    appointment_type: str
    start: datetime
    patient: dict[str, Any]
    clinician_id: str | None = None
    screening_id: str | None = None
    driver_confirmed: bool = False
    hold_id: str | None = None
    idempotency_key: str | None = None
    created_by: str = "patient"
    # A widget proof of the patient's verified email (returning patients): stands in for screening_id.
    patient_proof: str | None = None

    def fingerprint(self) -> str:
        body = {k: v for k, v in vars(self).items() if k not in {"idempotency_key", "created_by", "patient_proof"}}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class HoldSlot:
    appointment_type: str
    start: datetime
    clinician_id: str | None = None


@dataclass
class BookingService:
    sessions: sessionmaker[Session]
    outbox: Outbox
    links: ManageLinks
    eligibility: EligibilityGate
    clock: Clock = utc_now
    hold_minutes: int = 10
    max_availability_days: int = 42
    video_room_template: str = DEFAULT_VIDEO_ROOM_TEMPLATE
    cache: AvailabilityCache = field(default_factory=lambda: AvailabilityCache(timedelta(0)))

    def availability(self, query: AvailabilityQuery) -> tuple[AppointmentType, list[Slot]]:
        # Queries only: on SQLite a deferred transaction (one consistent snapshot under WAL) that
        # takes no write lock, so searches neither wait for bookings nor hold them up.
        with self._reading() as session:
            kind = self._type(session, query.appointment_type)
            return kind, free_slots(session, kind, query, self.clock(), self.max_availability_days)

    def availability_answer(self, query: AvailabilityQuery, render: Callable[[AppointmentType, list[Slot], dict[str, str]], T]) -> T:
        """``render(kind, slots, clinician names)`` of the query's free slots, from the cache while
        nothing it depends on has changed (see ``availability_cache``)."""
        with self._reading() as session:
            # The version first: whatever is read after it is at least as new, so the kept answer never
            # shows less than the version it is kept under.
            version = repo.availability_version(session) if self.cache.enabled else 0
            now = self.clock()
            key = astuple(query)
            kept = self.cache.get(key, version, now) if self.cache.enabled else None
            if kept is not None:
                return kept
            kind = self._type(session, query.appointment_type)
            slots = free_slots(session, kind, query, now, self.max_availability_days)
            answer = render(kind, slots, repo.clinician_names(session))
        first = min((slot.start_utc for slot in slots), default=None)
        self.cache.put(key, version, now, first, kind.min_notice, answer)
        return answer

    def book(self, command: BookAppointment) -> tuple[dict[str, Any], bool]:
        """Book and publish ``booking.created``; returns (booking, created) — created is False on a replay."""
        command = self._with_proven_screening(command)
        screening = self._look_up_screening(command)
        return retry_on_conflict(lambda: self._book(command, screening))

    def _with_proven_screening(self, command: BookAppointment) -> BookAppointment:
        return with_proven_screening(command, self._reading, self.clock(), self.eligibility.valid_days)

    def _look_up_screening(self, command: BookAppointment) -> ScreeningLookup:
        """Find the screening's decision before any transaction opens; refusals that need none come first.

        Asking the eligibility service may take seconds: inside the booking transaction (on SQLite
        BEGIN IMMEDIATE) every other booking would wait for the answer.
        """
        if not command.screening_id:
            return NOT_NEEDED  # nothing to look up; the transaction refuses a type that needs a screening
        with self._reading() as session:
            if command.idempotency_key and repo.find_idempotent(session, "booking", command.idempotency_key):
                return NOT_NEEDED  # a replay answers from the first booking
            kind = self._type(session, command.appointment_type)
            self._check_request(kind, command, self.clock())
            if not kind.requires_eligibility:
                return NOT_NEEDED
            known = repo.eligibility_decision(session, command.screening_id)
        return ScreeningLookup(known) if known is not None else self.eligibility.ask(command.screening_id)

    def _book(self, command: BookAppointment, screening: ScreeningLookup) -> tuple[dict[str, Any], bool]:
        now = self.clock()
        with self.sessions.begin() as session:
            replay = self._replay(session, command)
            if replay is not None:
                return replay, False
            kind = self._type(session, command.appointment_type)
            self._check_request(kind, command, now)
            if kind.requires_eligibility:
                self._check_screening(session, screening, command, now)
            repo.delete_expired_holds(session, now)
            if command.hold_id:
                booking_id = self._consume_hold(session, kind, command, now)
            else:
                booking_id = self._insert_at_free_slot(session, kind, command, now)
            self._give_video_room(session, kind, booking_id)
            remember_patient(session, command.patient, now)
            booking = publish_booking_event(session, self.outbox, self.links, booking_id, EventType.BOOKING_CREATED, now=now)
            if command.idempotency_key:
                repo.remember_idempotent(session, "booking", command.idempotency_key, command.fingerprint(), booking_id, now)
        return booking, True

    def _give_video_room(self, session: Session, kind: AppointmentType, booking_id: str) -> None:
        give_video_room(session, kind, booking_id, self.video_room_template)

    def _check_screening(self, session: Session, screening: ScreeningLookup, command: BookAppointment, now: datetime) -> None:
        self.eligibility.check(screening.decision, command.patient["email"], now)
        if screening.from_service:
            # Remembered with the booking, so this patient's next bookings need not ask again
            # (nor fail while the eligibility service is down) before the screening event arrives.
            repo.remember_eligibility_decision(session, screening.decision)

    def hold(self, command: HoldSlot) -> dict[str, Any]:
        """Reserve a slot for a few minutes while the patient fills in the form."""
        return retry_on_conflict(lambda: self._hold(command))

    def _hold(self, command: HoldSlot) -> dict[str, Any]:
        now = self.clock()
        with self.sessions.begin() as session:
            kind = self._type(session, command.appointment_type)
            check_booking_window(kind, command.start, now)
            repo.delete_expired_holds(session, now)
            values = {"status": "held", "hold_expires_at": now + timedelta(minutes=self.hold_minutes), "created_by": "hold"}
            hold_id = self._insert_first_free(session, kind, command.start, command.clinician_id, now, values)
            return hold_view(repo.booking_by_id(session, hold_id))

    def release_hold(self, hold_id: str) -> None:
        with self.sessions.begin() as session:
            repo.release_hold(session, hold_id)

    def view(self, session: Session, booking_id: str, manage_url: str | None = None) -> dict[str, Any] | None:
        """A booking's view; its manage link only when the caller has just issued one (the
        database keeps only hashes, so a link cannot be read back)."""
        row = repo.booking_details(session, booking_id)
        return booking_view(row, manage_url) if row else None

    def _reading(self) -> Session:
        """A session for queries only: on SQLite a deferred transaction that takes no write lock."""
        return self.sessions(bind=read_only(self.sessions.kw["bind"]))

    def _type(self, session: Session, code: str) -> AppointmentType:
        kind = repo.appointment_type_by_code(session, code)
        if kind is None:
            raise UnknownAppointmentType(f"There is no appointment type {code!r}.")
        return kind

    def _replay(self, session: Session, command: BookAppointment) -> dict[str, Any] | None:
        if not command.idempotency_key:
            return None
        previous = repo.find_idempotent(session, "booking", command.idempotency_key)
        if previous is None:
            return None
        if previous["request_sha256"] != command.fingerprint():
            raise IdempotencyKeyReused("This Idempotency-Key was already used for a different booking request.")
        # A replay answers like the first time, with a working link: a fresh one (the first is not kept).
        return self.view(session, previous["booking_id"], self.links.issue(session, previous["booking_id"], self.clock()))

    def _check_request(self, kind: AppointmentType, command: BookAppointment, now: datetime) -> None:
        """The refusals that need no eligibility decision."""
        check_booking_window(kind, command.start, now)
        if kind.requires_driver and not command.driver_confirmed:
            raise DriverConfirmationRequired("Please confirm that an adult will drive you home after this appointment.")
        if kind.requires_eligibility:
            self.eligibility.require_screening(command.screening_id)

    def _insert_at_free_slot(self, session: Session, kind: AppointmentType, command: BookAppointment, now: datetime) -> str:
        values = {"status": "booked"} | booked_by(command)
        return self._insert_first_free(session, kind, command.start, command.clinician_id, now, values)

    def _insert_first_free(
        self, session: Session, kind: AppointmentType, start: datetime, clinician_id: str | None, now: datetime, values: dict
    ) -> str:
        """Insert at the fairest free slot at ``start``; the database has the last word on overlaps."""
        for _attempt in range(CHOICE_ATTEMPTS):
            slot = self._fairest_slot(session, kind, start, clinician_id, now)
            if slot is None:
                break
            booking_id = str(uuid.uuid4())
            try:
                repo.insert_booking(session, booking_row(booking_id, kind, slot, now) | values)
            except SlotUnavailable:
                continue  # someone took it (or its chair) between our read and our insert
            return booking_id
        raise SlotUnavailable("That time is no longer available. Please choose another slot.")

    def _fairest_slot(
        self, session: Session, kind: AppointmentType, start: datetime, clinician_id: str | None, now: datetime
    ) -> Slot | None:
        schedules, rooms = load_schedules(session, kind, start, start + timedelta(microseconds=1), now, clinician_id)
        rules = kind.availability_rules()
        free = [slot for s in schedules if (slot := slot_at(rules, s, rooms, now=now, start=start)) is not None]
        if len(free) < 2:
            return free[0] if free else None  # one clinician: no load to spread
        load = repo.booked_counts_near(session, [slot.clinician_id for slot in free], start)
        return min(free, key=lambda slot: (load.get(slot.clinician_id, 0), slot.clinician_id))

    def _consume_hold(self, session: Session, kind: AppointmentType, command: BookAppointment, now: datetime) -> str:
        hold = repo.live_hold(session, command.hold_id)
        matches = (
            hold is not None
            and hold["appointment_type_id"] == kind.id
            and hold["start"] == command.start
            and command.clinician_id in (None, hold["clinician_id"])
            and hold["hold_expires_at"] > now
        )
        if not matches:
            raise HoldNotFound("Your reservation of this time has expired. Please choose a slot again.")
        values = {"status": "booked", "hold_expires_at": None, "updated_at": now} | booked_by(command)
        repo.update_booking(session, hold["id"], values)
        return hold["id"]


def give_video_room(session: Session, kind: AppointmentType, booking_id: str, template: str) -> None:
    """A telehealth booking gets its join URL once, when it is booked; a reschedule keeps it."""
    if kind.modality != "telehealth":
        return
    fixed_room = repo.video_room_of_booked_clinician(session, booking_id)
    url = join_url_for(kind.modality, template, fixed_room)
    repo.update_booking(session, booking_id, {"join_url": url})


def booked_by(command: BookAppointment) -> dict[str, Any]:
    """The columns a booking request fills in, whether it books a free time or a held one."""
    patient = command.patient
    return {
        "patient_name": patient["name"],
        "patient_email": patient["email"],
        "patient_phone": patient.get("phone"),
        "patient_timezone": patient["timezone"],
        "screening_id": command.screening_id,
        "driver_confirmed": command.driver_confirmed,
        "created_by": command.created_by,
    }


def booking_row(booking_id: str, kind: AppointmentType, slot: Slot, now: datetime) -> dict[str, Any]:
    blocked_start, blocked_end = kind.blocked_range(slot.start_utc)
    return {
        "id": booking_id,
        "appointment_type_id": kind.id,
        "clinician_id": slot.clinician_id,
        "location_id": slot.location_id,
        "room_id": slot.room_id,
        "start": slot.start_utc,
        "end": slot.end_utc,
        "blocked_start": blocked_start,
        "blocked_end": blocked_end,
        "sequence": 0,
        "driver_confirmed": False,
        "created_at": now,
        "updated_at": now,
    }


def publish_booking_event(
    session: Session, outbox: Outbox, links: ManageLinks, booking_id: str, event_type: str,
    previous_start: datetime | None = None, row: RowMapping | None = None, now: datetime | None = None,
    manage_url: str | None = None,
) -> dict[str, Any]:
    """Write the booking's event to the outbox (same transaction) and return its view.

    The event carries a manage link for the patient's email: ``manage_url`` when the caller has
    one (the patient's own link), else a newly issued random one."""
    row = row if row is not None else repo.booking_details(session, booking_id)
    manage_url = manage_url or links.issue(session, booking_id, now or row["updated_at"])
    data = booking_event_data(row, manage_url)
    if previous_start is not None:
        data["previous_start"] = previous_start.isoformat()
    outbox.add(session, event_type, data)
    return booking_view(row, manage_url)


def hold_view(row: RowMapping) -> dict[str, Any]:
    return {
        "id": row["id"],
        "start": row["start"],
        "end": row["end"],
        "clinician_id": row["clinician_id"],
        "location_id": row["location_id"],
        "room_id": row["room_id"],
        "expires_at": row["hold_expires_at"],
    }


def booking_view(row: RowMapping, manage_url: str | None) -> dict[str, Any]:
    return {
        "id": row["id"],
        "status": row["status"],
        "sequence": row["sequence"],
        "appointment_type": row["type_code"],
        "start": row["start"],
        "end": row["end"],
        "clinician_id": row["clinician_id"],
        "clinician_name": row["clinician_name"],
        "location_id": row["location_id"],
        "location_name": row["location_name"],
        "room_id": row["room_id"],
        "patient": {
            "name": row["patient_name"],
            "email": row["patient_email"],
            "phone": row["patient_phone"],
            "timezone": row["patient_timezone"],
        },
        "manage_url": manage_url,
        "join_url": row["join_url"],
        "cancel_notice_hours": row["cancel_notice_hours"],
        "reschedule_notice_hours": row["reschedule_notice_hours"],
        "series": series_ref(row),
        # The screening the booking was gated by (an id, no outcome): the console links the patient's trend from it.
        "screening_id": row["screening_id"],
    }


def series_ref(row: RowMapping) -> dict[str, Any] | None:
    """Where a session sits in its series (``SeriesRef``), or None for a booking that stands alone."""
    if row.get("series_id") is None:
        return None
    return {"series_id": row["series_id"], "protocol_name": row["protocol_name"],
            "position": row["series_position"], "size": row["series_size"]}


def booking_event_data(row: RowMapping, manage_url: str) -> dict[str, Any]:
    """The booking event payload: what reminders need, no clinical data."""
    return {
        "booking_id": row["id"],
        "sequence": row["sequence"],
        "status": row["status"],
        "appointment_type": {
            "code": row["type_code"],
            "name": row["type_name"],
            "category": row["type_category"],
            "modality": row["type_modality"],
        },
        "start": row["start"].isoformat(),
        "end": row["end"].isoformat(),
        "location": {
            "id": row["location_id"],
            "name": row["location_name"],
            "timezone": row["location_timezone"],
            "address": row["location_address"],
        },
        "clinician": {"id": row["clinician_id"], "name": row["clinician_name"]},
        "patient": {"name": row["patient_name"], "email": row["patient_email"], "timezone": row["patient_timezone"]},
        "manage_url": manage_url,
        "join_url": row["join_url"],
        "cancellation_notice_hours": row["cancel_notice_hours"],
        "series": series_ref(row),
    }
