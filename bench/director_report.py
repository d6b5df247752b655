"""The director's report for three months of the large clinic, next to an availability request in the
same run.

50 clinicians, 10 chairs, 16,250 bookings over 91 days (bench/large_clinic.py stretched to three
months, with completed visits, no-shows and early and late cancellations): ``GET
/api/booking/v1/reports/director`` for the 91 days as an admin, through the Flask app, interleaved
request by request with one 7-day availability request of the consultation type (the machine is
shared: both see the same load). p50 of each and their ratio; aim: the report's p50 < 500 ms.
SQLite, and PostgreSQL when reachable.

Run: .venv/bin/python bench/director_report.py [iterations] [--json PATH]
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
from large_clinic import BOOKINGS, DAYS, ZONE, build_clinic, fresh_database  # noqa: E402

from kapbook_booking.entrypoints.wsgi import create_app  # noqa: E402
from support.clinic import issue_test_staff_token  # noqa: E402 - large_clinic puts tests/ on the path

REPORT_DAYS = 91
REPORT_BOOKINGS = BOOKINGS * REPORT_DAYS // DAYS


def measure(backend: str, iterations: int) -> list[dict]:
    url, drop = fresh_database(backend)
    try:
        container, first_day = build_clinic(url, days=REPORT_DAYS, bookings=REPORT_BOOKINGS, outcomes=True)
        client = create_app(container).test_client()
        headers = {"Authorization": f"Bearer {issue_test_staff_token(container.runtime.sessions, 'admin')}"}
        last_day = first_day + timedelta(days=REPORT_DAYS - 1)
        report_path = f"/api/booking/v1/reports/director?from={first_day}&until={last_day}&timezone={ZONE}"
        plain_path = (f"/api/booking/v1/availability?appointment_type=consult&start={first_day}"
                      f"&end={first_day + timedelta(days=6)}&timezone={ZONE}")
        report = client.get(report_path, headers=headers)
        assert report.status_code == 200, report.get_data(as_text=True)[:500]
        assert client.get(plain_path).status_code == 200
        timings: tuple[list[float], list[float]] = ([], [])
        for _ in range(iterations):
            for index, (path, extra) in enumerate(((report_path, headers), (plain_path, {}))):
                started = time.perf_counter()
                client.get(path, headers=extra)
                timings[index].append((time.perf_counter() - started) * 1000)
        report_ms, plain_ms = statistics.median(timings[0]), statistics.median(timings[1])
        totals = report.json["totals"]
        setup = (f"{backend}, {REPORT_DAYS} days, {totals['appointments']:,} appointments, 50 clinicians, 10 chairs "
                 f"({len(report.json['weeks'])} weeks; utilisation {totals['utilisation']} %)")
        container.runtime.engine.dispose()
        return [
            record("director report p50", setup, round(report_ms, 1), "ms", database=backend),
            record("director report p99", setup, round(percentile(timings[0], 0.99), 1), "ms", database=backend),
            record("director report / availability", setup, round(report_ms / plain_ms, 2), "x", database=backend,
                   availability_ms=round(plain_ms, 1)),
        ]
    finally:
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("iterations", type=int, nargs="?", default=20, help="requests per measurement")
    add_json_option(parser)
    args = parser.parse_args()
    records = []
    for backend in ["sqlite"] + (["postgresql"] if postgres_available() else []):
        for figure in measure(backend, args.iterations):
            print(f"{figure['metric']:<34}{figure['value']:>9} {figure['unit']:<3} {figure['setup']}")
            records.append(figure)
    write_json(args.json, records)


if __name__ == "__main__":
    main()
