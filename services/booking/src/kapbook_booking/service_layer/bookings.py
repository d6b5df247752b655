"""Use cases: book an appointment, read a booking; each one unit of work."""
from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session, sessionmaker

from kapbook_booking.adapters import repository as repo
from kapbook_booking.domain.model import (
    AppointmentType,
    DriverConfirmationRequired,
    IdempotencyKeyReused,
    SlotUnavailable,
    UnknownAppointmentType,
    check_booking_window,
)
from kapbook_booking.service_layer.links import ManageLinks
from kapbook_platform.contracts import EventType
from kapbook_platform.messaging.outbox import Outbox

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


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

    def fingerprint(self) -> str:
        body = {k: v for k, v in vars(self).items() if k not in {"idempotency_key", "created_by"}}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class BookingService:
    sessions: sessionmaker[Session]
    outbox: Outbox
    links: ManageLinks
    clock: Clock = utc_now

    def book(self, command: BookAppointment) -> tuple[dict[str, Any], bool]:
        """Book and publish ``booking.created``; returns (booking, created) — created is False on a replay."""
        now = self.clock()
        with self.sessions.begin() as session:
            replay = self._replay(session, command)
            if replay is not None:
                return replay, False
            kind = repo.appointment_type_by_code(session, command.appointment_type)
            if kind is None:
                raise UnknownAppointmentType(f"There is no appointment type {command.appointment_type!r}.")
            self._check_request(kind, command, now)
            repo.delete_expired_holds(session, now)
            booking_id = self._insert(session, kind, command, now)
            booking = self._publish(session, booking_id, EventType.BOOKING_CREATED)
            if command.idempotency_key:
                repo.remember_idempotent(session, "booking", command.idempotency_key, command.fingerprint(), booking_id, now)
        return booking, True

    def _replay(self, session: Session, command: BookAppointment) -> dict[str, Any] | None:
        if not command.idempotency_key:
            return None
        previous = repo.find_idempotent(session, "booking", command.idempotency_key)
        if previous is None:
            return None
        if previous["request_sha256"] != command.fingerprint():
            raise IdempotencyKeyReused("This Idempotency-Key was already used for a different booking request.")
        return self.view(session, previous["booking_id"])

    def _check_request(self, kind: AppointmentType, command: BookAppointment, now: datetime) -> None:
        check_booking_window(kind, command.start, now)
        if kind.requires_driver and not command.driver_confirmed:
            raise DriverConfirmationRequired("Please confirm that an adult will drive you home after this appointment.")

    def _insert(self, session: Session, kind: AppointmentType, command: BookAppointment, now: datetime) -> str:
        clinician_id, location_id = self._choose_clinician(session, kind, command)
        blocked_start, blocked_end = kind.blocked_range(command.start)
        booking_id = str(uuid.uuid4())
        patient = command.patient
        repo.insert_booking(
            session,
            {
                "id": booking_id,
                "appointment_type_id": kind.id,
                "clinician_id": clinician_id,
                "location_id": location_id,
                "room_id": None,
                "start": command.start,
                "end": command.start + kind.duration,
                "blocked_start": blocked_start,
                "blocked_end": blocked_end,
                "status": "booked",
                "sequence": 0,
                "patient_name": patient["name"],
                "patient_email": patient["email"],
                "patient_phone": patient.get("phone"),
                "patient_timezone": patient["timezone"],
                "screening_id": command.screening_id,
                "driver_confirmed": command.driver_confirmed,
                "created_by": command.created_by,
                "created_at": now,
                "updated_at": now,
            },
        )
        return booking_id

    def _choose_clinician(self, session: Session, kind: AppointmentType, command: BookAppointment) -> tuple[str, str]:
        candidates = repo.clinician_ids_for_type(session, kind.id)
        if command.clinician_id is not None:
            candidates = [c for c in candidates if c == command.clinician_id]
        for clinician_id in candidates:
            location_id = _working_location(session, clinician_id, command.start, command.start + kind.duration)
            if location_id is not None:
                return clinician_id, location_id
        raise SlotUnavailable("That time is not available. Please choose another slot.")

    def _publish(self, session: Session, booking_id: str, event_type: str) -> dict[str, Any]:
        booking = self.view(session, booking_id)
        self.outbox.add(session, event_type, self._event_data(session, booking_id))
        return booking

    def _event_data(self, session: Session, booking_id: str) -> dict[str, Any]:
        row = repo.booking_details(session, booking_id)
        return booking_event_data(row, self.links.url_for(booking_id))

    def view(self, session: Session, booking_id: str) -> dict[str, Any] | None:
        row = repo.booking_details(session, booking_id)
        if row is None:
            return None
        return booking_view(row, self.links.url_for(booking_id))


def _working_location(session: Session, clinician_id: str, start: datetime, end: datetime) -> str | None:
    """The location where the clinician works for the whole of [start, end), if any."""
    for weekday in range(7):
        for hours in repo.working_location_at(session, clinician_id, weekday):
            zone = ZoneInfo(hours["timezone"])
            local_start, local_end = start.astimezone(zone), end.astimezone(zone)
            if (
                local_start.weekday() == hours["weekday"]
                and local_start.date() == local_end.date()
                and hours["start_time"] <= local_start.time()
                and local_end.time() <= hours["end_time"]
            ):
                return hours["location_id"]
    return None


def booking_view(row: RowMapping, manage_url: str) -> dict[str, Any]:
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
    }


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
        "cancellation_notice_hours": row["cancel_notice_hours"],
    }
