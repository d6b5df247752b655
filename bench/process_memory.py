"""Memory of every Kapbook process in its production shape, after warm-up traffic.

Starts booking, eligibility and reminders under gunicorn with the workers and threads
docker-compose.yml gives them, the three workers (``kapbook-<service> worker``), on scratch
PostgreSQL databases and a RabbitMQ namespace, and an SMTP sink (with the fault tests' launcher,
tests/support/system.py); migrates and seeds the demo clinic; then drives traffic over HTTP
(bookings, availability requests, screenings) and waits until every booking's confirmation
reached the sink, so every process has done its work once.
Then it reads each process's RSS and PSS (/proc/<pid>/smaps_rollup): every gunicorn master and
worker, and every worker process. PSS shares each page among the processes that map it, so it
adds up; the SMTP sink stands in for a mail provider and is not counted.

    .venv/bin/python bench/process_memory.py [--bookings 300] [--availability 100] [--screenings 50] [--json PATH]

Needs PostgreSQL (KAPBOOK_TEST_POSTGRES_URL) and RabbitMQ (KAPBOOK_TEST_AMQP_URL); the local ones by default.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from figures import add_json_option, record, write_json  # noqa: E402
from processes import children_of, memory_mib  # noqa: E402
from support.scratch import drop_amqp_namespace, fresh_postgres_database  # noqa: E402
from support.system import BIN, SERVICES, SystemUnderTest  # noqa: E402 - the launcher the fault tests use

COMPOSE_FILE = ROOT / "docker-compose.yml"
WORKER_LOOPS = {"booking": "relay + consumer", "eligibility": "relay + consumer", "reminders": "consumer + dispatcher"}
CLIENT_THREADS = 4
# A screening with nothing of concern (the eligibility tests' eligible answer set).
ANSWERS = (
    {"date_of_birth": "1984-05-17", "phq9_9": 0, "cssrs_1": False, "cssrs_2": False, "cssrs_6": False,
     "medications": ["ssri"], "failed_antidepressant_trials": 2}
    | {f"phq9_{n}": 1 for n in range(1, 9)} | {f"gad7_{n}": 1 for n in range(1, 8)}
    | {flag: False for flag in ("pregnant", "breastfeeding", "aneurysmal_vascular_disease", "intracerebral_hemorrhage",
                                "ketamine_hypersensitivity", "psychosis_history", "psychosis_family_history",
                                "bipolar_history", "substance_use_disorder", "hypertension", "cardiac_disease",
                                "liver_disease")}
)


def gunicorn_shape(service: str) -> tuple[str, str]:
    """The service's gunicorn ``--workers`` and ``--threads``, as docker-compose.yml runs it."""
    command = yaml.safe_load(COMPOSE_FILE.read_text())["services"][service]["command"]
    return command[command.index("--workers") + 1], command[command.index("--threads") + 1]


class ComposeShape(SystemUnderTest):
    """The whole system as the fault tests start it (tests/support/system.py), with the gunicorn
    workers and threads of docker-compose.yml instead of deploy/Procfile.dev's."""

    def start_service(self, service: str) -> None:
        workers, threads = gunicorn_shape(service)
        self.spawn(service, [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.ports[service]}", "--workers", workers,
                             "--threads", threads, f"kapbook_{service}.entrypoints.wsgi:create_app()"])

    def seed_demo_clinic(self) -> None:
        subprocess.run([str(BIN / "kapbook-booking"), "seed-demo"], env=self.environment, check=True,
                       capture_output=True, timeout=120)


# -- traffic ------------------------------------------------------------------------------------

def free_consultations(booking_url: str, count: int) -> list[dict]:
    """``count`` free-consultation slots no two of which overlap (30 min and a 10 min buffer, on the hour)."""
    first = date.today() + timedelta(days=1)
    answer = requests.get(f"{booking_url}/api/booking/v1/availability", timeout=60, params={
        "appointment_type": "free-consultation", "start": str(first), "end": str(first + timedelta(days=41)),
        "timezone": "UTC"})
    answer.raise_for_status()
    slots = [s for s in answer.json()["slots"] if datetime.fromisoformat(s["start"]).minute == 0]
    if len(slots) < count:
        raise SystemExit(f"the demo clinic offers only {len(slots)} free consultations; ask for fewer bookings")
    return slots[:: max(1, len(slots) // count)][:count]


def book(booking_url: str, slot: dict, number: int) -> int:
    body = {"appointment_type": "free-consultation", "start": slot["start"], "clinician_id": slot["clinician_id"],
            "patient": {"name": f"Bench Patient {number}", "email": f"bench{number}@example.org",
                        "timezone": "Europe/Berlin"}}
    return requests.post(f"{booking_url}/api/booking/v1/bookings", json=body, timeout=60,
                         headers={"Idempotency-Key": str(uuid.uuid4())}).status_code


def ask_availability(booking_url: str, number: int) -> int:
    first = date.today() + timedelta(days=1 + number % 14)
    return requests.get(f"{booking_url}/api/booking/v1/availability", timeout=60, params={
        "appointment_type": "free-consultation", "start": str(first), "end": str(first + timedelta(days=6)),
        "timezone": "America/New_York"}).status_code


def screen(eligibility_url: str, number: int) -> int:
    body = {"patient": {"name": f"Bench Patient {number}", "email": f"bench{number}@example.org"}, "answers": ANSWERS}
    return requests.post(f"{eligibility_url}/api/eligibility/v1/screenings", json=body, timeout=60).status_code


def drive_traffic(system: ComposeShape, bookings: int, availability: int, screenings: int) -> Counter:
    """Send every request from a few client threads; returns how often each (request, status) came back."""
    booking, eligibility = system.url("booking"), system.url("eligibility")
    slots = free_consultations(booking, bookings)
    statuses: Counter = Counter()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        statuses.update(("book", s) for s in pool.map(lambda n: book(booking, slots[n], n), range(bookings)))
        statuses.update(("availability", s) for s in pool.map(lambda n: ask_availability(booking, n), range(availability)))
        statuses.update(("screening", s) for s in pool.map(lambda n: screen(eligibility, n), range(screenings)))
        statuses.update(("readyz", s) for s in pool.map(lambda s: requests.get(f"{system.url(s)}/readyz").status_code,
                                                          SERVICES))
    return statuses


def wait_for_emails(system: ComposeShape, count: int, timeout: float = 180) -> int:
    """Wait until the sink holds ``count`` emails (each booking's confirmation); returns how many it holds."""
    deadline = time.monotonic() + timeout
    while system.email_count() < count and time.monotonic() < deadline:
        time.sleep(0.5)
    return system.email_count()


# -- memory ---------------------------------------------------------------------------------------

def kapbook_processes(system: ComposeShape) -> list[tuple[str, int]]:
    """(name, pid) of every Kapbook process: each gunicorn master and its workers, each worker process."""
    named = []
    for service in SERVICES:
        master = system.processes[service].pid
        named.append((f"{service} gunicorn master", master))
        named += [(f"{service} gunicorn worker {n}", pid) for n, pid in enumerate(children_of(master), 1)]
    named += [(f"{s} worker ({WORKER_LOOPS[s]})", system.processes[f"{s}-worker"].pid) for s in SERVICES]
    return named


def memory_records(named: list[tuple[str, int]]) -> list[dict]:
    records, rss_total, pss_total = [], 0.0, 0.0
    for name, pid in named:
        rss, pss = memory_mib(pid)
        rss_total, pss_total = rss_total + rss, pss_total + (pss if pss is not None else rss)
        records.append(record("memory", name, round(rss, 1), "MiB RSS", process=name,
                              pss_mib=None if pss is None else round(pss, 1),
                              note=None if pss is None else f"PSS {pss:.1f} MiB"))
    records.append(record("memory total", f"all {len(named)} Kapbook processes", round(pss_total, 1), "MiB PSS",
                          rss_total_mib=round(rss_total, 1), note=f"RSS sum {rss_total:.1f} MiB"))
    return records


def print_memory(records: list[dict]) -> None:
    print(f"  {'process':42s} {'RSS MiB':>8s} {'PSS MiB':>8s}")
    for figure in records[:-1]:
        pss = "-" if figure["pss_mib"] is None else f"{figure['pss_mib']:.1f}"
        print(f"  {figure['process']:42s} {figure['value']:8.1f} {pss:>8s}")
    total = records[-1]
    print(f"  {'total':42s} {total['rss_total_mib']:8.1f} {total['value']:8.1f}")


def measure(args: argparse.Namespace, folder: Path, postgres_url: str, amqp_url: str) -> list[dict]:
    namespace, drops, system = f"kbbench-{uuid.uuid4().hex[:10]}", [], None
    try:
        urls = {}
        for service in SERVICES:
            urls[service], drop = fresh_postgres_database(postgres_url, f"kb_mem_{service}")
            drops.append(drop)
        system = ComposeShape(folder, urls, amqp_url, namespace).migrate()
        system.seed_demo_clinic()
        system.start()
        statuses = drive_traffic(system, args.bookings, args.availability, args.screenings)
        print(f"traffic: {dict(sorted(statuses.items()))}")
        booked = statuses[("book", 201)]
        arrived = wait_for_emails(system, booked)
        print(f"{booked} bookings made, {arrived} emails at the sink")
        time.sleep(2)  # let the last requests' and messages' work settle
        records = memory_records(kapbook_processes(system))
        records[-1]["traffic"] = {f"{kind} {status}": n for (kind, status), n in sorted(statuses.items())}
        if arrived < booked:
            records[-1]["note"] += f"; only {arrived} of {booked} confirmations arrived"
        return records
    finally:
        if system is not None:
            system.stop()
        for drop in drops:
            drop()
        drop_amqp_namespace(amqp_url, namespace)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=300, help="bookings made over HTTP before measuring")
    parser.add_argument("--availability", type=int, default=100, help="availability requests before measuring")
    parser.add_argument("--screenings", type=int, default=50, help="screenings submitted before measuring")
    add_json_option(parser)
    args = parser.parse_args()
    postgres_url = os.environ.get("KAPBOOK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    amqp_url = os.environ.get("KAPBOOK_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
    shape = ", ".join(f"{s} {'x'.join(gunicorn_shape(s))}" for s in SERVICES)
    print(f"gunicorn workers x threads as in docker-compose.yml ({shape}), three workers, PostgreSQL, RabbitMQ; "
          f"after {args.bookings} bookings, {args.availability} availability requests, {args.screenings} screenings")
    with tempfile.TemporaryDirectory(prefix="kapbook-memory-") as folder:
        records = measure(args, Path(folder), postgres_url, amqp_url)
    print_memory(records)
    write_json(args.json, records)


if __name__ == "__main__":
    main()
