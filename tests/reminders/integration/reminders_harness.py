"""The reminders service on real backends, with a clock the test moves and a real SMTP server.

Events go in through the service's own consumer (inbox and handler in one transaction),
built with ``make_envelope`` from payloads shaped like the booking service's. Email comes
out over SMTP into an aiosmtpd server that keeps every message in a Maildir, and is read
back with Python's ``email`` package and ``icalendar``.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import mailbox
import re
import socket
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult
from icalendar import Calendar
from sqlalchemy import select

from kapbook_platform.contracts import EventType, make_envelope
from kapbook_platform.staff.signing import DEVELOPMENT_SIGNING_KEY, sign_credential_data
from kapbook_platform.staff.tokens import new_staff_token, token_digest
from kapbook_reminders.adapters import tables as t
from kapbook_reminders.bootstrap import RemindersContainer, bootstrap
from kapbook_reminders.config import RemindersConfig
from kapbook_reminders.entrypoints.app import create_app
from support.clock import TravellingClock

PUBLIC_URL = "https://book.clinic.example"
CLINIC = "Harbor Clinic"
# Tuesday 9 March 2027, 10:30 in New York (EST).
START = datetime(2027, 3, 9, 15, 30, tzinfo=UTC)
SMTP_USER, SMTP_PASSWORD = "kapbook", "s3cret-relay-password"

APPOINTMENT_TYPES = {
    "consultation": ("free-consultation", "Free consultation", "telehealth"),
    "evaluation": ("medical-evaluation", "Medical evaluation", "in_person"),
    "dosing_iv": ("iv-ketamine-infusion", "IV ketamine infusion", "in_person"),
    "dosing_esketamine": ("esketamine-session", "Esketamine (Spravato) session", "in_person"),
    "integration": ("integration-session", "Integration session", "telehealth"),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SinkHandler(Mailbox):
    """aiosmtpd's Maildir handler; ``reply`` makes it answer DATA with that reply instead (e.g. 451, 550)."""

    def __init__(self, maildir: Path) -> None:
        super().__init__(maildir)
        self.reply: str | None = None
        self.received: list[bytes] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.reply is not None:
            return self.reply
        self.received.append(envelope.original_content)
        return await super().handle_DATA(server, session, envelope)


@dataclass
class SmtpSink:
    """A real SMTP server on 127.0.0.1; stop and start it to play an outage."""

    maildir: Path
    port: int = field(default_factory=free_port)
    tls: str = "none"  # none, starttls or tls (implicit)
    certificate: tuple[Path, Path] | None = None
    handler: SinkHandler = field(init=False)
    controller: Controller | None = field(default=None, init=False)
    logins: list[str] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        for folder in ("tmp", "new", "cur"):
            (self.maildir / folder).mkdir(parents=True, exist_ok=True)
        self.handler = SinkHandler(self.maildir)

    def start(self) -> SmtpSink:
        options: dict[str, Any] = {}
        if self.tls != "none":
            assert self.certificate is not None
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*map(str, self.certificate))
            options = {"authenticator": self._authenticate, "auth_required": True}
            if self.tls == "starttls":
                options |= {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
            else:
                options |= {"ssl_context": context, "auth_require_tls": False}
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode()
        if ok:
            self.logins.append(mechanism)
        return AuthResult(success=ok, handled=False)

    def fail_with(self, reply: str | None) -> None:
        """Answer every DATA with ``reply`` (None: accept again)."""
        self.handler.reply = reply

    def messages(self) -> list[EmailMessage]:
        """Every email received, in order, parsed back with the email package."""
        return [message_from_bytes(raw, policy=policy.default) for raw in self.handler.received]

    def maildir_messages(self) -> list[EmailMessage]:
        box = mailbox.Maildir(self.maildir, create=False)
        return [message_from_bytes(box.get_bytes(key), policy=policy.default) for key in box.keys()]

    def subjects(self) -> list[str]:
        return [str(message["Subject"]) for message in self.messages()]


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (the certificate is its own CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def booking_data(
    booking_id: str,
    start: datetime = START,
    *,
    category: str = "dosing_iv",
    sequence: int = 0,
    status: str = "booked",
    minutes: int = 120,
    email: str = "alex.morgan@example.org",
    patient_timezone: str = "America/New_York",
    previous_start: datetime | None = None,
) -> dict[str, Any]:
    """A booking event payload as the booking service publishes it."""
    code, name, modality = APPOINTMENT_TYPES[category]
    data = {
        "booking_id": booking_id,
        "sequence": sequence,
        "status": status,
        "appointment_type": {"code": code, "name": name, "category": category, "modality": modality},
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=minutes)).isoformat(),
        "location": {
            "id": "loc-downtown",
            "name": "Harbor Clinic Downtown",
            "timezone": "America/New_York",
            "address": "100 Harbor Street, New York, NY 10004",
        },
        "clinician": {"id": "clin-rivera", "name": "Dr Sam Rivera"},
        "patient": {"name": "Alex Morgan", "email": email, "timezone": patient_timezone},
        "manage_url": f"{PUBLIC_URL}/manage/tok-{booking_id[:8]}",
        "cancellation_notice_hours": 24,
    }
    if previous_start is not None:
        data["previous_start"] = previous_start.isoformat()
    return data


def reminders_config(tmp: Path, database_url: str, smtp_port: int, **overrides: Any) -> RemindersConfig:
    values = {
        "env": "test",
        "var_dir": tmp,
        "broker_url": f"filesystem://{tmp / 'broker'}",
        "database_url": database_url,
        "public_base_url": PUBLIC_URL,
        "smtp_port": smtp_port,
        "smtp_timeout": 5.0,
        "clinic_name": CLINIC,
        "mail_from": "appointments@harbor.example",
        "mail_reply_to": "frontdesk@harbor.example",
    } | overrides
    return RemindersConfig(**values)


@dataclass
class Harness:
    """One reminders service: container (fake clock), SMTP sink, and ways to feed and inspect it."""

    container: RemindersContainer
    clock: TravellingClock
    sink: SmtpSink

    @classmethod
    def build(cls, tmp: Path, database_url: str, now: datetime, sink: SmtpSink, **config: Any) -> Harness:
        clock = TravellingClock(now)
        container = bootstrap(reminders_config(tmp, database_url, sink.port, **config), clock=clock)
        container.migrate()
        return cls(container, clock, sink)

    def close(self) -> None:
        self.container.runtime.engine.dispose()

    # --- events in ---------------------------------------------------------------------

    def deliver(self, event_type: str, data: dict[str, Any]) -> bool:
        """Hand one event to the service's consumer, as the broker would; False if seen before."""
        envelope = make_envelope(event_type, "/kapbook/booking", data)
        return self.deliver_envelope(envelope)

    def deliver_envelope(self, envelope) -> bool:
        consumer = self.container.runtime.consumer(self.container.handlers)
        return consumer.handle(envelope)

    def book(self, booking_id: str, start: datetime = START, **options: Any) -> dict[str, Any]:
        data = booking_data(booking_id, start, **options)
        self.deliver(EventType.BOOKING_CREATED, data)
        return data

    def reschedule(self, booking_id: str, start: datetime, sequence: int, **options: Any) -> dict[str, Any]:
        data = booking_data(booking_id, start, sequence=sequence, **options)
        self.deliver(EventType.BOOKING_RESCHEDULED, data)
        return data

    def cancel(self, booking_id: str, start: datetime, sequence: int, **options: Any) -> dict[str, Any]:
        data = booking_data(booking_id, start, sequence=sequence, status="cancelled", **options)
        self.deliver(EventType.BOOKING_CANCELLED, data)
        return data

    # --- time and sending ----------------------------------------------------------------

    def dispatch(self) -> int:
        return self.container.dispatcher.dispatch_all_due()

    def at(self, moment: datetime) -> list[EmailMessage]:
        """Move the clock to ``moment``, dispatch, and return the emails that arrived meanwhile."""
        before = len(self.sink.handler.received)
        self.clock.set(moment)
        self.dispatch()
        return self.sink.messages()[before:]

    # --- looking inside ------------------------------------------------------------------

    def rows(self, booking_id: str | None = None) -> list[dict[str, Any]]:
        query = select(t.messages).order_by(t.messages.c.due_at, t.messages.c.created_at)
        if booking_id is not None:
            query = query.where(t.messages.c.booking_id == booking_id)
        with self.container.runtime.sessions() as session:
            return [dict(row) for row in session.execute(query).mappings()]

    def statuses(self, booking_id: str) -> dict[str, str]:
        """dedupe key without the booking id -> status."""
        return {row["dedupe_key"].split(":", 1)[1]: row["status"] for row in self.rows(booking_id)}

    def staff_client(self, role: str = "front_desk", scopes: list[str] | None = None):
        """A test client of the reminders app, authenticated like staff (credential projected from its event,
        with ``scopes``; None: the role's full rights)."""
        token = new_staff_token()
        self.deliver(
            EventType.STAFF_CREDENTIAL_ISSUED,
            sign_credential_data(DEVELOPMENT_SIGNING_KEY, {  # signed as the booking service signs it
                "credential_id": str(uuid.uuid4()),
                "staff_id": f"staff-{role}",
                "staff_name": "Robin Desk",
                "role": role,
                "token_sha256": token_digest(token),
                "issued_at": datetime.now(UTC).isoformat(),
                "scopes": scopes,
            }),
        )
        client = create_app(self.container).test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return client


# --- reading emails back ---------------------------------------------------------------

WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"


def patient_subject(clinic: str) -> re.Pattern[str]:
    """The only shapes a patient email's subject may take: a day and the clinic's name."""
    return re.compile(
        rf"^(?:Your appointment on|Reminder: your appointment on|Getting ready for your appointment on|"
        rf"After your appointment on|Updated: your appointment on|A new link for your appointment on|"
        rf"A quick check-in (?:before|after) your appointment on) (?:{WEEKDAYS}) \d{{1,2}} (?:{MONTHS})"
        rf"(?: has been cancelled)? – {re.escape(clinic)}$"
    )


# Checked on their own, not with the service's deny-list, so the test does not trust the code it tests.
HEALTH_TERMS = re.compile(
    r"ketamin|spravato|infusion|dosing|\bdose|depress|suicid|screening|phq|gad-7|score|\bIV\b|\bKAP\b|"
    r"therapy|psych|eligib|integration|evaluation|consultation",
    re.IGNORECASE,
)


def assert_private_subject(message: EmailMessage, clinic: str = CLINIC) -> None:
    subject = str(message["Subject"])
    assert patient_subject(clinic).match(subject), f"unexpected subject shape: {subject!r}"
    assert not HEALTH_TERMS.search(subject), subject
    assert not HEALTH_TERMS.search(str(message["From"])), message["From"]


def body(message: EmailMessage, subtype: str = "plain") -> str:
    return message.get_body((subtype,)).get_content()


def invite_of(message: EmailMessage) -> Calendar | None:
    """The calendar in the email, checked for the shape RFC 5545/5546 and mail clients need."""
    inline = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    files = [part for part in message.walk() if part.get_filename() == "invite.ics"]
    if not inline:
        assert not files
        return None
    assert len(inline) == 1 and len(files) == 1
    calendar = Calendar.from_ical(inline[0].get_payload(decode=True))
    assert Calendar.from_ical(files[0].get_payload(decode=True)).to_ical() == calendar.to_ical()
    method = str(calendar["METHOD"])
    assert inline[0].get_param("method") == method
    (event,) = calendar.walk("VEVENT")
    (zone,) = calendar.walk("VTIMEZONE")
    tzid = event["DTSTART"].params["TZID"]
    assert event["DTEND"].params["TZID"] == tzid == str(zone["TZID"])
    assert str(event["ORGANIZER"]).startswith("mailto:") and str(event["ATTENDEE"]).startswith("mailto:")
    assert not HEALTH_TERMS.search(str(event["SUMMARY"]))
    return calendar


def event_of(calendar: Calendar):
    (event,) = calendar.walk("VEVENT")
    return event


def check_email(message: EmailMessage, recipient: str = "alex.morgan@example.org", clinic: str = CLINIC) -> EmailMessage:
    """Every patient email: private subject, both bodies, stable ids, the recipient, a valid invite if any."""
    assert_private_subject(message, clinic)
    assert message["To"].addresses[0].addr_spec == recipient
    assert message["Message-ID"] and message["Date"] and message["Auto-Submitted"] == "auto-generated"
    assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
    invite_of(message)
    return message


def local_naive(moment: datetime, zone: str = "America/New_York") -> dt.datetime:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
