"""Sending email over SMTP with the standard library; failures classified for retry."""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol


class DeliveryFailed(Exception):
    """Sending failed; ``temporary`` says whether trying again later can succeed."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


class MailSender(Protocol):
    def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class SmtpSender:
    host: str
    port: int
    security: str = "none"
    username: str = ""
    password: str = ""
    timeout: float = 10.0

    def send(self, message: EmailMessage) -> None:
        """Deliver one message; raises DeliveryFailed (temporary for 4xx and network errors, else permanent)."""
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise DeliveryFailed(f"recipient refused: {codes}", temporary=all(400 <= c < 500 for c in codes)) from None
        except smtplib.SMTPResponseException as error:
            raise DeliveryFailed(f"{error.smtp_code} {error.smtp_error!r}", temporary=400 <= error.smtp_code < 500) from None
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryFailed(f"SMTP unavailable: {error!r}", temporary=True) from None

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp
