"""When a console session is still good (pure: times passed in).

A session ends after ``idle`` without a request (automatic logoff) and ``absolute`` after it began,
busy or not. ``last_seen`` is only written when it is ``touch_after`` old, so a busy console does
not write a row on every page it shows; the idle clock is that much coarse at most.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta

    @property
    def touch_after(self) -> timedelta:
        return min(timedelta(seconds=60), self.idle / 10)

    def ended(self, created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
        """Whether a session made at ``created_at`` and last used at ``last_seen_at`` is over at ``now``."""
        return now - last_seen_at >= self.idle or now - created_at >= self.absolute

    def needs_touch(self, last_seen_at: datetime, now: datetime) -> bool:
        return now - last_seen_at >= self.touch_after
