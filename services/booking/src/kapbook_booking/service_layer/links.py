"""Manage links: a patient manages a booking with a random secret only the booking's emails carry.

Each link is ``/manage/<secret>`` with 32 random bytes; the database keeps only the secret's
SHA-256, and a link is found by looking its hash up (no secret is compared character by character,
so there is no timing to measure). A booking may hold several live secrets (each email that carries
a link gets its own); staff rotation deletes them all and issues one, so every earlier link stops
working at once. Links are never derived from the booking id any more.

Bookings made before migration 0012 have no stored secret (none was ever kept, so there is nothing
to backfill); for those only, the old itsdangerous-signed token is still accepted, until their link
is rotated.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from kapbook_booking.adapters import repository as repo
from kapbook_booking.domain.patients import secret_hash

MANAGE_SALT = "kapbook.manage-booking.v1"


@dataclass(frozen=True)
class ManageLinks:
    # BOOKING_MANAGE_LINK_KEYS then BOOKING_SECRET_KEY (config.effective_manage_link_keys): any verifies.
    signing_keys: tuple[str, ...]
    public_base_url: str

    def url_with(self, token: str) -> str:
        """The manage URL carrying ``token`` (a patient's own link, echoed back to them)."""
        return f"{self.public_base_url.rstrip('/')}/manage/{token}"

    def issue(self, session: Session, booking_id: str, now: datetime) -> str:
        """A new random link for the booking (its hash stored in the caller's transaction)."""
        secret = secrets.token_urlsafe(32)
        repo.insert_manage_secret(session, secret_hash(secret), booking_id, now)
        return self.url_with(secret)

    def rotate(self, session: Session, booking_id: str, now: datetime) -> str:
        """End every link of the booking (old signed token included) and issue a new one."""
        repo.delete_manage_secrets(session, booking_id)
        return self.issue(session, booking_id, now)

    def booking_id_for(self, session: Session, token: str) -> str | None:
        """The booking a link opens, or None: by secret hash, else an old signed token of a
        booking that has no secret (one made before migration 0012 and never rotated)."""
        booking_id = repo.booking_id_for_manage_secret(session, secret_hash(token))
        if booking_id is not None:
            return booking_id
        legacy = self._legacy_booking_id(token)
        if legacy is not None and not repo.has_manage_secret(session, legacy):
            return legacy
        return None

    def legacy_token_for(self, booking_id: str) -> str:
        """The pre-0012 signed token (kept to test that old bookings still open with it)."""
        return self._serializer.dumps({"booking": booking_id})

    @property
    def _serializer(self) -> URLSafeSerializer:
        # itsdangerous signs with the LAST key of a list and verifies with every one; ours signs with the first.
        return URLSafeSerializer(list(reversed(self.signing_keys)), salt=MANAGE_SALT)

    def _legacy_booking_id(self, token: str) -> str | None:
        try:
            payload = self._serializer.loads(token)
        except BadSignature:
            return None
        booking = payload.get("booking") if isinstance(payload, dict) else None
        return booking if isinstance(booking, str) else None
