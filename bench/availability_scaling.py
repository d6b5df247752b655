"""How availability's cost grows with the clinic: clinicians, bookings in the window, and history.

Three series, each through the Flask app with the answer cache off (every request computes its
answer), for the consultation type (no chair) over 1 week and 4 weeks:

- clinicians 5, 50, 200, 500 (chairs a fifth of them), each as busy as the large clinic's
  (100 bookings in the 4 weeks);
- 500 clinicians with 1,000 to 50,000 bookings in the 4 weeks;
- the large clinic (50 clinicians, 5,000 bookings) without history and with one year of past
  visits (about 65,000), measured in alternating rounds so the machine's drift falls on both:
  history must cost within 10 % of none.

Ratios are to the first row of each series, taken in the same run. ``--plot DIR`` also draws the
two growth series as SVG (docs/images/availability-scaling-*.svg). SQLite, and PostgreSQL too
when it is reachable (``--sqlite-only`` to skip it).

Run: .venv/bin/python bench/availability_scaling.py [--quick] [--plot DIR] [--json PATH]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from availability_http import postgres_available  # noqa: E402
from figures import add_json_option, percentile, record, write_json  # noqa: E402
from large_clinic import DAYS, build_clinic, fresh_database  # noqa: E402

from kapbook_booking.entrypoints.wsgi import create_app  # noqa: E402

CLINICIAN_COUNTS = (5, 50, 200, 500)
BOOKING_COUNTS = (1_000, 5_000, 20_000, 50_000)
BOOKINGS_PER_CLINICIAN = 100  # the large clinic's 5,000 over 50 clinicians in 4 weeks
HISTORY_DAYS = 365
SPANS = {"1 week": 6, "4 weeks": DAYS - 1}  # days after the first


class Clinic:
    """One built clinic behind the Flask test client, asked for consultations."""

    def __init__(self, backend: str, **size) -> None:
        self.url, self.drop = fresh_database(backend)
        self.container, self.first_day = build_clinic(self.url, **size)
        self.client = create_app(self.container).test_client()

    def path(self, span: str) -> str:
        last = self.first_day + timedelta(days=SPANS[span])
        return (f"/api/booking/v1/availability?appointment_type=consult&start={self.first_day}&end={last}"
                f"&timezone=America/New_York")

    def ask(self, span: str) -> float:
        """One request's time in ms (asserting it answered)."""
        started = time.perf_counter()
        response = self.client.get(self.path(span))
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.json
        return elapsed

    def slot_count(self, span: str) -> int:
        return len(self.client.get(self.path(span)).json["slots"])

    def timings(self, span: str, budget_s: float, most: int) -> list[float]:
        """Requests until ``budget_s`` seconds or ``most`` requests, at least 5, after one warm-up."""
        self.ask(span)
        timings, deadline = [], time.perf_counter() + budget_s
        while len(timings) < 5 or (len(timings) < most and time.perf_counter() < deadline):
            timings.append(self.ask(span))
        return timings

    def close(self) -> None:
        self.container.runtime.engine.dispose()
        self.drop()


def growth(backend: str, series: str, cases: list[tuple[str, int, dict]], budget_s: float) -> list[dict]:
    """p50/p99 for each (label, x, clinic size) and span, with the ratio to the series' first case."""
    records, first = [], {}
    for label, x, size in cases:
        started = time.perf_counter()
        clinic = Clinic(backend, **size)
        built_s = time.perf_counter() - started
        try:
            for span in SPANS:
                timings, slots = clinic.timings(span, budget_s, 200), clinic.slot_count(span)
                p50 = statistics.median(timings)
                first.setdefault(span, p50)
                setup = f"{backend}, {label}, consultation {span} ({slots:,} slots), cache off"
                records.append(record(f"availability scaling p50 ({series})", setup, round(p50, 2), "ms",
                                      database=backend, series=series, span=span, x=x, slots=slots,
                                      p99_ms=round(percentile(timings, 0.99), 2), requests=len(timings),
                                      ratio=round(p50 / first[span], 2), build_s=round(built_s, 1)))
                print(f"  {setup}: p50 {p50:.1f} ms, p99 {percentile(timings, 0.99):.1f} ms, "
                      f"{p50 / first[span]:.2f}x the first ({len(timings)} requests; built in {built_s:.0f} s)", flush=True)
        finally:
            clinic.close()
    return records


def history(backend: str, rounds: int) -> list[dict]:
    """The large clinic with and without a year of past visits, asked in alternating rounds."""
    clinics = {"none": Clinic(backend), "1 year": Clinic(backend, history_days=HISTORY_DAYS)}
    try:
        records = []
        for span in SPANS:
            timings: dict[str, list[float]] = {name: [] for name in clinics}
            for clinic in clinics.values():
                clinic.ask(span)
            for _ in range(rounds):
                for name, clinic in clinics.items():
                    timings[name].append(clinic.ask(span))
            ratio = statistics.median(timings["1 year"]) / statistics.median(timings["none"])
            setup = (f"{backend}, 50 clinicians, 5,000 bookings ahead, + {HISTORY_DAYS} days of past visits "
                     f"vs none, consultation {span}, cache off")
            records.append(record("availability with 1 year of history / none", setup, round(ratio, 3), "x",
                                  database=backend, span=span, rounds=rounds,
                                  none_p50_ms=round(statistics.median(timings["none"]), 2),
                                  history_p50_ms=round(statistics.median(timings["1 year"]), 2)))
            print(f"  {setup}: {ratio:.3f}x ({statistics.median(timings['1 year']):.1f} vs "
                  f"{statistics.median(timings['none']):.1f} ms p50)", flush=True)
        return records
    finally:
        for clinic in clinics.values():
            clinic.close()


def measure(backend: str, quick: bool) -> list[dict]:
    budget = 1.0 if quick else 3.0
    clinicians = CLINICIAN_COUNTS[:3] if quick else CLINICIAN_COUNTS
    bookings = BOOKING_COUNTS[:3] if quick else BOOKING_COUNTS
    print(f"{backend}: cost vs clinicians", flush=True)
    records = growth(backend, "clinicians", [
        (f"{n} clinicians, {n * BOOKINGS_PER_CLINICIAN:,} bookings", n,
         {"clinicians": n, "chairs": max(1, n // 5), "bookings": n * BOOKINGS_PER_CLINICIAN}) for n in clinicians
    ], budget)
    print(f"{backend}: cost vs bookings in the window (500 clinicians)", flush=True)
    records += growth(backend, "bookings", [
        (f"500 clinicians, {n:,} bookings", n, {"clinicians": 500, "chairs": 100, "bookings": n}) for n in bookings
    ], budget)
    print(f"{backend}: cost of history", flush=True)
    return records + history(backend, 20 if quick else 60)


def plot(records: list[dict], folder: Path) -> list[Path]:
    """One SVG per growth series: p50 against size, one line per database and span."""
    import pygal  # only when plotting

    written = []
    for series, axis in (("clinicians", "clinicians"), ("bookings", "bookings in the 4 weeks (500 clinicians)")):
        chart = pygal.XY(title=f"Availability: cost vs {axis}", x_title=axis, y_title="p50 ms (cache off)",
                         dots_size=3, legend_at_bottom=True, legend_at_bottom_columns=2, show_x_guides=True,
                         width=800, height=420, x_value_formatter=lambda x: f"{x:,.0f}")
        lines: dict[str, list[tuple[float, float]]] = {}
        for figure in records:
            if figure.get("series") == series:
                lines.setdefault(f"{figure['database']}, {figure['span']}", []).append((figure["x"], figure["value"]))
        for name, points in lines.items():
            chart.add(name, points)
        path = folder / f"availability-scaling-{series}.svg"
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(chart.render())
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and shorter runs")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--plot", type=Path, metavar="DIR", help="draw the growth series as SVG into DIR")
    add_json_option(parser)
    args = parser.parse_args()
    backends = ["sqlite"] + ([] if args.sqlite_only or not postgres_available() else ["postgresql"])
    records = [figure for backend in backends for figure in measure(backend, args.quick)]
    if args.plot:
        for path in plot(records, args.plot):
            print(f"wrote {path}")
    write_json(args.json, records)


if __name__ == "__main__":
    main()
