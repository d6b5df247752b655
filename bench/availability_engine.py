"""Micro-benchmark of the availability engine on a deterministic synthetic clinic.

50 clinicians at one New York location, Monday-Friday 09:00-12:30 and
13:30-18:00, 10 treatment chairs, 5,000 clinician busy ranges plus 1,000 chair
busy ranges (bookings of 30-180 min placed in the working day, overlapping at
random), a 4-week window starting on a Monday, 15 min step. Garbage collection
stays on, as in a server. Run from the repository root:

    .venv/bin/python bench/availability_engine.py [--runs 50] [--json PATH]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time as clock
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from kapbook_booking.domain.availability import (
    AppointmentRules,
    ClinicianSchedule,
    Room,
    Slot,
    TimeRange,
    WeeklyHours,
    find_slots,
    slot_at,
)

sys.path.insert(0, str(Path(__file__).parent))

from figures import add_json_option, percentile, record, write_json  # noqa: E402

ZONE = ZoneInfo("America/New_York")
NOW = datetime(2025, 3, 3, 12, 0, tzinfo=timezone.utc)
WINDOW_START = datetime(2025, 3, 3, 5, 0, tzinfo=timezone.utc)  # Monday 00:00 EST
WINDOW_END = WINDOW_START + timedelta(weeks=4)  # crosses the 9 March transition
WINDOW = {"window_start": WINDOW_START, "window_end": WINDOW_END}
CLINICIANS, CHAIRS = 50, 10
CLINICIAN_BUSY, CHAIR_BUSY = 5_000, 1_000
SCENARIOS = {
    "consultation 30 min": AppointmentRules(timedelta(minutes=30), min_notice=timedelta(hours=4)),
    "evaluation 60 min, 10+10 buffers": AppointmentRules(
        timedelta(minutes=60),
        buffer_before=timedelta(minutes=10),
        buffer_after=timedelta(minutes=10),
        min_notice=timedelta(hours=4),
    ),
    "infusion 45 min + chair, 15 buffer": AppointmentRules(
        timedelta(minutes=45), buffer_after=timedelta(minutes=15), room_kind="infusion_chair"
    ),
}


def working_days() -> list[date]:
    days = (WINDOW_START.date() + timedelta(days=n) for n in range(28))
    return [day for day in days if day.weekday() < 5]


def random_bookings(rng: random.Random, count: int) -> tuple[TimeRange, ...]:
    """Bookings of 30-180 min starting on a quarter hour between 08:00 and 17:45 local."""
    days, bookings = working_days(), []
    for _ in range(count):
        opening = datetime.combine(rng.choice(days), time(8), ZONE)
        start = (opening + timedelta(minutes=15 * rng.randrange(40))).astimezone(timezone.utc)
        length = timedelta(minutes=rng.choice([30, 45, 60, 90, 120, 180]))
        bookings.append(TimeRange(start, start + length))
    return tuple(bookings)


def build_clinic(seed: int = 20250303) -> tuple[list[ClinicianSchedule], list[Room]]:
    rng = random.Random(seed)
    day_parts = ((time(9), time(12, 30)), (time(13, 30), time(18)))
    week = tuple(WeeklyHours(day, start, end) for day in range(5) for start, end in day_parts)
    clinicians = [
        ClinicianSchedule(
            clinician_id=f"clinician-{n:02d}",
            location_id="nyc",
            zone=ZONE,
            weekly_hours=week,
            busy=random_bookings(rng, CLINICIAN_BUSY // CLINICIANS),
        )
        for n in range(CLINICIANS)
    ]
    rooms = [
        Room(f"chair-{n:02d}", "nyc", "infusion_chair", random_bookings(rng, CHAIR_BUSY // CHAIRS))
        for n in range(CHAIRS)
    ]
    return clinicians, rooms


def time_ms(task: Callable[[], object], runs: int) -> list[float]:
    for _ in range(3):  # warm-up
        task()
    timings = []
    for _ in range(runs):
        started = clock.perf_counter()
        task()
        timings.append((clock.perf_counter() - started) * 1000)
    return timings


def report(name: str, timings: list[float], note: str) -> list[dict]:
    """Print one line of figures; returns them as records."""
    p50, p99, best = statistics.median(timings), percentile(timings, 0.99), min(timings)
    print(f"  {name:48s} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  min {best:6.2f} ms  {note}")
    setup = f"{name} ({note}), in process"
    return [record("availability engine p50", setup, round(p50, 2), "ms", runs=len(timings)),
            record("availability engine p99", setup, round(p99, 2), "ms", runs=len(timings))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    add_json_option(parser)
    args = parser.parse_args()
    runs, records = args.runs, []
    clinicians, rooms = build_clinic()
    print(
        f"{CLINICIANS} clinicians, {CHAIRS} chairs, {CLINICIAN_BUSY} clinician + {CHAIR_BUSY} chair"
        f" busy ranges, 4-week window, {runs} runs each"
    )
    for name, rules in SCENARIOS.items():
        def task(rules: AppointmentRules = rules) -> list[Slot]:
            return find_slots(rules, clinicians, rooms, now=NOW, **WINDOW)

        records += report(f"find_slots: {name}", time_ms(task, runs), f"{len(task())} slots")
    infusion = SCENARIOS["infusion 45 min + chair, 15 buffer"]
    offered = find_slots(infusion, clinicians, rooms, now=NOW, **WINDOW)
    middle = offered[len(offered) // 2]
    who = next(c for c in clinicians if c.clinician_id == middle.clinician_id)
    timings = time_ms(lambda: slot_at(infusion, who, rooms, now=NOW, start=middle.start_utc), runs)
    records += report("slot_at: re-validate one infusion", timings, f"room {middle.room_id}")
    write_json(args.json, records)


if __name__ == "__main__":
    main()
