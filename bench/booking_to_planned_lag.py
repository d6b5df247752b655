"""Lag from a booking's commit to its reminder messages being planned, and to its email being accepted.

The path measured is the production one: the booking service's transaction commits its
``booking.created`` event to the outbox; the outbox relay (polling every
KAPBOOK_RELAY_INTERVAL, 50 ms by default) publishes it; the broker routes it to the reminders
queue; the reminders consumer plans and commits the messages. Planned lag = that last commit
minus the booking's commit. Then the dispatcher's production loop (polling every
DISPATCH_INTERVAL, 0.2 s by default) sends the confirmation to an SMTP sink (aiosmtpd writing a
Maildir, in its own process); email lag = the moment the sink accepted it minus the booking's
commit. Bookings arrive one at a time, spaced out, as patients book.

    .venv/bin/python bench/booking_to_planned_lag.py [--bookings 300] [--spacing-ms 20] [--no-email] [--json PATH]

The filesystem transport always; RabbitMQ too when KAPBOOK_TEST_AMQP_URL is set. Each
service has its own SQLite database in a temporary folder. The relay, the consumer and the
dispatcher run in threads of this process.
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from email.utils import parseaddr
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from kapbook_booking.bootstrap import bootstrap as bootstrap_booking
from kapbook_booking.config import BookingConfig
from kapbook_platform.contracts import EventType
from kapbook_reminders.bootstrap import bootstrap as bootstrap_reminders
from kapbook_reminders.config import RemindersConfig

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # support.scratch: the test helpers

from figures import AIMS, add_json_option, percentile, record, write_json  # noqa: E402
from processes import free_port, wait_for_port  # noqa: E402
from support.scratch import drop_amqp_namespace, fresh_postgres_database  # noqa: E402

ACCEPTED_AT = "X-Bench-Accepted-At"


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
        "patient": {"name": "Pat Example", "email": f"pat-{booking_id}@example.org", "timezone": "Europe/Berlin"},
        "manage_url": f"https://book.clinic.example/manage/{booking_id}",
        "cancellation_notice_hours": 24,
    }


class StampingMailbox(Mailbox):
    """A Maildir sink that writes into each message the moment it accepted it (wall clock)."""

    def handle_message(self, message) -> None:
        message[ACCEPTED_AT] = repr(time.time())
        super().handle_message(message)


def run_sink(port: int, maildir: str) -> None:
    """The SMTP sink process: serve until terminated."""
    controller = Controller(StampingMailbox(maildir), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        threading.Event().wait()
    finally:
        controller.stop()


class Inbox:
    """The sink's Maildir, read as it fills: when each recipient's first email was accepted."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self.seen: set[str] = set()
        self.accepted_at: dict[str, float] = {}

    def refresh(self) -> None:
        parser = BytesHeaderParser()
        for path in (self.maildir / "new").iterdir():
            if path.name not in self.seen:
                self.seen.add(path.name)
                headers = parser.parsebytes(path.read_bytes())
                at = float(headers[ACCEPTED_AT])
                recipient = parseaddr(str(headers["To"]))[1]
                self.accepted_at[recipient] = min(at, self.accepted_at.get(recipient, at))


class MailSink:
    """The stamping SMTP sink, in a process of its own so it takes no CPU time from the measured threads."""

    def __init__(self, tmp: Path) -> None:
        self.port, maildir = free_port(), tmp / "mail"
        self.process = subprocess.Popen([sys.executable, __file__, "--sink", str(self.port), str(maildir)])
        wait_for_port(self.port)
        self.inbox = Inbox(maildir)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class Stack:
    """The booking service's outbox and relay, the reminders consumer and (with a sink) its dispatcher,
    in threads of this process, configured from the environment as the workers are."""

    def __init__(self, tmp: Path, broker_url: str, namespace: str, sink: MailSink | None,
                 database_urls: tuple[str, str]) -> None:
        common = {"env": "test", "var_dir": tmp, "broker_url": broker_url, "broker_namespace": namespace,
                  "log_level": "WARNING"}
        self.booking = bootstrap_booking(BookingConfig.from_env(database_url=database_urls[0], **common))
        self.reminders = bootstrap_reminders(RemindersConfig.from_env(
            database_url=database_urls[1], smtp_port=sink.port if sink else 1, **common))
        self.booking.migrate()
        self.reminders.migrate()
        self.sink = sink
        self.planned_at: dict[str, float] = {}
        self.stop = threading.Event()
        self.consumer = self.reminders.runtime.consumer(self.reminders.handlers)
        self._time_handling(self.consumer)
        self.threads = [
            threading.Thread(target=self.consumer.run, daemon=True),
            threading.Thread(
                target=self.booking.runtime.relay().run,
                args=(self.stop, self.booking.config.relay_interval),
                daemon=True,
            ),
        ]
        if sink:
            dispatch = self.reminders.dispatcher.run
            self.threads.append(
                threading.Thread(target=dispatch, args=(self.stop, self.reminders.config.dispatch_interval), daemon=True)
            )

    def _time_handling(self, consumer) -> None:
        """Note when each booking's planned messages have committed (the consumer's transaction returns)."""
        handle = consumer.handle

        def timed(envelope):
            handled = handle(envelope)
            if envelope.type == EventType.BOOKING_CREATED:
                self.planned_at[envelope.data["booking_id"]] = time.time()
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
        return data["booking_id"], time.time()

    def emailed_at(self, booking_id: str) -> float | None:
        """When the sink accepted the booking's first email (None before it has)."""
        return self.sink.inbox.accepted_at.get(f"pat-{booking_id}@example.org")

    def arrived(self, booking_ids: list[str]) -> bool:
        """Whether every booking is planned and, with a sink, emailed."""
        if self.sink:
            self.sink.inbox.refresh()
        return all(b in self.planned_at and (not self.sink or self.emailed_at(b)) for b in booking_ids)

    def wait(self, booking_ids: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.arrived(booking_ids):
                return True
            time.sleep(0.01)
        return False


def databases(tmp: Path, database: str) -> tuple[tuple[str, str], list]:
    """The booking and reminders database URLs (SQLite files, or new PostgreSQL databases) and their drops."""
    if database == "sqlite":
        return (f"sqlite:///{tmp / 'booking.db'}", f"sqlite:///{tmp / 'reminders.db'}"), []
    made = [fresh_postgres_database(os.environ["KAPBOOK_TEST_POSTGRES_URL"], f"kb_lag_{name}") for name in ("booking", "reminders")]
    return (made[0][0], made[1][0]), [drop for _url, drop in made]


def measure(broker_url: str, namespace: str, bookings: int, spacing: float, email: bool, database: str = "sqlite") -> dict | None:
    """Lags in ms of ``bookings`` bookings: {"planned": [...], "email": [...] or None}; None if some never arrived."""
    with tempfile.TemporaryDirectory(prefix="kapbook-lag-") as folder:
        tmp = Path(folder)
        if broker_url.startswith("filesystem://"):
            broker_url = f"filesystem://{tmp / 'broker'}"
        sink = MailSink(tmp) if email else None
        urls, drops = databases(tmp, database)
        stack = Stack(tmp, broker_url, namespace, sink, urls)
        try:
            stack.start()
            # Warm up: the consumer has declared and bound its queue once one event came through
            # (and the dispatcher has sent one email).
            warm_up = [stack.book()[0]]
            if not stack.wait(warm_up, timeout=30):
                return None
            time.sleep(0.5)
            committed: dict[str, float] = {}
            for _ in range(bookings):
                booking_id, at = stack.book()
                committed[booking_id] = at
                time.sleep(spacing)
            if not stack.wait(list(committed), timeout=60):
                return None
            return {
                "planned": [(stack.planned_at[b] - at) * 1000 for b, at in committed.items()],
                "email": [(stack.emailed_at(b) - at) * 1000 for b, at in committed.items()] if email else None,
            }
        finally:
            stack.close()
            if sink:
                sink.close()
            for drop in drops:
                drop()


def aim_text(metric: str, transport: str, p99: float) -> str:
    aim = next((a for a in AIMS if a.applies_to({"metric": metric, "transport": transport})), None)
    return f"{aim} {'met' if aim.met_by(p99) else 'NOT met'}" if aim else "report"


def report(transport: str, database: str, stage: str, lags: list[float], setup: str) -> list[dict]:
    """Print one line of lags; returns p50 and p99 as records."""
    p50, p90, p99 = statistics.median(lags), percentile(lags, 0.9), percentile(lags, 0.99)
    metric = f"commit->{stage} lag"
    print(f"  {transport:11s} {database:11s} {stage:8s} {p50:8.1f} {p90:8.1f} {p99:8.1f} {max(lags):8.1f}  "
          f"{aim_text(metric + ' p99', transport, p99)}")
    detail = {"transport": transport, "database": database, "p90": round(p90, 1), "max": round(max(lags), 1),
              "bookings": len(lags)}
    where = f"{transport}, {'PostgreSQL' if database == 'postgresql' else 'SQLite'}, {setup}"
    return [record(f"{metric} p50", where, round(p50, 1), "ms", **detail),
            record(f"{metric} p99", where, round(p99, 1), "ms", **detail)]


def intervals() -> tuple[float, float]:
    """The relay's and the dispatcher's idle poll intervals, as the environment configures them."""
    config = RemindersConfig.from_env(env="test")
    return config.relay_interval, config.dispatch_interval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=300)
    parser.add_argument("--spacing-ms", type=float, default=20.0, help="time between two bookings")
    parser.add_argument("--no-email", dest="email", action="store_false", help="stop at planned (no dispatcher, no sink)")
    parser.add_argument("--sink", nargs=2, metavar=("PORT", "MAILDIR"), help=argparse.SUPPRESS)
    add_json_option(parser)
    args = parser.parse_args()
    if args.sink:
        run_sink(int(args.sink[0]), args.sink[1])
        return
    logging.disable(logging.INFO)
    transports = [("filesystem", "filesystem://")]
    if os.environ.get("KAPBOOK_TEST_AMQP_URL"):
        transports.append(("rabbitmq", os.environ["KAPBOOK_TEST_AMQP_URL"]))
    relay_interval, dispatch_interval = intervals()
    database_names = ["sqlite"] + (["postgresql"] if os.environ.get("KAPBOOK_TEST_POSTGRES_URL") else [])
    setup = (f"relay woken on commit (fallback poll {relay_interval:g} s)"
             + (f", dispatcher every {dispatch_interval:g} s" if args.email else "")
             + f", {args.bookings} bookings one every {args.spacing_ms:g} ms")
    print(f"{args.bookings} bookings, one every {args.spacing_ms:g} ms; lag from the booking's commit to its "
          f"messages' commit in the reminders database (planned)"
          + (" and to its confirmation's acceptance by the SMTP sink (email)" if args.email else ""))
    print(f"relay woken on commit, fallback poll {relay_interval:g} s (KAPBOOK_RELAY_INTERVAL)"
          + (f", dispatcher idle poll {dispatch_interval:g} s (DISPATCH_INTERVAL)" if args.email else ""))
    print(f"  {'transport':11s} {'database':11s} {'to':8s} {'p50 ms':>8s} {'p90 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}  aim (p99)")
    failed, records = False, []
    for (name, url), database in [(transport, database) for transport in transports for database in database_names]:
        namespace = f"kbbench-{uuid.uuid4().hex[:10]}"
        try:
            lags = measure(url, namespace, args.bookings, args.spacing_ms / 1000, args.email, database)
        finally:
            if url.startswith("amqp"):
                drop_amqp_namespace(url, namespace)
        if lags is None:
            print(f"  {name:11s} {database:11s} events were not all {'emailed' if args.email else 'planned'} in time")
            failed = True
            continue
        records += report(name, database, "planned", lags["planned"], setup)
        if args.email:
            records += report(name, database, "email", lags["email"], setup)
    write_json(args.json, records)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
