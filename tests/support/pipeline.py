"""The booking -> queue -> reminders -> SMTP pipeline, in one test process, on real backends.

Each part is the production code: the booking Flask app, the outbox relay, the reminders
consumer and dispatcher, each with its own database, talking over a real broker (filesystem
folder or RabbitMQ) to a real SMTP server (aiosmtpd writing a Maildir).
"""
from __future__ import annotations

import mailbox
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from kapbook_booking.bootstrap import BookingContainer
from kapbook_booking.bootstrap import bootstrap as bootstrap_booking
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.app import create_app as create_booking_app
from kapbook_booking.service_layer.demo import seed_demo_clinic
from kapbook_platform.mailsink import start_mail_sink
from kapbook_platform.runtime import consumer_loop
from kapbook_reminders.bootstrap import RemindersContainer
from kapbook_reminders.bootstrap import bootstrap as bootstrap_reminders
from kapbook_reminders.config import RemindersConfig


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def next_weekday_at(hour: int, zone: str = "America/New_York", days_ahead: int = 3) -> datetime:
    """A start inside the demo clinician's working hours, far enough ahead for any notice."""
    local = datetime.now(ZoneInfo(zone)) + timedelta(days=days_ahead)
    while local.weekday() >= 5:
        local += timedelta(days=1)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


def consultation_request(start: datetime, email: str = "pat@example.org") -> dict:
    return {
        "appointment_type": "free-consultation",
        "start": start.isoformat(),
        "patient": {"name": "Pat Example", "email": email, "timezone": "Europe/Berlin"},
    }


@dataclass
class MailSink:
    maildir: Path
    port: int
    controller: object = None

    def start(self) -> MailSink:
        self.controller = start_mail_sink(self.maildir, port=self.port)
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages(self) -> list[EmailMessage]:
        box = mailbox.Maildir(self.maildir, create=False)
        return [message_from_bytes(box.get_bytes(key), policy=policy.default) for key in box.keys()]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages() if address in str(m["To"])]


@dataclass
class Pipeline:
    tmp: Path
    booking_db: str
    reminders_db: str
    broker_url: str
    namespace: str
    booking: BookingContainer = field(init=False)
    reminders: RemindersContainer = field(init=False)
    mail: MailSink = field(init=False)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        common = {"var_dir": self.tmp, "broker_url": self.broker_url, "broker_namespace": self.namespace, "env": "test"}
        self.mail = MailSink(self.tmp / "mail", free_port())
        self.booking = bootstrap_booking(BookingConfig(database_url=self.booking_db, **common))
        self.reminders = bootstrap_reminders(
            RemindersConfig(database_url=self.reminders_db, smtp_port=self.mail.port, dispatch_interval=0.05, **common)
        )
        self.booking.migrate()
        self.reminders.migrate()
        seed_demo_clinic(self.booking.runtime.sessions)
        self.client = create_booking_app(self.booking).test_client()

    def start(self, relay: bool = True, consumer: bool = True, dispatcher: bool = True, mail: bool = True) -> Pipeline:
        if mail:
            self.mail.start()
        if relay:
            self.spawn(lambda stop: self.booking.runtime.relay().run(stop, idle_interval=0.02))
        if consumer:
            self.spawn(consumer_loop(self.reminders.runtime, self.reminders.handlers))
        if dispatcher:
            self.spawn(lambda stop: self.reminders.dispatcher.run(stop, idle_interval=0.05))
        return self

    def spawn(self, loop: Callable[[threading.Event], None]) -> None:
        thread = threading.Thread(target=loop, args=(self.stop,), daemon=True)
        thread.start()
        self.threads.append(thread)

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)
        self.mail.stop()
        self.booking.runtime.engine.dispose()
        self.reminders.runtime.engine.dispose()

    def book(self, start: datetime, email: str = "pat@example.org", **headers):
        return self.client.post("/api/booking/v1/bookings", json=consultation_request(start, email), headers=headers)
