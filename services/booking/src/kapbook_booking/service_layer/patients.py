"""Use cases of returning patients: ask for a sign-in link, sign in with it, see "My appointments",
sign out, and hand the widget a proof of the verified email.

Nothing here tells a caller whether an email is known: asking for a link answers the same either
way (the link is only written, and the event only sent, for a patient we have).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker

from kapbook_booking.adapters import repository as repo
from kapbook_booking.domain.patients import (
    HANDOFF_LIFETIME,
    SESSION_IDLE,
    SIGN_IN_LINK_LIFETIME,
    WIDGET_PROOF_LIFETIME,
    NotSignedIn,
    PatientProofInvalid,
    ScreeningStatus,
    SignInLinkUnusable,
    link_usable,
    new_secret,
    normalise_email,
    screening_status,
    secret_hash,
)
from kapbook_booking.service_layer.bookings import booking_view
from kapbook_booking.service_layer.errors import Invalid
from kapbook_booking.service_layer.links import ManageLinks
from kapbook_booking.service_layer.patient_proofs import BROWSER, HANDOFF, WIDGET, live_browser_session, proven_email
from kapbook_platform.clock import Clock, utc_now
from kapbook_platform.contracts import EventType
from kapbook_platform.messaging.outbox import Outbox


class ReturnAddressRefused(Invalid):
    code = "validation_error"


@dataclass(frozen=True)
class SignedIn:
    """A consumed sign-in link: the new browser session id, and a one-time hand-off code when a widget asked for it."""

    session_id: str
    return_to: str | None = None
    widget_handoff: str | None = None


@dataclass
class PatientAccess:
    sessions: sessionmaker[Session]
    outbox: Outbox
    links: ManageLinks
    public_base_url: str
    valid_days: int
    # Origins a widget may ask to be sent back to (the CORS allowlist), besides Kapbook's own.
    widget_origins: tuple[str, ...] = ()
    clock: Clock = utc_now
    _own_origin: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self._own_origin = _origin(self.public_base_url)

    # --- signing in ---------------------------------------------------------------------------------

    def request_sign_in_link(self, email: str, return_to: str | None = None) -> None:
        """Email a one-time link if the address is a patient's; the caller answers the same either way."""
        address, now = normalise_email(email), self.clock()
        if return_to is not None:
            self.check_return_to(return_to)
        token = new_secret()
        with self.sessions.begin() as session:
            repo.delete_stale_sign_in_links(session, now - SIGN_IN_LINK_LIFETIME)
            patient = repo.patient_by_email(session, address)
            if patient is None:
                return
            expires = now + SIGN_IN_LINK_LIFETIME
            repo.insert_sign_in_link(session, {"token_sha256": secret_hash(token), "email": address, "return_to": return_to,
                                               "created_at": now, "expires_at": expires})
            self.outbox.add(session, EventType.PATIENT_SIGN_IN_LINK, {
                "email": address, "name": patient["name"], "link_url": self.sign_in_url(token),
                "expires_at": expires.isoformat(),
            })

    def sign_in_url(self, token: str) -> str:
        return f"{self.public_base_url.rstrip('/')}/my/sign-in/{token}"

    def check_return_to(self, return_to: str) -> None:
        """Only Kapbook itself and the websites allowed to embed the widget: never an open redirect."""
        parts = urlsplit(return_to)
        allowed = {self._own_origin} | {_origin(o) for o in self.widget_origins}
        if parts.scheme not in ("http", "https") or _origin(return_to) not in allowed or len(return_to) > 2000:
            raise ReturnAddressRefused("This page may not ask for a sign-in link.",
                                       errors={"return_to": ["Not a website allowed to embed the booking widget."]})

    def usable_link(self, token: str) -> tuple[bool, str | None]:
        """Whether the link could sign in now, and the origin it returns to (a widget's), if any; consumes nothing."""
        with self.sessions() as session:
            row = repo.sign_in_link(session, secret_hash(token))
            if row is None or not link_usable(row["expires_at"], row["used_at"], self.clock()):
                return False, None
            return True, _origin(row["return_to"]) if row["return_to"] else None

    def sign_in(self, token: str) -> SignedIn:
        """Use a link once: a new browser session, and a hand-off code for the widget if a widget asked for the link."""
        now = self.clock()
        session_id = new_secret()
        with self.sessions.begin() as session:
            link = repo.claim_sign_in_link(session, secret_hash(token), now)
            if link is None:
                raise SignInLinkUnusable("This link has expired or was already used — ask for a new one.")
            patient_id = repo.save_patient(session, str(uuid.uuid4()), link["email"], {}, now)
            repo.delete_stale_patient_sessions(session, now - max(SESSION_IDLE, WIDGET_PROOF_LIFETIME))
            self._new_session(session, session_id, patient_id, BROWSER, now)
            handoff = None
            if link["return_to"]:
                handoff = new_secret()
                self._new_session(session, handoff, patient_id, HANDOFF, now)
        return SignedIn(session_id, link["return_to"], handoff)

    def sign_out(self, session_id: str) -> None:
        with self.sessions.begin() as session:
            repo.delete_patient_session(session, secret_hash(session_id))

    def signed_in_email(self, session_id: str | None) -> str | None:
        """The email of a live browser session (its idle time restarts), or None."""
        if not session_id:
            return None
        with self.sessions.begin() as session:
            row = live_browser_session(session, session_id, self.clock())
            return row["email"] if row else None

    def widget_proof_for(self, session_id: str | None) -> str:
        """A widget proof from a live browser session (the widget on Kapbook's own site)."""
        now = self.clock()
        proof = new_secret()
        with self.sessions.begin() as session:
            row = live_browser_session(session, session_id, now) if session_id else None
            if row is None:
                raise NotSignedIn("Please sign in first.")
            self._new_session(session, proof, row["patient_id"], WIDGET, now)
        return proof

    def exchange_handoff(self, code: str) -> str:
        """A widget proof for a hand-off code from the sign-in redirect: once, within 5 minutes."""
        now = self.clock()
        proof = new_secret()
        with self.sessions.begin() as session:
            patient_id = repo.take_patient_session(session, secret_hash(code), HANDOFF, now - HANDOFF_LIFETIME)
            if patient_id is None:
                raise PatientProofInvalid("Your sign-in from the email link has expired. Please ask for a new link.")
            self._new_session(session, proof, patient_id, WIDGET, now)
        return proof

    def _new_session(self, session: Session, secret: str, patient_id: str, kind: str, now: datetime) -> None:
        repo.insert_patient_session(session, {"id_sha256": secret_hash(secret), "patient_id": patient_id, "kind": kind,
                                              "created_at": now, "last_seen_at": now})

    # --- what a signed-in patient sees ------------------------------------------------------------

    def appointments(self, email: str) -> dict[str, Any]:
        """Upcoming and past bookings of the patient with this (normalised) email, and their screening status."""
        now = self.clock()
        # A write: links are stored only as hashes, so the page issues a fresh link for each
        # upcoming booking it offers to reschedule or cancel (past ones get none).
        with self.sessions.begin() as session:
            patient = repo.patient_by_email(session, email)
            rows = [row for booking_id in repo.booking_ids_of_patient(session, email)
                    if (row := repo.booking_details(session, booking_id)) is not None]
            views = [booking_view(row, self.links.issue(session, row["id"], now) if _is_upcoming(row, now) else None)
                     for row in rows]
            status = screening_status(repo.eligibility_decisions_of(session, email), now, self.valid_days)
        upcoming = [view for view in views if _is_upcoming(view, now)]
        past = [view for view in reversed(views) if view not in upcoming]
        return {"patient": dict(patient) if patient else {"email": email}, "upcoming": upcoming, "past": past,
                "screening": status}

    def dosing_sessions(self, email: str) -> list[dict[str, Any]]:
        """The patient's dosing sessions (booked or held, never cancelled), for the console's trend chart."""
        with self.sessions() as session:
            return [dict(row) for row in repo.dosing_sessions_of(session, email)]

    def widget_status(self, proof: str) -> tuple[dict[str, Any], ScreeningStatus]:
        """For the widget: the proven patient's details (to fill in the form) and screening status."""
        now = self.clock()
        with self.sessions() as session:
            email = proven_email(session, proof, now)
            patient = repo.patient_by_email(session, email)
            status = screening_status(repo.eligibility_decisions_of(session, email), now, self.valid_days)
        details = {key: patient[key] for key in ("name", "email", "phone", "timezone")}
        return details, status


def _origin(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}"


def _is_upcoming(booking: Any, now: datetime) -> bool:
    return booking["end"] > now and booking["status"] in ("booked", "arrived")
