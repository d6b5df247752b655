"""FHIR Slot search against the plain availability request, for the large clinic, in the same run.

50 clinicians, 10 chairs, 5,000 existing bookings (bench/large_clinic.py); 7 days. Per appointment
type: `GET /api/booking/v1/availability` and `GET /api/booking/fhir/r4/Slot?service-type=<code>`
(first page of 1,000, computed over the whole week); then the whole clinic in one Slot search (no
service-type) against both plain requests together. Aim: a Slot search within 2x its plain request.
SQLite always; PostgreSQL too when reachable.

Run: .venv/bin/python bench/fhir_slots.py [iterations] [--json PATH]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, time as clock_time, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from availability_http import postgres_available  # noqa: E402
from figures import add_json_option, record, write_json  # noqa: E402
from large_clinic import ZONE, build_clinic, fresh_database  # noqa: E402

from kapbook_booking.entrypoints.wsgi import create_app  # noqa: E402

FHIR = "/api/booking/fhir/r4/Slot"


def timed_pair(client, plain_path: str, fhir_path: str, iterations: int) -> tuple[float, dict, float, dict]:
    """Median milliseconds of each request and their answers, interleaved request by request so
    both see the same machine load (the machine is shared: a run of one then the other is not fair)."""
    answers = []
    for path in (plain_path, fhir_path):
        response = client.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        answers.append(response.json)
    timings: tuple[list[float], list[float]] = ([], [])
    for _ in range(iterations):
        for index, path in enumerate((plain_path, fhir_path)):
            started = time.perf_counter()
            client.get(path)
            timings[index].append((time.perf_counter() - started) * 1000)
    return statistics.median(timings[0]), answers[0], statistics.median(timings[1]), answers[1]


def whole_clinic(client, plain_paths: list[str], fhir_path: str, iterations: int) -> tuple[float, float, dict]:
    """Median ms of all plain requests together and of the one whole-clinic Slot search, interleaved."""
    bundle = client.get(fhir_path).json
    plain, fhir = [], []
    for _ in range(iterations):
        started = time.perf_counter()
        for path in plain_paths:
            client.get(path)
        plain.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        client.get(fhir_path)
        fhir.append((time.perf_counter() - started) * 1000)
    return statistics.median(plain), statistics.median(fhir), bundle


def measure(backend: str, iterations: int) -> list[dict]:
    url, drop = fresh_database(backend)
    try:
        container, first_day = build_clinic(url)
        client = create_app(container).test_client()
        last_day = first_day + timedelta(days=6)
        start = datetime.combine(first_day, clock_time(0), ZONE).astimezone(timezone.utc)
        window = f"start=ge{start:%Y-%m-%dT%H:%M:%SZ}&start=lt{start + timedelta(days=7):%Y-%m-%dT%H:%M:%SZ}"
        records, plain_paths = [], []
        for code in ("consult", "infusion"):
            plain_ms, plain, fhir_ms, bundle = timed_pair(
                client, f"/api/booking/v1/availability?appointment_type={code}&start={first_day}&end={last_day}&timezone={ZONE}",
                f"{FHIR}?service-type={code}&{window}&_count=1000", iterations)
            plain_paths.append(f"/api/booking/v1/availability?appointment_type={code}&start={first_day}&end={last_day}&timezone={ZONE}")
            setup = f"{backend}, {code}, 7 days ({bundle['total']} slots; plain {len(plain['slots'])})"
            records += [record("FHIR Slot search p50", setup, round(fhir_ms, 1), "ms", database=backend, type=code),
                        record("FHIR Slot / availability", setup, round(fhir_ms / plain_ms, 2), "x",
                               database=backend, type=code, availability_ms=round(plain_ms, 1))]
        plain_total, whole_ms, bundle = whole_clinic(client, plain_paths, f"{FHIR}?{window}&_count=1000", iterations)
        setup = f"{backend}, whole clinic, 7 days ({bundle['total']} slots) vs both availability requests"
        records += [record("FHIR Slot search p50", setup, round(whole_ms, 1), "ms", database=backend, type="all"),
                    record("FHIR Slot / availability", setup, round(whole_ms / plain_total, 2), "x",
                           database=backend, type="all", availability_ms=round(plain_total, 1))]
        container.runtime.engine.dispose()
        return records
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
            print(f"{figure['metric']:<26}{figure['value']:>9} {figure['unit']:<3} {figure['setup']}")
            records.append(figure)
    write_json(args.json, records)


if __name__ == "__main__":
    main()
