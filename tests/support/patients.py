"""Many patients booking at once over HTTP, as the widget does it: a failed attempt is retried
with the same Idempotency-Key, so a booking that did commit is never made twice."""
from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests

# Answers that mean "try again": the service is briefly unavailable, or the connection broke.
TRANSIENT = {502, 503, 504}


@dataclass(frozen=True)
class PlannedBooking:
    start: datetime
    clinician_id: str
    email: str
    key: str = field(default_factory=lambda: str(uuid.uuid4()))

    def body(self, appointment_type: str) -> dict:
        return {"appointment_type": appointment_type, "start": self.start.isoformat(), "clinician_id": self.clinician_id,
                "patient": {"name": "Fault Test", "email": self.email, "timezone": "Europe/Berlin"}}


def distinct_slots(clinic, count: int, first_day: int = 4, minutes: int = 30) -> list[PlannedBooking]:
    """``count`` bookings that cannot collide: every clinician's working day cut into ``minutes`` pieces."""
    planned = []
    day = first_day
    while len(planned) < count:
        start = clinic.local(day, 8)
        end = clinic.local(day, 18)
        while start + timedelta(minutes=minutes) <= end and len(planned) < count:
            for clinician_id in clinic.clinician_ids:
                if len(planned) < count:
                    planned.append(PlannedBooking(start, clinician_id, f"patient{len(planned)}@example.org"))
            start += timedelta(minutes=minutes)
        day += 1
    return planned


@dataclass
class BookingBurst:
    """Books every planned slot from ``threads`` client threads, retrying transient failures."""

    base_url: str
    planned: list[PlannedBooking]
    appointment_type: str = "consult"
    threads: int = 8
    give_up_after: float = 180.0
    statuses: Counter = field(default_factory=Counter)
    booked: dict[str, str] = field(default_factory=dict)  # email -> booking id
    failures: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)

    def start(self) -> BookingBurst:
        queue = iter(self.planned)
        for _ in range(self.threads):
            worker = threading.Thread(target=self._book_from, args=(queue,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def join(self, timeout: float = 300) -> BookingBurst:
        for worker in self._workers:
            worker.join(timeout)
        return self

    @property
    def done(self) -> int:
        return len(self.booked) + len(self.failures)

    def _book_from(self, queue) -> None:
        session = requests.Session()
        while True:
            with self._lock:
                booking = next(queue, None)
            if booking is None:
                return
            self._book(session, booking)

    def _book(self, session: requests.Session, booking: PlannedBooking) -> None:
        deadline = time.monotonic() + self.give_up_after
        while True:
            try:
                response = session.post(f"{self.base_url}/api/booking/v1/bookings",
                                        json=booking.body(self.appointment_type),
                                        headers={"Idempotency-Key": booking.key}, timeout=15)
                status = response.status_code
            except requests.RequestException:
                status, response = "connection error", None
            with self._lock:
                self.statuses[status] += 1
            if status in (200, 201):
                with self._lock:
                    self.booked[booking.email] = response.json()["id"]
                return
            if (status not in TRANSIENT and status != "connection error") or time.monotonic() > deadline:
                with self._lock:
                    self.failures.append(f"{booking.email}: {status} {response.text[:300] if response else ''}")
                return
            session = requests.Session()  # the old connection may be broken
            time.sleep(0.3)
