"""Clinicians' own calendars over CalDAV: their busy times block availability, and bookings can
be written into them.

* ``CalendarConnections``: staff connect, change, sync now and disconnect a calendar (audited).
  An admin manages anyone's; a clinician only their own; the front desk reads.
* ``CalendarSync``: the background sync. It leases due connections and commits, asks the server
  with no transaction open, then stores the busy ranges found (or the error, keeping the last
  known ranges: availability never waits for, or fails with, a calendar server).
* ``CalendarPushFanout``: in the transaction that writes a booking event, marks the booking due
  to be pushed to the calendars concerned (the clinician's, and any that already hold it).
* ``CalendarPusher``: writes each due booking's current state (an event, or its removal).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session, sessionmaker

from kapbook_booking.adapters import calendar_connection_repository as cal_repo
from kapbook_booking.adapters import tables
from kapbook_booking.adapters.caldav_http import CalDavClient, CalDavCredentials, CalDavError
from kapbook_booking.adapters.schedule_repository import linked_clinician_id
from kapbook_booking.adapters.secret_box import SealedSecretUnreadable, SecretBox
from kapbook_booking.adapters.webhook_http import TargetGuard, UnsafeTarget
from kapbook_booking.domain.external_calendar import CalendarDataInvalid, booking_event, booking_uid, busy_ranges
from kapbook_booking.service_layer.errors import Forbidden, Invalid, NotFound
from kapbook_booking.service_layer.staff_records import StaffWrites, fetch_or_404
from kapbook_platform.clock import Clock
from kapbook_platform.contracts import Envelope
from kapbook_platform.staff.principal import StaffPrincipal

log = logging.getLogger(__name__)
Record = dict[str, Any]
CONNECTION_FIELDS = ("id", "clinician_id", "url", "username", "timezone", "push_bookings", "active", "last_synced_at",
                     "last_attempt_at", "last_error", "failed_syncs_in_row", "busy_count", "next_sync_at",
                     "created_at", "updated_at")
ACTIVE_BOOKING = ("booked", "arrived")
MAX_PUSH_ATTEMPTS = 8
UNREADABLE_PASSWORD = "The saved password cannot be read (BOOKING_SECRET_KEY changed?): enter it again."


class NotYourCalendar(Forbidden):
    """A clinician tried to manage another clinician's calendar, or the front desk tried to change one."""

    code = "not_your_calendar"


@dataclass(frozen=True)
class CalendarSettings:
    sync_every: timedelta = timedelta(minutes=2)
    sync_days: int = 180
    batch_size: int = 10
    # Outlasts a whole batch of servers that each use up the timeout, so no two workers sync one calendar.
    lease: timedelta = timedelta(minutes=5)

    @property
    def stale_after(self) -> timedelta:
        """Busy times older than this are shown as out of date (three missed syncs)."""
        return self.sync_every * 3

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """The span a sync reads: from a day ago (a booking in progress) to ``sync_days`` ahead."""
        return now - timedelta(days=1), now + timedelta(days=self.sync_days)


def connection_view(row: Mapping[str, Any], now: datetime, settings: CalendarSettings,
                    pushes: Mapping[tuple[str, str], int] | None = None) -> Record:
    """A connection as staff see it: never the password; ``stale`` when its busy times are out of date."""
    view = {name: row[name] for name in CONNECTION_FIELDS}
    synced = row["last_synced_at"]
    view["stale"] = bool(row["active"]) and (synced is None or now - synced > settings.stale_after or row["last_error"] is not None)
    counts = pushes or {}
    view["pushes_pending"] = counts.get((row["id"], "pending"), 0)
    view["pushes_failed"] = counts.get((row["id"], "failed"), 0)
    return view


def _zone_problem(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"{name!r} is not an IANA time zone (e.g. America/New_York)."
    return None


@dataclass(frozen=True)
class CalendarConnections:
    """What staff do with connected calendars. Each write is audited (field names only)."""

    writes: StaffWrites
    box: SecretBox
    guard: TargetGuard
    sync: CalendarSync
    clock: Clock
    settings: CalendarSettings = CalendarSettings()

    def list_for(self, actor: StaffPrincipal, clinician_id: str) -> list[Record]:
        with self.writes.reading() as session:
            fetch_or_404(session, tables.clinicians, clinician_id, "clinician")
            self._check_may_see(session, actor, clinician_id)
            return self._views(session, cal_repo.connections_of(session, clinician_id))

    def list_all(self) -> list[Record]:
        """Every connection (the console's overview of calendars that fail)."""
        with self.writes.reading() as session:
            return self._views(session, cal_repo.all_connections(session))

    def get(self, actor: StaffPrincipal, connection_id: str) -> Record:
        with self.writes.reading() as session:
            row = fetch_or_404(session, tables.calendar_connections, connection_id, "calendar connection")
            self._check_may_see(session, actor, row["clinician_id"])
            return self._views(session, [row])[0]

    def busy(self, actor: StaffPrincipal, connection_id: str) -> list[dict[str, datetime]]:
        """The busy ranges the last good sync stored."""
        with self.writes.reading() as session:
            row = fetch_or_404(session, tables.calendar_connections, connection_id, "calendar connection")
            self._check_may_see(session, actor, row["clinician_id"])
            return [{"start": start, "end": end} for start, end in cal_repo.busy_of(session, connection_id)]

    def create(self, actor: StaffPrincipal, clinician_id: str, values: Mapping[str, Any]) -> Record:
        """Connect a calendar; its first sync is due at once (the worker, or ``sync_now``)."""
        self._check_url(values["url"])
        now = self.clock()
        with self.writes.unit_of_work() as session:
            fetch_or_404(session, tables.clinicians, clinician_id, "clinician", lock=True)
            self._check_may_change(session, actor, clinician_id)
            zone = values.get("timezone") or cal_repo.main_timezone(session, clinician_id) or "UTC"
            self._check_zone(zone)
            if any(row["url"] == values["url"] for row in cal_repo.connections_of(session, clinician_id)):
                raise Invalid("This calendar is already connected.", errors={"url": ["This calendar is already connected."]})
            row = {
                "clinician_id": clinician_id, "url": values["url"], "username": values["username"],
                "password_sealed": self.box.seal(values["password"]), "timezone": zone,
                "push_bookings": values.get("push_bookings", False), "active": True, "next_sync_at": now,
                "failed_syncs_in_row": 0, "busy_count": 0, "created_at": now, "updated_at": now,
            }
            connection_id = self.writes.insert(session, actor, tables.calendar_connections, "calendar_connection", row)
            return self._views(session, [fetch_or_404(session, tables.calendar_connections, connection_id, "calendar connection")])[0]

    def update(self, actor: StaffPrincipal, connection_id: str, changes: Mapping[str, Any]) -> Record:
        """Change the URL, credentials, zone or pushing, pause or resume. A new URL or credentials
        sync at once; pausing drops the stored busy ranges (they no longer block anything)."""
        if "url" in changes:
            self._check_url(changes["url"])
        if "timezone" in changes:
            self._check_zone(changes["timezone"])
        values = {name: value for name, value in changes.items() if name != "password"}
        if "password" in changes:
            values["password_sealed"] = self.box.seal(changes["password"])
        now = self.clock()
        with self.writes.unit_of_work() as session:
            row = fetch_or_404(session, tables.calendar_connections, connection_id, "calendar connection", lock=True)
            self._check_may_change(session, actor, row["clinician_id"])
            if {"url", "username", "password", "timezone"} & changes.keys() or values.get("active") is True:
                values |= {"next_sync_at": now, "failed_syncs_in_row": 0}
            if values.get("active") is False:
                cal_repo.drop_busy(session, connection_id)
                values["busy_count"] = 0
            if any(row[name] != value for name, value in values.items()):
                values["updated_at"] = now
            self.writes.update(session, actor, tables.calendar_connections, "calendar_connection", row, values)
            return self._views(session, [fetch_or_404(session, tables.calendar_connections, connection_id, "calendar connection")])[0]

    def delete(self, actor: StaffPrincipal, connection_id: str) -> None:
        """Disconnect: its busy ranges stop blocking at once. Events already written stay in the calendar."""
        with self.writes.unit_of_work() as session:
            row = fetch_or_404(session, tables.calendar_connections, connection_id, "calendar connection", lock=True)
            self._check_may_change(session, actor, row["clinician_id"])
            self.writes.delete(session, actor, tables.calendar_connections, "calendar_connection", connection_id)

    def sync_now(self, actor: StaffPrincipal, connection_id: str) -> Record:
        """Sync this calendar now (and retry its failed pushes); the answer shows the outcome."""
        with self.writes.unit_of_work() as session:
            row = fetch_or_404(session, tables.calendar_connections, connection_id, "calendar connection", lock=True)
            self._check_may_change(session, actor, row["clinician_id"])
            if not row["active"]:
                raise Invalid("This calendar is paused: resume it first.")
            cal_repo.retry_failed_pushes(session, connection_id, self.clock())
            self.writes.audit(session, actor, "calendar_connection.synced", f"calendar_connection:{connection_id}")
        self.sync.sync_one(connection_id)
        return self.get(actor, connection_id)

    def _views(self, session: Session, rows: list) -> list[Record]:
        counts = cal_repo.push_counts(session, [row["id"] for row in rows])
        now = self.clock()
        return [connection_view(row, now, self.settings, counts) for row in rows]

    def _check_may_see(self, session: Session, actor: StaffPrincipal, clinician_id: str) -> None:
        if actor.role == "clinician" and linked_clinician_id(session, actor.staff_id) != clinician_id:
            raise NotYourCalendar("Clinicians see only their own calendar connections.")

    def _check_may_change(self, session: Session, actor: StaffPrincipal, clinician_id: str) -> None:
        if actor.role == "admin":
            return
        if actor.role == "clinician" and linked_clinician_id(session, actor.staff_id) == clinician_id:
            return
        raise NotYourCalendar("A calendar is connected by its clinician or an admin.")

    def _check_url(self, url: str) -> None:
        try:
            self.guard.check_url(url)
        except UnsafeTarget as refusal:
            raise Invalid(str(refusal), errors={"url": [str(refusal)]}) from None

    @staticmethod
    def _check_zone(name: str) -> None:
        problem = _zone_problem(name)
        if problem:
            raise Invalid(problem, errors={"timezone": [problem]})


@dataclass
class CalendarSync:
    """Reads connected calendars' busy times in the background, never inside a request that waits."""

    sessions: sessionmaker[Session]
    client: CalDavClient
    box: SecretBox
    clock: Clock
    settings: CalendarSettings = CalendarSettings()

    def sync_due(self) -> int:
        """Sync every connection that is due; returns how many were tried."""
        now = self.clock()
        with self.sessions.begin() as session:
            due = [dict(row) for row in cal_repo.claim_due_syncs(session, now, now + self.settings.lease, self.settings.batch_size)]
        for connection in due:  # no transaction is open while the server is asked
            self._sync(connection)
        return len(due)

    def sync_one(self, connection_id: str) -> None:
        now = self.clock()
        with self.sessions.begin() as session:
            row = cal_repo.lease_connection(session, connection_id, now + self.settings.lease)
            connection = dict(row) if row is not None else None
        if connection is None:
            raise NotFound(f"There is no calendar connection with id {connection_id!r}.")
        self._sync(connection)

    def _sync(self, connection: Mapping[str, Any]) -> None:
        started = self.clock()
        start, end = self.settings.window(started)
        try:
            credentials = _credentials(connection, self.box)
            found = self.client.calendar_data(credentials, start, end)
            ranges = busy_ranges(found, start, end, ZoneInfo(connection["timezone"]))
        except (CalDavError, CalendarDataInvalid, SealedSecretUnreadable) as error:
            self._record_failure(connection, started, _reason(error))
            return
        with self.sessions.begin() as session:
            stored = cal_repo.replace_busy(session, connection, [(busy.start, busy.end) for busy in ranges])
            cal_repo.update_connection(session, connection["id"], {
                "busy_count": stored, "last_synced_at": started, "last_attempt_at": started, "last_error": None,
                "failed_syncs_in_row": 0, "claimed_until": None, "next_sync_at": started + self.settings.sync_every,
            })

    def _record_failure(self, connection: Mapping[str, Any], started: datetime, reason: str) -> None:
        # The last known busy ranges stay: availability degrades to them, it never fails.
        log.warning("calendar sync failed; availability uses the last known busy times",
                    extra={"connection_id": connection["id"], "error": reason})
        with self.sessions.begin() as session:
            cal_repo.update_connection(session, connection["id"], {
                "last_attempt_at": started, "last_error": reason, "claimed_until": None,
                "failed_syncs_in_row": connection["failed_syncs_in_row"] + 1,
                "next_sync_at": started + self.settings.sync_every,
            })


@dataclass(frozen=True)
class CalendarPushFanout:
    """Marks bookings due to be pushed, in the transaction that wrote their event."""

    clock: Clock

    def on_event(self, session: Session, envelope: Envelope) -> None:
        booking_ids = _booking_ids(envelope.data)
        if booking_ids:
            cal_repo.mark_pushes_pending(session, cal_repo.push_targets(session, booking_ids), self.clock())


def _booking_ids(data: Mapping[str, Any]) -> set[str]:
    """The bookings an event is about: one booking's, a series' sessions, or a series' cancelled ones."""
    ids = {data["booking_id"]} if isinstance(data.get("booking_id"), str) else set()
    ids |= {session["booking_id"] for session in data.get("sessions") or () if isinstance(session, Mapping)}
    ids |= set(data.get("cancelled_booking_ids") or ())
    return ids


@dataclass
class CalendarPusher:
    """Writes due bookings into connected calendars: the current state each time, so changes that
    came in quick succession become one request."""

    sessions: sessionmaker[Session]
    client: CalDavClient
    box: SecretBox
    clock: Clock
    batch_size: int = 20
    lease: timedelta = timedelta(minutes=5)

    def push_due(self) -> int:
        now = self.clock()
        with self.sessions.begin() as session:
            claimed = [dict(row) for row in cal_repo.claim_due_pushes(session, now, now + self.lease, self.batch_size)]
        for push in claimed:  # no transaction is open while the server is asked
            self._record(push, self._push(push))
        return len(claimed)

    def _push(self, push: Mapping[str, Any]) -> tuple[bool, str | None]:
        """(whether the event is on the calendar now, the error if the push failed)."""
        uid = booking_uid(push["booking_id"])
        wanted = push["booking_status"] in ACTIVE_BOOKING and push["clinician_id"] == push["calendar_clinician_id"]
        try:
            credentials = _credentials(push, self.box)
            if wanted:
                event = booking_event(uid, push["start"], push["end"], ZoneInfo(push["timezone"]), self.clock(), push["sequence"])
                self.client.put_event(credentials, uid, event)
            elif push["on_calendar"]:
                self.client.delete_event(credentials, uid)
        except (CalDavError, SealedSecretUnreadable) as error:
            return bool(push["on_calendar"]), _reason(error)
        return wanted, None

    def _record(self, push: Mapping[str, Any], outcome: tuple[bool, str | None]) -> None:
        on_calendar, error = outcome
        now = self.clock()
        with self.sessions.begin() as session:
            current = cal_repo.push_row(session, push["connection_id"], push["booking_id"])
            if current is None:  # the connection was removed meanwhile
                return
            values: dict[str, Any] = {"claimed_until": None, "on_calendar": on_calendar, "last_error": error}
            if current["due_at"] != push["due_at"]:
                pass  # the booking changed again while we pushed: it stays pending, due as marked then
            elif error is None:
                values |= {"status": "pushed", "pushed_at": now, "attempts": 0, "due_at": None}
            else:
                attempts = current["attempts"] + 1
                failed = attempts >= MAX_PUSH_ATTEMPTS
                values |= {"attempts": attempts, "status": "failed" if failed else "pending",
                           "due_at": None if failed else now + push_backoff(attempts)}
            cal_repo.update_push(session, push["connection_id"], push["booking_id"], values)


def push_backoff(attempts: int) -> timedelta:
    """30 s, 1, 2, 4 … minutes, at most an hour."""
    return min(timedelta(seconds=30) * 2 ** (attempts - 1), timedelta(hours=1))


def _credentials(row: Mapping[str, Any], box: SecretBox) -> CalDavCredentials:
    return CalDavCredentials(row["url"], row["username"], box.open(row["password_sealed"]))


def _reason(error: Exception) -> str:
    if isinstance(error, SealedSecretUnreadable):
        return UNREADABLE_PASSWORD
    return str(error)[:300] or type(error).__name__


def calendar_loop(sync: CalendarSync, pusher: CalendarPusher, idle_interval: float) -> Callable[[threading.Event], None]:
    """The worker's loop: due syncs and pushes until ``stop`` is set."""

    def run(stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                if sync.sync_due() + pusher.push_due():
                    continue
            except Exception:
                log.exception("calendar sync cycle failed")
            stop.wait(idle_interval)

    return run

