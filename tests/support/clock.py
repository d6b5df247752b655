"""A clock for the services under test that moves only when the test moves it."""
from __future__ import annotations

from datetime import datetime, timezone


class SettableClock:
    """Starts at the real now (or ``start``) and stays there; a test moves it by setting ``now``."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now
