"""Signed manage links: a patient manages a booking with a token only the booking service can make."""
from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

MANAGE_SALT = "kapbook.manage-booking.v1"


@dataclass(frozen=True)
class ManageLinks:
    secret_key: str
    public_base_url: str

    @property
    def _serializer(self) -> URLSafeSerializer:
        return URLSafeSerializer(self.secret_key, salt=MANAGE_SALT)

    def token_for(self, booking_id: str) -> str:
        return self._serializer.dumps({"booking": booking_id})

    def url_for(self, booking_id: str) -> str:
        return f"{self.public_base_url.rstrip('/')}/manage/{self.token_for(booking_id)}"

    def booking_id_from(self, token: str) -> str | None:
        """The booking a token was made for, or None if it was not made by us."""
        try:
            payload = self._serializer.loads(token)
        except BadSignature:
            return None
        return payload.get("booking") if isinstance(payload, dict) else None
