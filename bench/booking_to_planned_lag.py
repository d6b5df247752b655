"""Lag from a booking's commit to its reminder messages being planned.

The path measured is the production one: the booking service's transaction commits its
``booking.created`` event to the outbox; the outbox relay (polling every
KAPBOOK_RELAY_INTERVAL, 50 ms by default) publishes it; the broker routes it to the reminders
queue; the reminders consumer plans and commits the messages. Lag = that last commit minus
the booking's commit. Bookings arrive one at a time, spaced out, as patients book.

    .venv/bin/python bench/booking_to_planned_lag.py [--bookings 300] [--spacing-ms 20]

The filesystem transport always; RabbitMQ too when KAPBOOK_TEST_AMQP_URL is set. Each
service has its own SQLite database in a temporary folder.
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kapbook_booking.bootstrap import bootstrap as bootstrap_booking
from kapbook_booking.config import BookingConfig
from kapbook_platform.contracts import EventType
from kapbook_platform.scratch import drop_amqp_namespace
from kapbook_reminders.bootstrap import bootstrap as bootstrap_reminders
from kapbook_reminders.config import RemindersConfig


def booking_event(start: datetime) -> dict:
    booking_id = str(uuid.uuid4())
    return {
        "booking_id": booking_id,
        "sequence": 0,
        "status": "booked",
        "appointment_type": {"code": "free-consultation", "name": "Free consultation", "category": "consultation",
                             "modality": "telehealth"},
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=30)).isoformat(),
        "location": {"id": "loc-telehealth", "name": "Kapbook Telehealth (video)", "timezone": "America/Chicago",
                     "address": None},
        "clinician": {"id": "clin-1", "name": "Dr Sam Rivera"},
        "patient": {"name": "Pat Example", "email": f"pat-{booking_id[:8]}@example.org", "timezone": "Europe/Berlin"},
        "manage_url": f"https://book.clinic.example/manage/{booking_id}",
        "cancellation_notice_hours": 24,
    }


class Stack:
    """The booking service's outbox and relay, and the reminders consumer, in threads of this process."""

    def __init__(self, tmp: Path, broker_url: str, namespace: str) -> None:
        common = {"env": "test", "var_dir": tmp, "broker_url": broker_url, "broker_namespace": namespace,
                  "log_level": "WARNING"}
        self.booking = bootstrap_booking(BookingConfig(database_url=f"sqlite:///{tmp / 'booking.db'}", **common))
        self.reminders = bootstrap_reminders(RemindersConfig(database_url=f"sqlite:///{tmp / 'reminders.db'}", **common))
        self.booking.migrate()
        self.reminders.migrate()
        self.planned_at: dict[str, float] = {}
        self.stop = threading.Event()
        self.consumer = self.reminders.runtime.consumer(self.reminders.event_handlers())
        self._time_handling(self.consumer)
        self.threads = [
            threading.Thread(target=self.consumer.run, daemon=True),
            threading.Thread(
                target=self.booking.runtime.relay().run,
                args=(self.stop, self.booking.config.relay_interval),
                daemon=True,
            ),
        ]

    def _time_handling(self, consumer) -> None:
        """Note when each booking's planned messages have committed (the consumer's transaction returns)."""
        handle = consumer.handle

        def timed(envelope):
            handled = handle(envelope)
            if envelope.type == EventType.BOOKING_CREATED:
                self.planned_at[envelope.data["booking_id"]] = time.perf_counter()
            return handled

        consumer.handle = timed

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        self.stop.set()
        self.consumer.should_stop = True
        for thread in self.threads:
            thread.join(timeout=10)
        self.booking.runtime.engine.dispose()
        self.reminders.runtime.engine.dispose()

    def book(self) -> tuple[str, float]:
        """Commit one booking event in the booking service's outbox; returns its id and commit time."""
        data = booking_event(datetime.now(UTC) + timedelta(days=5))
        with self.booking.runtime.sessions.begin() as session:
            self.booking.runtime.outbox.add(session, EventType.BOOKING_CREATED, data)
        return data["booking_id"], time.perf_counter()

    def wait_planned(self, booking_ids: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(booking_id in self.planned_at for booking_id in booking_ids):
                return True
            time.sleep(0.005)
        return False


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(broker_url: str, namespace: str, bookings: int, spacing: float) -> list[float] | None:
    with tempfile.TemporaryDirectory(prefix="kapbook-lag-") as folder:
        tmp = Path(folder)
        if broker_url.startswith("filesystem://"):
            broker_url = f"filesystem://{tmp / 'broker'}"
        stack = Stack(tmp, broker_url, namespace)
        try:
            stack.start()
            # Warm up: the consumer has declared and bound its queue once one event came through.
            deadline = time.monotonic() + 30
            while not stack.planned_at and time.monotonic() < deadline:
                stack.book()
                time.sleep(0.2)
            if not stack.planned_at:
                return None
            time.sleep(0.5)
            committed: dict[str, float] = {}
            for _ in range(bookings):
                booking_id, at = stack.book()
                committed[booking_id] = at
                time.sleep(spacing)
            if not stack.wait_planned(list(committed), timeout=60):
                return None
            return [(stack.planned_at[booking_id] - at) * 1000 for booking_id, at in committed.items()]
        finally:
            stack.close()



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=300)
    parser.add_argument("--spacing-ms", type=float, default=20.0, help="time between two bookings")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    transports = [("filesystem", "filesystem://", 500.0)]
    if os.environ.get("KAPBOOK_TEST_AMQP_URL"):
        transports.append(("rabbitmq", os.environ["KAPBOOK_TEST_AMQP_URL"], 100.0))
    print(f"{args.bookings} bookings, one every {args.spacing_ms:g} ms; lag from the booking's commit to its "
          f"messages' commit in the reminders database")
    print(f"  {'transport':11s} {'p50 ms':>8s} {'p90 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}  aim (p99)")
    failed = False
    for name, url, aim in transports:
        namespace = f"kbbench-{uuid.uuid4().hex[:10]}"
        try:
            lags = measure(url, namespace, args.bookings, args.spacing_ms / 1000)
        finally:
            if url.startswith("amqp"):
                drop_amqp_namespace(url, namespace)
        if lags is None:
            print(f"  {name:11s} events were not all planned in time")
            failed = True
            continue
        p99 = percentile(lags, 0.99)
        print(f"  {name:11s} {statistics.median(lags):8.1f} {percentile(lags, 0.9):8.1f} {p99:8.1f} {max(lags):8.1f}"
              f"  < {aim:g} ms {'met' if p99 < aim else 'NOT met'}")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
