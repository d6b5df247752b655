"""Developer tooling: Alembic revisions (``make migration``) and compose secrets (``make compose-env``)."""
from __future__ import annotations

import sys
import tempfile
from importlib import import_module, resources

from alembic import command
from alembic.config import Config

from kapbook_platform.database import create_db_engine


def autogenerate(service: str, message: str) -> None:
    """Compare the service's metadata with its migrations on a scratch SQLite file; write the difference."""
    tables = import_module(f"kapbook_{service}.adapters.tables")
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_db_engine(f"sqlite:///{scratch}/scratch.db")
        config = Config()
        config.set_main_option("script_location", str(resources.files(f"kapbook_{service}.adapters.migrations")))
        config.attributes["engine"] = engine
        config.attributes["target_metadata"] = tables.metadata
        command.upgrade(config, "head")
        command.revision(config, message=message, autogenerate=True)


def compose_env() -> str:
    """A .env for docker compose with fresh random secrets (43 characters: production refuses under 32)."""
    import secrets

    from cryptography.fernet import Fernet

    from kapbook_platform.staff.signing import new_key_pair

    signing_key, verify_key = new_key_pair()
    values = {
        "KAPBOOK_SERVICE_TOKEN": secrets.token_urlsafe(32),
        "BOOKING_SECRET_KEY": secrets.token_urlsafe(32),
        "ELIGIBILITY_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "BOOKING_CREDENTIAL_SIGNING_KEY": signing_key,  # only booking signs credential events ...
        "KAPBOOK_CREDENTIAL_VERIFY_KEY": verify_key,  # ... eligibility and reminders verify them
        "POSTGRES_PASSWORD": secrets.token_urlsafe(32),
        # One broker user per service (deploy/rabbitmq-definitions.json).
        "RABBITMQ_BOOKING_PASSWORD": secrets.token_urlsafe(32),
        "RABBITMQ_ELIGIBILITY_PASSWORD": secrets.token_urlsafe(32),
        "RABBITMQ_REMINDERS_PASSWORD": secrets.token_urlsafe(32),
    }
    return "".join(f"{name}={value}\n" for name, value in values.items())


if __name__ == "__main__":
    if sys.argv[1] == "compose-env":
        print(compose_env(), end="")
    else:
        autogenerate(sys.argv[1], sys.argv[2])
