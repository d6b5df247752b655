"""Use cases of the waitlist: join and leave it, offer freed slots, claim or decline an offer.

An offer is an ordinary hold in ``bookings`` (status held, created by "waitlist") kept for one
patient until the offer lapses, so the exclusion constraints that stop double bookings also make
two live offers of one chair or clinician impossible. The hold, the offer and the event that
emails it are written in one transaction: a crash loses none of them and doubles none.

Freed times arrive as *openings*, written in the very transaction that freed them (a cancellation,
a move, an offer declined or lapsed). The booking worker works through them, passes lapsed offers
on, and sweeps each waited-for type's free slots now and then (hours extended, time off removed,
a widget hold that ran out): all three end in ``_offer_slot``.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session, sessionmaker

from kapbook_booking.adapters import repository as repo
from kapbook_booking.adapters import waitlist_repository as wl_repo
from kapbook_booking.adapters.schedules import load_schedules
from kapbook_booking.domain.availability import Slot, slot_at
from kapbook_booking.domain.model import AppointmentType, DriverConfirmationRequired, SlotUnavailable, UnknownAppointmentType
from kapbook_booking.domain.patients import new_secret, normalise_email, secret_hash
from kapbook_booking.domain.waitlist import (
    DEFAULT_ENTRY_DAYS,
    DEFAULT_OFFER_MINUTES,
    WaitingEntry,
    WaitlistEntryClosed,
    WaitlistOfferUnusable,
    Window,
    best_match,
    offer_expiry,
    offerable,
    window_from_dict,
)
from kapbook_booking.service_layer.availability import AvailabilityQuery, free_slots
from kapbook_booking.service_layer.bookings import booking_row, booking_view, give_video_room, publish_booking_event
from kapbook_booking.service_layer.eligibility import NOT_NEEDED, EligibilityGate, ScreeningLookup
from kapbook_booking.service_layer.errors import Invalid, NotEligible, NotFound
from kapbook_booking.service_layer.links import ManageLinks
from kapbook_booking.service_layer.patient_proofs import remember_patient, with_proven_screening
from kapbook_platform.clock import Clock, utc_now
from kapbook_platform.contracts import Envelope, EventType
from kapbook_platform.database import read_only, retry_on_conflict
from kapbook_platform.messaging.outbox import Outbox
from kapbook_platform.staff.audit import record_audit
from kapbook_platform.staff.principal import StaffPrincipal

log = logging.getLogger(__name__)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class JoinWaitlist:
    """Command: a patient (or staff for them) waits for a type, in windows of their week."""

    appointment_type: str
    patient: dict[str, Any]
    windows: tuple[Window, ...]
    clinician_id: str | None = None
    location_id: str | None = None
    earliest: date | None = None
    latest: date | None = None
    screening_id: str | None = None
    created_by: str = "patient"
    # A returning patient's widget proof of their verified email: stands in for screening_id, as in booking.
    patient_proof: str | None = None


@dataclass(frozen=True)
class WaitlistSettings:
    offer_minutes: int = DEFAULT_OFFER_MINUTES
    entry_days: int = DEFAULT_ENTRY_DAYS
    sweep_days: int = 28  # how far ahead a sweep looks for free slots
    batch_size: int = 20


@dataclass
class Waitlist:
    sessions: sessionmaker[Session]
    outbox: Outbox
    links: ManageLinks
    eligibility: EligibilityGate
    public_base_url: str
    audit_table: Any
    clock: Clock = utc_now
    settings: WaitlistSettings = field(default_factory=WaitlistSettings)
    video_room_template: str | None = None

    # --- patients ---------------------------------------------------------------------------

    def join(self, command: JoinWaitlist) -> dict[str, Any]:
        """Put the patient on the waitlist (the eligibility gate applies as for booking) and email them."""
        now = self.clock()
        command = with_proven_screening(command, self._reading, now, self.eligibility.valid_days)
        decision = self._screening_decision(command)
        with self.sessions.begin() as session:
            kind = self._type(session, command.appointment_type)
            self._check_choices(session, kind, command)
            if kind.requires_eligibility:
                self.eligibility.check(decision.decision, command.patient["email"], now)
                if decision.from_service:
                    repo.remember_eligibility_decision(session, decision.decision)
            entry_id, secret = str(uuid.uuid4()), new_secret()
            wl_repo.insert_entry(session, entry_values(entry_id, kind, command, secret, now, self.settings.entry_days))
            entry = wl_repo.entry(session, entry_id)
            self.outbox.add(session, EventType.WAITLIST_JOINED, {
                "entry_id": entry_id, "patient": event_patient(entry), "appointment_type": type_ref(kind),
                "windows": [window.describe() for window in command.windows],
                "leave_url": self._leave_url(secret), "expires_at": entry["expires_at"].isoformat(),
            })
            if command.created_by != "patient":
                record_audit(session, self.audit_table, command.created_by, "waitlist.join", entry_id)
            return entry_view(entry, kind.code) | {"leave_url": self._leave_url(secret)}

    def entry_for_leave_link(self, token: str) -> dict[str, Any]:
        with self._reading() as session:
            entry = self._entry_for_leave(session, token)
            return entry_view(entry, repo.appointment_type_by_id(session, entry["appointment_type_id"]).code)

    def leave(self, token: str) -> dict[str, Any]:
        """One click: the entry ends, and an offer the patient still holds goes to the next in line."""
        with self.sessions.begin() as session:
            entry = self._entry_for_leave(session, token)
            if entry["status"] == "waiting":
                self._end_entry(session, entry, "left", self.clock())
            kind = repo.appointment_type_by_id(session, entry["appointment_type_id"])
            return entry_view(wl_repo.entry(session, entry["id"]), kind.code)

    def leave_by_offer_link(self, token: str) -> dict[str, Any]:
        """Leave the waitlist from an offer's page; the offer (if still open) passes on."""
        with self.sessions.begin() as session:
            entry = wl_repo.entry(session, self._offer_for(session, token, lock=True)["entry_id"])
            if entry["status"] == "waiting":
                self._end_entry(session, entry, "left", self.clock())
            kind = repo.appointment_type_by_id(session, entry["appointment_type_id"])
            return entry_view(wl_repo.entry(session, entry["id"]), kind.code)

    def offer_for_link(self, token: str) -> dict[str, Any]:
        """What the offer link shows: the slot, until when it is kept, and whether it is still open."""
        with self._reading() as session:
            offer = self._offer_for(session, token)
            return self._offer_view(session, offer)

    def claim(self, token: str, driver_confirmed: bool = False) -> tuple[dict[str, Any], bool]:
        """Turn the offer's hold into the patient's booking; a second claim answers with the same booking."""
        return retry_on_conflict(lambda: self._claim(token, driver_confirmed))

    def _claim(self, token: str, driver_confirmed: bool) -> tuple[dict[str, Any], bool]:
        now = self.clock()
        with self.sessions.begin() as session:
            offer = self._offer_for(session, token, lock=True)
            if offer["status"] == "claimed":
                booking = repo.booking_details(session, offer["booking_id"])
                return publish_view(session, self.links, booking, now), False
            entry = wl_repo.entry(session, offer["entry_id"])
            hold = repo.live_hold(session, offer["hold_id"])
            if offer["status"] != "open" or offer["expires_at"] <= now or hold is None or entry["status"] != "waiting":
                raise WaitlistOfferUnusable("This offer has ended. You are still on the waitlist if you have not left it.")
            kind = repo.appointment_type_by_id(session, entry["appointment_type_id"])
            if kind.requires_driver and not driver_confirmed:
                raise DriverConfirmationRequired("Please confirm that an adult will drive you home after this appointment.")
            if kind.requires_eligibility:
                self._check_still_eligible(session, entry, now)
            repo.update_booking(session, hold["id"], {
                "status": "booked", "hold_expires_at": None, "updated_at": now, "driver_confirmed": driver_confirmed,
                "created_by": "waitlist",
            })
            wl_repo.close_offer(session, offer["id"], "claimed", now, booking_id=hold["id"])
            wl_repo.set_entry_status(session, entry["id"], "booked", now)
            if self.video_room_template is not None:
                give_video_room(session, kind, hold["id"], self.video_room_template)
            remember_patient(session, patient_of(entry), now)
            booking = publish_booking_event(session, self.outbox, self.links, hold["id"], EventType.BOOKING_CREATED, now=now)
            return booking, True

    def decline(self, token: str) -> dict[str, Any]:
        """The patient does not want this time: the slot goes to the next in line at once; they keep waiting."""
        now = self.clock()
        with self.sessions.begin() as session:
            offer = self._offer_for(session, token, lock=True)
            if offer["status"] == "open":
                self._pass_on(session, offer, "declined", now)
            return self._offer_view(session, wl_repo.offer(session, offer["id"]))

    # --- the worker -------------------------------------------------------------------------

    def run_once(self) -> int:
        """One worker cycle: lapsed entries and offers, then freed times; how much was done.

        An idle cycle only reads (on SQLite a write transaction would take the database's one write lock)."""
        with self._reading() as session:
            if not wl_repo.anything_due(session, self.clock()):
                return 0
        done = self.expire_entries() + self.pass_on_lapsed_offers()
        return done + self.work_through_openings()

    def work_through_openings(self) -> int:
        """Offer each freed time to the best waiting patient, one opening per transaction; how many were handled."""
        handled = 0
        while True:
            with self.sessions.begin() as session:
                now = self.clock()
                openings = wl_repo.take_openings(session, now, 1)
                if not openings:
                    return handled
                opening = openings[0]
                self._offer_slot(session, opening["appointment_type_id"], opening["clinician_id"], opening["start"], now)
            handled += 1

    def pass_on_lapsed_offers(self) -> int:
        """Offers nobody claimed in time end; each freed slot becomes an opening for the next in line."""
        with self.sessions.begin() as session:
            now = self.clock()
            lapsed = wl_repo.lapsed_offers(session, now, self.settings.batch_size)
            for offer in lapsed:
                self._pass_on(session, offer, "expired", now)
            return len(lapsed)

    def expire_entries(self) -> int:
        with self.sessions.begin() as session:
            return wl_repo.expire_entries(session, self.clock())

    def sweep(self) -> int:
        """Offer free slots that suit waiting patients though nothing was freed (more hours, less time off,
        a lapsed widget hold): one availability search per waited-for type; how many offers were made."""
        now = self.clock()
        with self._reading() as session:
            type_ids = wl_repo.types_with_waiting(session, now)
        made = 0
        for type_id in type_ids:
            slots, waiting = self._free_slots_and_waiting(type_id, now)
            for slot in slots:
                # Only a slot someone wants costs a transaction (most free slots suit nobody waiting).
                if not waiting or best_match(waiting, slot.start_utc, slot.end_utc, slot.clinician_id, slot.location_id) is None:
                    continue
                with self.sessions.begin() as session:
                    offer = self._offer_slot(session, type_id, slot.clinician_id, slot.start_utc, self.clock())
                if offer is not None:
                    made += 1
                    waiting = [entry for entry in waiting if entry.id != offer["entry_id"]]
        return made

    def _free_slots_and_waiting(self, type_id: str, now: datetime) -> tuple[list[Slot], list[WaitingEntry]]:
        with self._reading() as session:
            kind = repo.appointment_type_by_id(session, type_id)
            first = now.date()
            query = AvailabilityQuery(kind.code, first, first + timedelta(days=self.settings.sweep_days - 1), "UTC")
            slots = free_slots(session, kind, query, now, self.settings.sweep_days)
            waiting = [waiting_entry(row) for row in wl_repo.waiting_of_type(session, type_id, now)]
            return slots, waiting

    # --- staff ------------------------------------------------------------------------------

    def waitlist_of(self, appointment_type: str, include_closed: bool = False) -> dict[str, Any]:
        """The console's view of one type's waitlist: each entry with its windows and offer history."""
        statuses = ("waiting", "booked", "left", "expired") if include_closed else ("waiting",)
        with self._reading() as session:
            kind = self._type(session, appointment_type)
            rows = wl_repo.entries_of_type(session, kind.id, statuses)
            history = wl_repo.offers_of_entries(session, [row["id"] for row in rows])
            names = repo.clinician_names(session)
            return {"appointment_type": kind.code, "appointment_type_name": kind.name,
                    "entries": [entry_view(row, kind.code) | {"offers": [offer_summary(o, names) for o in history[row["id"]]]}
                                for row in rows]}

    def waiting_counts(self) -> dict[str, int]:
        with self._reading() as session:
            counts = wl_repo.waiting_counts(session, self.clock())
            return {repo.appointment_type_by_id(session, type_id).code: count for type_id, count in counts.items()}

    def offer_by_hand(self, entry_id: str, start: datetime, clinician_id: str, staff: StaffPrincipal) -> dict[str, Any]:
        """Staff offer a chosen slot to a chosen waiting patient (the same hold, email and rules)."""
        with self.sessions.begin() as session:
            now = self.clock()
            entry = wl_repo.entry(session, entry_id)
            if entry is None:
                raise NotFound("There is no such waitlist entry.")
            if entry["status"] != "waiting" or wl_repo.open_offers_of_entry(session, entry_id):
                raise WaitlistEntryClosed("This patient is not waiting, or already holds an offer.")
            offer = self._offer_slot(session, entry["appointment_type_id"], clinician_id, start, now,
                                     only_entry=entry_id, offered_by=f"staff:{staff.staff_id}")
            if offer is None:
                raise SlotUnavailable("That time cannot be offered: it is not free, it is too soon, or the patient "
                                      "cannot book this type now.")
            record_audit(session, self.audit_table, f"staff:{staff.staff_id}", "waitlist.offer", entry_id)
            return self._offer_view(session, offer)

    def remove_by_staff(self, entry_id: str, staff: StaffPrincipal) -> None:
        with self.sessions.begin() as session:
            entry = wl_repo.entry(session, entry_id)
            if entry is None:
                raise NotFound("There is no such waitlist entry.")
            if entry["status"] == "waiting":
                self._end_entry(session, entry, "left", self.clock())
            record_audit(session, self.audit_table, f"staff:{staff.staff_id}", "waitlist.remove", entry_id)

    # --- inside ------------------------------------------------------------------------------

    def _offer_slot(
        self, session: Session, type_id: str, clinician_id: str, start: datetime, now: datetime,
        only_entry: str | None = None, offered_by: str = "waitlist",
    ) -> Mapping[str, Any] | None:
        """Hold the slot for the best waiting patient and write the offer and its event; None when the
        slot is not free, not offerable any more, or suits nobody."""
        repo.delete_expired_holds(session, now)
        kind = repo.appointment_type_by_id(session, type_id)
        slot = free_slot_of(session, kind, clinician_id, start, now)
        if slot is None or not offerable(slot.start_utc, now, kind.min_notice):
            return None
        entry = self._best_waiting(session, kind, clinician_id, slot, now, only_entry)
        if entry is None:
            return None
        expires_at = offer_expiry(slot.start_utc, now, self.settings.offer_minutes, kind.min_notice)
        hold_id, offer_id, secret = str(uuid.uuid4()), str(uuid.uuid4()), new_secret()
        try:
            repo.insert_booking(session, booking_row(hold_id, kind, slot, now) | {
                "status": "held", "hold_expires_at": expires_at, "created_by": "waitlist", **booked_columns(entry)})
        except SlotUnavailable:
            return None  # taken between our read and our insert
        offer = {
            "id": offer_id, "entry_id": entry["id"], "hold_id": hold_id, "clinician_id": clinician_id,
            "location_id": slot.location_id, "start": slot.start_utc, "end": slot.end_utc, "status": "open",
            "token_sha256": secret_hash(secret), "offered_by": offered_by, "created_at": now, "expires_at": expires_at,
        }
        wl_repo.insert_offer(session, offer)
        details = repo.booking_details(session, hold_id)
        self.outbox.add(session, EventType.WAITLIST_OFFERED, offer_event(
            offer_id, entry, details, expires_at, self._offer_url(secret)))
        return offer | {"decided_at": None, "booking_id": None}

    def _best_waiting(self, session: Session, kind: AppointmentType, clinician_id: str, slot: Slot, now: datetime,
                      only_entry: str | None) -> Mapping[str, Any] | None:
        """The first in line (or staff's choice) who may have this slot."""
        candidates = wl_repo.waiting_for(session, kind.id, clinician_id, slot.location_id, slot.start_utc, now, only_entry)
        try:
            if only_entry is not None:
                # Staff chose this patient and this time (they may have agreed it by phone): the windows
                # are the patient's wishes, not a rule; the slot must still be free, bookable and allowed.
                return next((row for row in candidates if self._eligible(session, kind, row, now)), None)
            wanting = (row for row in candidates
                       if waiting_entry(row).wants(slot.start_utc, slot.end_utc, clinician_id, slot.location_id))
            return next((row for row in wanting if self._eligible(session, kind, row, now)), None)
        finally:
            candidates.close()  # the rest of the line is never read

    def _pass_on(self, session: Session, offer: RowMapping, status: str, now: datetime) -> None:
        """End an open offer, free its hold, and make its slot an opening for the next in line."""
        if not wl_repo.close_offer(session, offer["id"], status, now):
            return
        repo.release_hold(session, offer["hold_id"])
        entry = wl_repo.entry(session, offer["entry_id"])
        wl_repo.add_opening(session, entry["appointment_type_id"], offer["clinician_id"], offer["start"], f"offer {status}", now)

    def _end_entry(self, session: Session, entry: RowMapping, status: str, now: datetime) -> None:
        wl_repo.set_entry_status(session, entry["id"], status, now)
        for offer in wl_repo.open_offers_of_entry(session, entry["id"]):
            self._pass_on(session, offer, "withdrawn", now)

    def _eligible(self, session: Session, kind: AppointmentType, entry: Mapping[str, Any], now: datetime) -> bool:
        """A patient who has become ineligible since joining is skipped (the projection knows of reviews)."""
        if not kind.requires_eligibility:
            return True
        try:
            self._check_still_eligible(session, entry, now)
        except NotEligible:
            return False
        return True

    def _check_still_eligible(self, session: Session, entry: Mapping[str, Any], now: datetime) -> None:
        decision = repo.eligibility_decision(session, entry["screening_id"]) if entry["screening_id"] else None
        self.eligibility.check(decision, entry["patient_email"], now)

    def _screening_decision(self, command: JoinWaitlist) -> ScreeningLookup:
        """The screening's decision, looked up before any transaction opens (the service may be slow)."""
        with self._reading() as session:
            kind = self._type(session, command.appointment_type)
            if not kind.requires_eligibility:
                return NOT_NEEDED
            self.eligibility.require_screening(command.screening_id)
            known = repo.eligibility_decision(session, command.screening_id)
        return ScreeningLookup(known) if known is not None else self.eligibility.ask(command.screening_id)

    def _check_choices(self, session: Session, kind: AppointmentType, command: JoinWaitlist) -> None:
        errors: dict[str, list[str]] = {}
        if command.clinician_id and command.clinician_id not in repo.clinician_ids_for_type(session, kind.id):
            errors["clinician_id"] = ["This clinician does not offer this appointment type."]
        if command.location_id and wl_repo.location(session, command.location_id) is None:
            errors["location_id"] = ["There is no such location."]
        if command.earliest and command.latest and command.latest < command.earliest:
            errors["latest_date"] = ["The last date must be on or after the first."]
        if errors:
            raise Invalid("Please check the waitlist request.", errors=errors)

    def _offer_for(self, session: Session, token: str, lock: bool = False) -> RowMapping:
        offer = wl_repo.offer_for_token(session, secret_hash(token), lock=lock)
        if offer is None:
            raise WaitlistOfferUnusable("This offer link is not valid.")
        return offer

    def _entry_for_leave(self, session: Session, token: str) -> RowMapping:
        entry = wl_repo.entry_for_leave_token(session, secret_hash(token))
        if entry is None:
            raise NotFound("This link is not valid.")
        return entry

    def _offer_view(self, session: Session, offer: RowMapping) -> dict[str, Any]:
        entry = wl_repo.entry(session, offer["entry_id"])
        kind = repo.appointment_type_by_id(session, entry["appointment_type_id"])
        names = repo.clinician_names(session)
        location = wl_repo.location(session, offer["location_id"])
        live = offer["status"] == "open" and offer["expires_at"] > self.clock()
        return offer_summary(offer, names) | {
            "status": offer["status"] if offer["status"] != "open" or live else "expired",
            "appointment_type": kind.code, "appointment_type_name": kind.name, "requires_driver": kind.requires_driver,
            "location_name": location["name"], "location_timezone": location["timezone"],
            "patient_name": entry["patient_name"], "patient_timezone": entry["patient_timezone"],
        }

    def _type(self, session: Session, code: str) -> AppointmentType:
        kind = repo.appointment_type_by_code(session, code)
        if kind is None:
            raise UnknownAppointmentType(f"There is no appointment type {code!r}.")
        return kind

    def _reading(self) -> Session:
        return self.sessions(bind=read_only(self.sessions.kw["bind"]))

    def _offer_url(self, secret: str) -> str:
        return f"{self.public_base_url.rstrip('/')}/waitlist/offers/{secret}"

    def _leave_url(self, secret: str) -> str:
        return f"{self.public_base_url.rstrip('/')}/waitlist/leave/{secret}"


class WaitlistOpenings:
    """Writes an opening for each time a booking event frees, in the transaction that wrote the event."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def on_event(self, session: Session, envelope: Envelope) -> None:
        data, now = envelope.data, self.clock()
        if envelope.type == EventType.BOOKING_CANCELLED:
            self._open(session, data["booking_id"], datetime.fromisoformat(data["start"]), "cancelled", now)
        elif envelope.type == EventType.BOOKING_RESCHEDULED and data.get("previous_start"):
            self._open(session, data["booking_id"], datetime.fromisoformat(data["previous_start"]), "rescheduled", now)
        elif envelope.type == EventType.SERIES_CANCELLED:
            for row in wl_repo.booking_starts(session, data["cancelled_booking_ids"]):
                wl_repo.add_opening(session, row["appointment_type_id"], row["clinician_id"], row["start"], "cancelled", now)

    @staticmethod
    def _open(session: Session, booking_id: str, start: datetime, reason: str, now: datetime) -> None:
        row = repo.booking_by_id(session, booking_id)
        if row is not None:
            wl_repo.add_opening(session, row["appointment_type_id"], row["clinician_id"], start, reason, now)


def waitlist_loop(waitlist: Waitlist, idle_interval: float, sweep_every: float) -> Callable[[threading.Event], None]:
    """The worker's loop: freed times and lapsed offers at once, a sweep every ``sweep_every`` seconds."""

    def run(stop: threading.Event) -> None:
        next_sweep = 0.0
        while not stop.is_set():
            try:
                done = waitlist.run_once()
                if time.monotonic() >= next_sweep:
                    done += waitlist.sweep()
                    next_sweep = time.monotonic() + sweep_every
                if done:
                    continue
            except Exception:
                log.exception("waitlist cycle failed")
            stop.wait(idle_interval)

    return run


def free_slot_of(session: Session, kind: AppointmentType, clinician_id: str, start: datetime, now: datetime) -> Slot | None:
    """The slot at ``start`` with this clinician if it is free now (hours, bookings, holds, rooms, notice)."""
    schedules, rooms = load_schedules(session, kind, start, start + _TICK, now, clinician_id)
    rules = kind.availability_rules()
    return next((slot for schedule in schedules if (slot := slot_at(rules, schedule, rooms, now=now, start=start))), None)


def entry_values(entry_id: str, kind: AppointmentType, command: JoinWaitlist, secret: str, now: datetime,
                 entry_days: int) -> dict[str, Any]:
    patient = command.patient
    return {
        "id": entry_id, "appointment_type_id": kind.id, "clinician_id": command.clinician_id,
        "location_id": command.location_id, "patient_name": patient["name"],
        "patient_email": normalise_email(patient["email"]), "patient_phone": patient.get("phone"),
        "patient_timezone": patient["timezone"], "screening_id": command.screening_id,
        "windows": [window.as_dict() for window in command.windows], "earliest_date": command.earliest,
        "latest_date": command.latest, "status": "waiting", "leave_token_sha256": secret_hash(secret),
        "created_by": command.created_by, "joined_at": now, "expires_at": now + timedelta(days=entry_days),
        "updated_at": now,
    }


def waiting_entry(row: Mapping[str, Any]) -> WaitingEntry:
    return WaitingEntry(
        id=row["id"], timezone=row["patient_timezone"], windows=tuple(window_from_dict(w) for w in row["windows"]),
        joined_at=row.get("joined_at"), clinician_id=row["clinician_id"], location_id=row["location_id"],
        earliest=row["earliest_date"], latest=row["latest_date"],
    )


def patient_of(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": entry["patient_name"], "email": entry["patient_email"], "phone": entry["patient_phone"],
            "timezone": entry["patient_timezone"]}


def event_patient(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": entry["patient_name"], "email": entry["patient_email"], "timezone": entry["patient_timezone"]}


def booked_columns(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The hold carries the patient it is kept for, so a claim only changes its status."""
    return {"patient_name": entry["patient_name"], "patient_email": entry["patient_email"],
            "patient_phone": entry["patient_phone"], "patient_timezone": entry["patient_timezone"],
            "screening_id": entry["screening_id"]}


def type_ref(kind: AppointmentType) -> dict[str, Any]:
    return {"code": kind.code, "name": kind.name, "category": kind.category, "modality": kind.modality}


def offer_event(offer_id: str, entry: Mapping[str, Any], details: Mapping[str, Any], expires_at: datetime,
                offer_url: str) -> dict[str, Any]:
    """The offer email's facts; its links (claim, decline, and leave the waitlist) open one page."""
    return {
        "offer_id": offer_id, "entry_id": entry["id"], "patient": event_patient(entry),
        "appointment_type": {"code": details["type_code"], "name": details["type_name"],
                             "category": details["type_category"], "modality": details["type_modality"]},
        "start": details["start"].isoformat(), "end": details["end"].isoformat(),
        "location": {"id": details["location_id"], "name": details["location_name"],
                     "timezone": details["location_timezone"], "address": details["location_address"]},
        "clinician": {"id": details["clinician_id"], "name": details["clinician_name"]},
        "claim_url": offer_url, "decline_url": f"{offer_url}?decline=1",
        "expires_at": expires_at.isoformat(),
    }


def entry_view(row: Mapping[str, Any], type_code: str) -> dict[str, Any]:
    windows = [window_from_dict(w) for w in row["windows"]]
    return {
        "id": row["id"], "status": row["status"], "appointment_type": type_code,
        "clinician_id": row["clinician_id"], "location_id": row["location_id"],
        "patient": patient_of(row), "windows": [w.as_dict() for w in windows],
        "windows_text": [w.describe() for w in windows],
        "earliest_date": row["earliest_date"], "latest_date": row["latest_date"],
        "joined_at": row["joined_at"], "expires_at": row["expires_at"], "created_by": row["created_by"],
    }


def offer_summary(offer: Mapping[str, Any], clinician_names: Mapping[str, str]) -> dict[str, Any]:
    return {
        "id": offer["id"], "entry_id": offer["entry_id"], "status": offer["status"], "start": offer["start"],
        "end": offer["end"], "clinician_id": offer["clinician_id"],
        "clinician_name": clinician_names.get(offer["clinician_id"], ""), "location_id": offer["location_id"],
        "offered_by": offer["offered_by"], "created_at": offer["created_at"], "expires_at": offer["expires_at"],
        "decided_at": offer["decided_at"], "booking_id": offer["booking_id"],
    }


def publish_view(session: Session, links: ManageLinks, booking: RowMapping, now: datetime) -> dict[str, Any]:
    """A repeated claim answers with the booking and a fresh manage link (links are kept only as hashes)."""
    return booking_view(booking, links.issue(session, booking["id"], now))
