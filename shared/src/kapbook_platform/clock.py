"""The one notion of "now" in Kapbook: an aware UTC instant, read through a ``Clock``.

Use cases take a ``Clock`` instead of calling ``datetime.now`` so that a test can fix or move time.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current instant, timezone-aware in UTC (the production clock)."""
    return datetime.now(timezone.utc)
