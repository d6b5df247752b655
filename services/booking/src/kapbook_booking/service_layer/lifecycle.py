"""Use cases after booking: cancel and reschedule (patient within policy, staff with a reason),
and the visit's outcome (arrived, fulfilled, no-show). Every change raises the booking's
sequence where the appointment itself changes and publishes an event through the outbox."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session, sessionmaker

from kapbook_booking.adapters import repository as repo
from kapbook_booking.domain.availability import Slot, TimeRange, slot_at
from kapbook_booking.domain.model import (
    BookingNotFound,
    InvalidTransition,
    ManageLinkExpired,
    SlotUnavailable,
    check_booking_window,
    check_policy_window,
    next_status,
)
from kapbook_booking.adapters.schedules import load_schedules
from kapbook_booking.domain.series import ProtocolRuleBroken, rule_breaks, series_status
from kapbook_booking.service_layer.bookings import booking_view, publish_booking_event
from kapbook_booking.service_layer.links import ManageLinks
from kapbook_platform.clock import Clock, utc_now
from kapbook_platform.contracts import EventType
from kapbook_platform.database import retry_on_conflict
from kapbook_platform.messaging.outbox import Outbox
from kapbook_platform.staff.audit import record_audit
from kapbook_platform.staff.principal import StaffPrincipal

EVENTS = {"cancelled": EventType.BOOKING_CANCELLED, "noshow": EventType.BOOKING_NOSHOW, "fulfilled": EventType.BOOKING_COMPLETED}


@dataclass(frozen=True)
class Actor:
    """Who asks for a change: a patient holding a manage link, or a staff member."""

    name: str
    staff: StaffPrincipal | None = None

    @property
    def is_staff(self) -> bool:
        return self.staff is not None


@dataclass
class BookingLifecycle:
    sessions: sessionmaker[Session]
    outbox: Outbox
    links: ManageLinks
    audit_table: Any
    clock: Clock = utc_now

    def booking_for_token(self, token: str) -> dict[str, Any]:
        """The booking a manage link points at; refused once the appointment is over."""
        with self.sessions() as session:
            row = self._row_for_token(session, token)
            return booking_view(repo.booking_details(session, row["id"]), self.links.url_with(token))

    def cancel_by_patient(self, token: str) -> dict[str, Any]:
        with self.sessions.begin() as session:
            row = self._row_for_token(session, token)
            check_policy_window(_hours(row["cancel_notice_hours"]), row["start"], self.clock(), "cancelled")
            return self._cancel(session, row, Actor("patient"), reason="cancelled by the patient",
                                manage_url=self.links.url_with(token))

    def reschedule_by_patient(self, token: str, new_start: datetime) -> dict[str, Any]:
        def unit_of_work() -> dict[str, Any]:
            with self.sessions.begin() as session:
                row = self._row_for_token(session, token)
                check_policy_window(_hours(row["reschedule_notice_hours"]), row["start"], self.clock(), "rescheduled")
                return self._reschedule(session, row, new_start, Actor("patient"), reason=None,
                                        manage_url=self.links.url_with(token))

        return retry_on_conflict(unit_of_work)

    def cancel_by_staff(self, booking_id: str, staff: StaffPrincipal, reason: str) -> dict[str, Any]:
        """Staff may cancel at any time; the reason is recorded with the booking and in the audit log."""
        with self.sessions.begin() as session:
            row = self._row(session, booking_id)
            return self._cancel(session, row, Actor(staff.name, staff), reason=reason)

    def reschedule_by_staff(self, booking_id: str, new_start: datetime, staff: StaffPrincipal, reason: str) -> dict[str, Any]:
        def unit_of_work() -> dict[str, Any]:
            with self.sessions.begin() as session:
                row = self._row(session, booking_id)
                return self._reschedule(session, row, new_start, Actor(staff.name, staff), reason=reason)

        return retry_on_conflict(unit_of_work)

    def record_visit(self, booking_id: str, action: str, staff: StaffPrincipal) -> dict[str, Any]:
        """Mark arrival, completion or no-show."""
        with self.sessions.begin() as session:
            row = self._row(session, booking_id)
            status = next_status(action, row["status"])
            self._update(session, row["id"], status=status)
            record_audit(session, self.audit_table, f"staff:{staff.staff_id}", f"booking.{action}", row["id"])
            if status in EVENTS:
                return publish_booking_event(session, self.outbox, self.links, row["id"], EVENTS[status], now=self.clock())
            return booking_view(repo.booking_details(session, row["id"]), None)

    def rotate_manage_link(self, booking_id: str, staff: StaffPrincipal) -> dict[str, Any]:
        """End every manage link of the booking at once and issue a new one (audited, emailed to the patient)."""
        with self.sessions.begin() as session:
            row = self._row(session, booking_id)
            url = self.links.rotate(session, row["id"], self.clock())
            self._audit(session, Actor(staff.name, staff), "booking.rotate_manage_link", row["id"], None)
            # The patient is emailed the new link, and emails not yet sent carry it instead of the dead one.
            return publish_booking_event(session, self.outbox, self.links, row["id"], EventType.BOOKING_MANAGE_LINK_REPLACED,
                                         now=self.clock(), manage_url=url)

    def cancel_in(self, session: Session, row: RowMapping, actor: Actor, reason: str) -> dict[str, Any]:
        """Cancel inside the caller's unit of work (a series cancels its remaining sessions this way)."""
        return self._cancel(session, row, actor, reason)

    def row_for_token(self, session: Session, token: str) -> RowMapping:
        """The booking a manage link points at (refused once it is over), in the caller's session."""
        return self._row_for_token(session, token)

    def _cancel(self, session: Session, row: RowMapping, actor: Actor, reason: str, manage_url: str | None = None) -> dict[str, Any]:
        next_status("cancel", row["status"])
        self._update(session, row["id"], status="cancelled", sequence=row["sequence"] + 1, status_reason=reason)
        if row["series_id"] is not None:
            sessions = repo.series_session_details(session, row["series_id"])
            repo.set_series_status(session, row["series_id"], series_status(r["status"] for r in sessions))
        self._audit(session, actor, "booking.cancel", row["id"], reason)
        return publish_booking_event(session, self.outbox, self.links, row["id"], EventType.BOOKING_CANCELLED,
                                     now=self.clock(), manage_url=manage_url)

    def _reschedule(self, session: Session, row: RowMapping, new_start: datetime, actor: Actor, reason: str | None,
                    manage_url: str | None = None):
        if row["status"] != "booked":
            raise InvalidTransition(f"A booking that is {row['status']} cannot be rescheduled.")
        kind = repo.appointment_type_by_id(session, row["appointment_type_id"])
        now = self.clock()
        if not actor.is_staff:
            check_booking_window(kind, new_start, now)
        slot = self._free_slot_for_same_clinician(session, row, kind, new_start, now, actor)
        if row["series_id"] is not None and not actor.is_staff:
            check_series_after_move(session, row, slot.start_utc)
        blocked_start, blocked_end = kind.blocked_range(slot.start_utc)
        values = {"start": slot.start_utc, "end": slot.end_utc, "blocked_start": blocked_start, "blocked_end": blocked_end,
                  "room_id": slot.room_id, "location_id": slot.location_id, "sequence": row["sequence"] + 1}
        repo.move_booking(session, row["id"], row["clinician_id"], values | {"updated_at": self.clock()})
        self._audit(session, actor, "booking.reschedule", row["id"], reason)
        return publish_booking_event(
            session, self.outbox, self.links, row["id"], EventType.BOOKING_RESCHEDULED, previous_start=row["start"],
            now=self.clock(), manage_url=manage_url,
        )

    def _free_slot_for_same_clinician(
        self, session: Session, row: RowMapping, kind, new_start: datetime, now: datetime, actor: Actor
    ) -> Slot:
        schedules, rooms = load_schedules(session, kind, new_start, new_start + _TICK, now, clinician_id=row["clinician_id"])
        own = TimeRange(row["blocked_start"], row["blocked_end"])
        # The booking's own time must not count against its new time.
        schedules = [replace(s, busy=_without(s.busy, own)) for s in schedules]
        rooms = [replace(r, busy=_without(r.busy, own)) if r.room_id == row["room_id"] else r for r in rooms]
        rules = kind.availability_rules()
        if actor.is_staff:
            rules = replace(rules, min_notice=timedelta(0))  # staff may move a booking at short notice
        for schedule in schedules:
            slot = slot_at(rules, schedule, rooms, now=now, start=new_start)
            if slot is not None:
                return slot
        raise SlotUnavailable("That time is not available with the same clinician. Please choose another slot.")

    def _row_for_token(self, session: Session, token: str) -> RowMapping:
        booking_id = self.links.booking_id_for(session, token)
        if booking_id is None:
            raise ManageLinkExpired("This link is not valid. Please use the link from your latest email.")
        row = self._row(session, booking_id)
        if row["end"] <= self.clock():
            raise ManageLinkExpired("This appointment is over, so its link no longer works.")
        return row

    def _row(self, session: Session, booking_id: str) -> RowMapping:
        row = repo.booking_with_policy(session, booking_id)
        if row is None:
            raise BookingNotFound("There is no such booking.")
        return row

    def _update(self, session: Session, booking_id: str, **values) -> None:
        repo.update_booking(session, booking_id, {"updated_at": self.clock(), **values})

    def _audit(self, session: Session, actor: Actor, action: str, booking_id: str, reason: str | None) -> None:
        who = f"staff:{actor.staff.staff_id}" if actor.staff else actor.name
        record_audit(session, self.audit_table, who, action, booking_id, {"reason": reason} if reason else None)


_TICK = timedelta(microseconds=1)
LIVE_SESSIONS = ("booked", "arrived", "fulfilled")


def check_series_after_move(session: Session, row: RowMapping, new_start: datetime) -> None:
    """A session moved within its series must keep the protocol with the other live sessions; the
    refusal quotes the rule. (Staff moves carry a recorded reason and are not re-checked.)"""
    series = repo.series_by_id(session, row["series_id"])
    protocol = repo.protocol_from_row(repo.protocol_by_id(session, series["protocol_id"]))
    rows = repo.series_session_details(session, row["series_id"])
    starts = {r["series_position"]: r["start"] for r in rows if r["status"] in LIVE_SESSIONS and r["id"] != row["id"]}
    starts[row["series_position"]] = new_start
    zone = ZoneInfo(next(r["location_timezone"] for r in rows if r["id"] == row["id"]))
    breaks = rule_breaks(protocol, starts, zone, check_count=False)
    if breaks:
        reasons = sorted({reason for reasons in breaks.values() for reason in reasons})
        raise ProtocolRuleBroken(f"This change would break the course's rules. {' '.join(reasons)}", errors={"start": reasons})


def _hours(value: int) -> timedelta:
    return timedelta(hours=value)


def _without(ranges: tuple[TimeRange, ...], own: TimeRange) -> tuple[TimeRange, ...]:
    return tuple(r for r in ranges if r != own)
