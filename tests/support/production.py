"""A production environment every service starts on: each test that needs one changes one thing."""
from __future__ import annotations

from cryptography.fernet import Fernet

from kapbook_platform.staff.signing import new_key_pair

SIGNING_KEY, VERIFY_KEY = new_key_pair()

PLATFORM = {
    "KAPBOOK_ENV": "production",
    "KAPBOOK_BROKER_URL": "amqp://kapbook:Ua7WqkP2vX9rT4sE1yB6nM3c@rabbitmq:5672//",
    "KAPBOOK_PUBLIC_URL": "https://book.clinic.example",
    "KAPBOOK_RATE_LIMIT_STORAGE": "redis://redis:6379/0",
}
REAL_SECRETS = {
    "KAPBOOK_SERVICE_TOKEN": "svc-7f3b0c1e9a2d4e6f8a0b1c2d3e4f5a6b",
    "BOOKING_SECRET_KEY": "links-1c9e7a5b3d2f4e6a8b0c1d2e3f4a5b6c",
    "ELIGIBILITY_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "BOOKING_CREDENTIAL_SIGNING_KEY": SIGNING_KEY,
}
SERVICE = {
    "booking": {
        "BOOKING_DATABASE_URL": "postgresql+psycopg://kapbook:Zp4LmQ8rW2tY6uI0oP3aS5dF@postgres:5432/booking",
        "BOOKING_VIDEO_ROOM_TEMPLATE": "https://video.clinic.example/kapbook-{room}",
    },
    "eligibility": {
        "ELIGIBILITY_DATABASE_URL": "postgresql+psycopg://kapbook:Zp4LmQ8rW2tY6uI0oP3aS5dF@postgres:5432/eligibility",
        "KAPBOOK_CREDENTIAL_VERIFY_KEY": VERIFY_KEY,
    },
    "reminders": {
        "REMINDERS_DATABASE_URL": "postgresql+psycopg://kapbook:Zp4LmQ8rW2tY6uI0oP3aS5dF@postgres:5432/reminders",
        "KAPBOOK_CREDENTIAL_VERIFY_KEY": VERIFY_KEY,
        "SMTP_SECURITY": "starttls",
    },
}
SECRETS_OF = {
    "booking": ("KAPBOOK_SERVICE_TOKEN", "BOOKING_SECRET_KEY", "BOOKING_CREDENTIAL_SIGNING_KEY"),
    "eligibility": ("KAPBOOK_SERVICE_TOKEN", "ELIGIBILITY_ENCRYPTION_KEYS"),
    "reminders": ("KAPBOOK_SERVICE_TOKEN",),
}


def production_environment(service: str) -> dict[str, str]:
    """Everything ``service`` needs to start with KAPBOOK_ENV=production, with real-looking values."""
    return PLATFORM | {name: REAL_SECRETS[name] for name in SECRETS_OF[service]} | SERVICE[service]
