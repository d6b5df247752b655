"""Sending email over SMTP with the standard library; failures classified for retry."""
from __future__ import annotations

import io
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from email.generator import NLCRE, BytesGenerator
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Protocol

SECURITY_MODES = ("none", "starttls", "tls")


class DeliveryFailed(Exception):
    """Sending failed; ``temporary`` says whether trying again later can succeed."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


class MailConnection(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class MailSender(Protocol):
    def connect(self) -> AbstractContextManager[MailConnection]: ...


@dataclass(frozen=True)
class SmtpSender:
    """Where and how to reach the SMTP server (from configuration)."""

    host: str
    port: int
    security: str = "none"
    username: str = ""
    password: str = ""
    timeout: float = 10.0
    ca_file: str = ""

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ValueError(f"security must be one of {', '.join(SECURITY_MODES)}")

    @contextmanager
    def connect(self) -> Iterator[SmtpConnection]:
        """One SMTP session reused for many messages (opened on the first send), closed at the end."""
        connection = SmtpConnection(self)
        try:
            yield connection
        finally:
            connection.close()

    def send(self, message: EmailMessage) -> None:
        """Deliver one message on its own connection."""
        with self.connect() as connection:
            connection.send(message)

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file or None)

    def open(self) -> smtplib.SMTP:
        """A logged-in SMTP session, with TLS as configured."""
        if self.security == "tls":
            smtp: smtplib.SMTP = SslSession(self.host, self.port, timeout=self.timeout, context=self.tls_context())
        else:
            smtp = Session(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.starttls(context=self.tls_context())
            if self.username:
                smtp.login(self.username, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp


class DataNotedMixin:
    """Notes whether the current message reached DATA: until then the server holds none of it."""

    data_started = False

    def data(self, msg):
        self.data_started = True
        return super().data(msg)


class Session(DataNotedMixin, smtplib.SMTP):
    pass


class SslSession(DataNotedMixin, smtplib.SMTP_SSL):
    pass


@dataclass
class SmtpConnection:
    """Sends messages over one session; after a failure the next send starts a fresh one.

    A reused session the server has dropped meanwhile (an idle timeout, a restart, a 421) is
    found out only by the next message's MAIL or RCPT. That message is then sent once more on a
    fresh session, right away: before DATA the server holds nothing of it, so nothing can arrive
    twice. A session lost during or after DATA is a delivery failure, retried later as always.
    """

    sender: SmtpSender
    smtp: smtplib.SMTP | None = field(default=None, init=False)

    def send(self, message: EmailMessage) -> None:
        """Deliver one message; raises DeliveryFailed (temporary for 4xx and network errors, else permanent)."""
        reused = self.smtp is not None
        try:
            try:
                self._send_once(message)
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPSenderRefused, OSError) as error:
                if not (reused and self._lost_before_data(error)):
                    raise
                self.close()
                self._send_once(message)
        except (OSError, smtplib.SMTPException) as error:
            raise self._failure(error) from None

    def _send_once(self, message: EmailMessage) -> None:
        if self.smtp is None:
            self.smtp = self.sender.open()
        self.smtp.data_started = False
        if (ascii_envelope := envelope(message)) is None:
            self.smtp.send_message(message)  # non-ASCII addresses: SMTPUTF8, as smtplib decides
        else:
            self.smtp.sendmail(*ascii_envelope, mail_bytes(message))

    def _lost_before_data(self, error: Exception) -> bool:
        """Whether the session was gone before this message's DATA (so sending again cannot double it)."""
        if self.smtp is not None and self.smtp.data_started:
            return False
        if isinstance(error, smtplib.SMTPSenderRefused):
            return error.smtp_code == 421  # the server closing the session, not refusing the sender
        return True

    def _failure(self, error: Exception) -> DeliveryFailed:
        """What a failed send means for trying again; the session is closed unless it is still usable."""
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in error.recipients.values()]
            return DeliveryFailed(f"recipient refused: {codes}", temporary=all(400 <= c < 500 for c in codes))
        if isinstance(error, smtplib.SMTPAuthenticationError):
            # The relay refused our credentials: a configuration problem, not this message's.
            self.close()
            return DeliveryFailed(f"SMTP login refused: {error.smtp_code}", temporary=True)
        if isinstance(error, smtplib.SMTPResponseException):
            if error.smtp_code in (421, -1):  # the server is closing the session
                self.close()
            return DeliveryFailed(f"{error.smtp_code} {_text(error.smtp_error)}", temporary=400 <= error.smtp_code < 500)
        self.close()
        return DeliveryFailed(f"SMTP unavailable: {error!r}", temporary=True)

    def close(self) -> None:
        if self.smtp is None:
            return
        smtp, self.smtp = self.smtp, None
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def envelope(message: EmailMessage) -> tuple[str, list[str]] | None:
    """Sender and recipients as smtplib's ``send_message`` takes them from the headers; None if not all ASCII."""
    sender = getaddresses([str(message["Sender"] or message["From"])])[0][1]
    fields = [str(value) for name in ("To", "Cc", "Bcc") for value in message.get_all(name, [])]
    recipients = [address for _, address in getaddresses(fields)]
    if message["Bcc"] is not None or message["Resent-Date"] is not None or not all(address.isascii() for address in (sender, *recipients)):
        return None
    return sender, recipients


def mail_bytes(message: EmailMessage) -> bytes:
    """The message as smtplib's ``send_message`` sends it (CRLF lines), a fifth faster."""
    buffer = io.BytesIO()
    LineBlockGenerator(buffer).flatten(message, linesep="\r\n")
    return buffer.getvalue()


class LineBlockGenerator(BytesGenerator):
    """The standard generator writing a body's lines in one call instead of two per line: the same
    bytes, without some thousand calls per email (a confirmation's encoded body has ~500 lines)."""

    def _write_lines(self, lines: str) -> None:
        if not lines:
            return
        lines = NLCRE.split(lines)
        if len(lines) > 1:
            self.write(self._NL.join(lines[:-1]) + self._NL)
        if lines[-1]:
            self.write(lines[-1])


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
