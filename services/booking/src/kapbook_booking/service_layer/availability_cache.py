"""Availability answers kept in memory, used only while nothing they depend on has changed.

Each answer is kept under the availability version it was computed under (the sum of the counters
migration 0022's triggers bump in every writing transaction), and used again only while:

* the version is the same: no booking, hold, cancellation, hours, time off, calendar busy time or
  catalogue change has committed since. The version is read before the answer is computed, so a
  kept answer is never older than its version: a slot booked a millisecond ago never appears.
* the clock has not passed the start of the first slot's notice: notice only ever removes slots from
  the front as time passes, so until then every kept slot is still bookable; an answer with no slot
  is kept for ``ttl`` at most.
* it is younger than ``ttl`` (and not from the future: a test's clock may be set back): the ways time alone can add a slot (a hold lapsing, the booking horizon
  moving on) show within that, and never a taken slot.

One cache per process (each gunicorn worker has its own); a small LRU of whole answers.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class _Kept:
    version: int
    computed_at: datetime
    valid_until: datetime
    answer: Any


class AvailabilityCache:
    def __init__(self, ttl: timedelta, max_answers: int = 256) -> None:
        self.ttl, self.max_answers = ttl, max_answers
        self._answers: OrderedDict[Hashable, _Kept] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.ttl > timedelta(0)

    def get(self, key: Hashable, version: int, now: datetime) -> Any | None:
        with self._lock:
            kept = self._answers.get(key)
            if kept is None or kept.version != version or not kept.computed_at <= now <= kept.valid_until:
                self.misses += 1
                return None
            self._answers.move_to_end(key)
            self.hits += 1
            return kept.answer

    def put(self, key: Hashable, version: int, now: datetime, first_start: datetime | None, notice: timedelta,
            answer: Any) -> None:
        """Keep ``answer``; ``first_start`` is its earliest slot's start (None: no slot)."""
        if not self.enabled:
            return
        valid_until = now + self.ttl
        if first_start is not None:
            valid_until = min(valid_until, first_start - notice)
        with self._lock:
            self._answers[key] = _Kept(version, now, valid_until, answer)
            self._answers.move_to_end(key)
            while len(self._answers) > self.max_answers:
                self._answers.popitem(last=False)
