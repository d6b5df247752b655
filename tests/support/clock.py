"""The one test clock: services under test read the time from it, and the test moves it."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone


class TravellingClock:
    """An aware UTC clock that moves only when the test moves it, or by ``tick`` on every reading.

    ``tick`` gives each reading a distinct instant (orderings by time stay unambiguous). It is
    safe to read from the threads of a served app while the test moves it.
    """

    def __init__(self, start: datetime | None = None, *, tick: timedelta = timedelta(0)) -> None:
        self._now = start or datetime.now(timezone.utc)
        self._tick = tick
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self._now += self._tick
            return self._now

    @property
    def now(self) -> datetime:
        with self._lock:
            return self._now

    @now.setter
    def now(self, moment: datetime) -> None:
        self.set(moment)

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**parts)``; returns the new now."""
        with self._lock:
            self._now += delta if delta is not None else timedelta(**parts)
            return self._now
