"""The three services as their app factories build them, on fresh SQLite databases, with the demo
clinic seeded and a staff member of every role, so hostile-input tests reach past the sign-in."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import Flask

from kapbook_booking.bootstrap import bootstrap as booking_bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.app import create_app as booking_app
from kapbook_booking.service_layer.demo import seed_demo_clinic
from kapbook_eligibility.bootstrap import bootstrap as eligibility_bootstrap
from kapbook_eligibility.config import EligibilityConfig
from kapbook_eligibility.entrypoints.app import create_app as eligibility_app
from kapbook_platform.staff.principal import ROLES
from kapbook_platform.staff.tokens import token_digest
from kapbook_reminders.bootstrap import bootstrap as reminders_bootstrap
from kapbook_reminders.config import RemindersConfig
from kapbook_reminders.entrypoints.app import create_app as reminders_app

SERVICE_NAMES = ("booking", "eligibility", "reminders")


@dataclass
class RunningService:
    name: str
    container: Any
    app: Flask
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def client(self):
        return self.app.test_client()

    def staff_headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def scoped_headers(self, role: str, scopes: tuple[str, ...]) -> dict[str, str]:
        """Headers with an API token of ``role`` holding exactly ``scopes`` (made once per pair)."""
        key = f"{role}:{','.join(scopes)}"
        if key not in self.tokens:
            self.tokens[key] = add_staff(self.container, role, scopes)
        return {"Authorization": f"Bearer {self.tokens[key]}"}

    def close(self) -> None:
        self.container.runtime.engine.dispose()


def add_staff(container: Any, role: str, scopes: tuple[str, ...] | None = None) -> str:
    """A staff credential of ``role`` in the service's own credential table (as the event projection writes
    it), holding ``scopes`` (None: the role's full rights, as tokens issued before scopes)."""
    token = f"kbs_security_{role}_{uuid.uuid4().hex}"
    table = container.runtime.tables["staff_credentials"]
    with container.runtime.sessions.begin() as session:
        session.execute(table.insert().values(
            credential_id=str(uuid.uuid4()), staff_id=str(uuid.uuid4()), staff_name=f"Security {role}", role=role,
            token_sha256=token_digest(token), issued_at=datetime.now(timezone.utc),
            scopes=list(scopes) if scopes is not None else None))
    return token


def build_service(name: str, directory: Path, *, migrate: bool = True, clock: Any = None, **settings: Any) -> RunningService:
    """One service on a fresh SQLite database in ``directory``, migrated, seeded, with one staff member a role
    (``migrate=False``: an empty database, only good for reading the OpenAPI document)."""
    directory.mkdir(parents=True, exist_ok=True)
    # env=test: the rate limit is the test default, far above what these tests send, unless ``settings`` name one.
    common = {"database_url": f"sqlite:///{directory / f'{name}.db'}", "var_dir": directory, "env": "test"} | settings
    if name == "booking":
        config = BookingConfig(eligibility_url="http://127.0.0.1:1", reminders_url="http://127.0.0.1:1", **common)
        container = booking_bootstrap(config, clock=clock) if clock else booking_bootstrap(config)
        if migrate:
            container.migrate()
            seed_demo_clinic(container.runtime.sessions)
        app = booking_app(container)
    elif name == "eligibility":
        container = eligibility_bootstrap(EligibilityConfig(**common))
        if migrate:
            container.migrate()
        app = eligibility_app(container)
    else:
        container = reminders_bootstrap(RemindersConfig(**common))
        if migrate:
            container.migrate()
        app = reminders_app(container)
    service = RunningService(name, container, app)
    if migrate:
        service.tokens = {role: add_staff(container, role) for role in ROLES}
    return service
