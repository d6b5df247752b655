"""Availability engine: free slots for one appointment type across many clinicians.

Pure domain code. All instants are aware datetimes; results are in UTC. Where to look:

* `wall_clock`: local wall-clock hours to UTC, across DST gaps and repeats.
* `hours`: weekly hours, date overrides, a clinician's schedule and its working spans.
* `grid`: appointment rules, rooms, and the grid of candidate starts per working span.
* `slots`: the public searches, `find_slots` and `slot_at`.
"""

from kapbook_booking.domain.availability.grid import AppointmentRules, Room, Slot
from kapbook_booking.domain.availability.hours import (
    WEEKDAYS,
    ClinicianSchedule,
    WeeklyHours,
    working_intervals_between,
    working_intervals_on,
)
from kapbook_booking.domain.availability.slots import find_slots, slot_at
from kapbook_booking.domain.availability.wall_clock import local_to_utc
from kapbook_booking.domain.intervals import TimeRange

__all__ = [
    "WEEKDAYS",
    "AppointmentRules",
    "ClinicianSchedule",
    "Room",
    "Slot",
    "TimeRange",
    "WeeklyHours",
    "find_slots",
    "local_to_utc",
    "slot_at",
    "working_intervals_between",
    "working_intervals_on",
]
