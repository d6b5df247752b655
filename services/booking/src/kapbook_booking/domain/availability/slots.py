"""The public searches: every free slot in a window, or the one slot at an exact start."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import chain
from operator import itemgetter

from kapbook_booking.domain.availability.grid import (
    AppointmentRules,
    GridBook,
    Room,
    RoomChooser,
    Slot,
    StartBounds,
    forbidden_starts,
    start_bounds,
)
from kapbook_booking.domain.availability.hours import ClinicianSchedule
from kapbook_booking.domain.intervals import as_utc

_MICROSECOND = timedelta(microseconds=1)


def _clinician_slots(
    clinician: ClinicianSchedule, rules: AppointmentRules, bounds: StartBounds, grids: GridBook
) -> list[Slot]:
    """The clinician's free slots in start order."""
    forbidden = forbidden_starts(chain(clinician.busy, clinician.time_off), rules, bounds)
    cid, lid = clinician.clinician_id, clinician.location_id
    slots: list[Slot] = []
    for grid in grids.grids_for(clinician):
        for low, high in forbidden.allowed_runs(grid.starts):
            slots.extend(grid.slots(low, high, cid, lid))
    return slots


def find_slots(
    rules: AppointmentRules,
    clinicians: Sequence[ClinicianSchedule],
    rooms: Sequence[Room],
    *,
    now: datetime,
    window_start: datetime,
    window_end: datetime,
) -> list[Slot]:
    """Free slots starting in [window_start, window_end), sorted by start then clinician_id."""
    bounds = start_bounds(rules, now, window_start, window_end)
    if bounds is None:
        return []
    chooser = RoomChooser(rooms, rules, bounds) if rules.room_kind is not None else None
    grids = GridBook(rules, bounds, chooser)
    slots: list[Slot] = []
    for clinician in sorted(clinicians, key=lambda c: c.clinician_id):
        if chooser is None or chooser.has_rooms(clinician.location_id):
            slots.extend(_clinician_slots(clinician, rules, bounds, grids))
    slots.sort(key=itemgetter(0))  # stable: equal starts keep clinician order
    return slots


def slot_at(
    rules: AppointmentRules,
    clinician: ClinicianSchedule,
    rooms: Sequence[Room],
    *,
    now: datetime,
    start: datetime,
) -> Slot | None:
    """The slot at exactly `start` for this clinician if it is free, else None.

    Uses the same rules as `find_slots`, so a start it offered re-validates
    identically (room choice included) unless the inputs changed meanwhile.
    """
    just_after = as_utc(start) + _MICROSECOND
    found = find_slots(
        rules, [clinician], rooms, now=now, window_start=start, window_end=just_after
    )
    return found[0] if found else None
