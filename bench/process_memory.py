"""Memory of every Kapbook process in its production shape, after warm-up traffic.

Starts booking, eligibility and reminders under gunicorn with the workers and threads
docker-compose.yml gives them, the three workers (``kapbook-<service> worker``), on scratch
PostgreSQL databases and a RabbitMQ namespace, and an SMTP sink; migrates and seeds the demo
clinic; then drives traffic over HTTP (bookings, availability requests, screenings) and waits
until every booking's confirmation reached the sink, so every process has done its work once.
Then it reads each process's RSS and PSS (/proc/<pid>/smaps_rollup): every gunicorn master and
worker, and every worker process. PSS shares each page among the processes that map it, so it
adds up; the SMTP sink stands in for a mail provider and is not counted.

    .venv/bin/python bench/process_memory.py [--bookings 300] [--availability 100] [--screenings 50] [--json PATH]

Needs PostgreSQL (KAPBOOK_TEST_POSTGRES_URL) and RabbitMQ (KAPBOOK_TEST_AMQP_URL); the local ones by default.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import requests
import yaml

from kapbook_platform.scratch import drop_amqp_namespace, fresh_postgres_database

sys.path.insert(0, str(Path(__file__).parent))

from figures import add_json_option, record, write_json  # noqa: E402
from processes import children_of, free_port, memory_mib, wait_for_port  # noqa: E402

BIN = Path(sys.executable).parent
COMPOSE_FILE = Path(__file__).resolve().parents[1] / "docker-compose.yml"
SERVICES = ("booking", "eligibility", "reminders")
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


@dataclass
class ProductionShape:
    """Kapbook's processes as docker compose starts them, on the given databases and broker.

    Each process logs to ``folder/logs/<name>.log``.
    """

    folder: Path
    database_urls: dict[str, str]
    broker_url: str
    namespace: str
    ports: dict[str, int] = field(default_factory=lambda: {name: free_port() for name in (*SERVICES, "smtp")})
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def environment(self) -> dict[str, str]:
        own = ("KAPBOOK_", "BOOKING_", "ELIGIBILITY_", "REMINDERS_", "SMTP_", "DISPATCH_")
        return {k: v for k, v in os.environ.items() if not k.startswith(own)} | {
            "KAPBOOK_ENV": "test", "KAPBOOK_LOG_LEVEL": "INFO", "KAPBOOK_VAR_DIR": str(self.folder / "var"),
            "KAPBOOK_BROKER_URL": self.broker_url, "KAPBOOK_BROKER_NAMESPACE": self.namespace,
            "KAPBOOK_TRUSTED_PROXIES": "0", "BOOKING_ELIGIBILITY_URL": self.url("eligibility"),
            "BOOKING_DATABASE_URL": self.database_urls["booking"],
            "ELIGIBILITY_DATABASE_URL": self.database_urls["eligibility"],
            "REMINDERS_DATABASE_URL": self.database_urls["reminders"], "SMTP_PORT": str(self.ports["smtp"]),
        }

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def prepare(self) -> None:
        """Migrate every database and seed the demo clinic, as the compose ``migrate`` job does."""
        for command in (*([f"kapbook-{s}", "migrate"] for s in SERVICES), ["kapbook-booking", "seed-demo"]):
            subprocess.run([str(BIN / command[0]), *command[1:]], env=self.environment, check=True,
                           capture_output=True, timeout=300)

    def spawn(self, name: str, command: list[str]) -> None:
        logs = self.folder / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with (logs / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(command, env=self.environment, stdout=log, stderr=subprocess.STDOUT,
                                                    start_new_session=True)

    def start(self) -> None:
        self.spawn("smtp-sink", [str(BIN / "python"), "-m", "kapbook_platform.mailsink", "--port",
                                 str(self.ports["smtp"]), "--maildir", str(self.folder / "mail")])
        for service in SERVICES:
            workers, threads = gunicorn_shape(service)
            self.spawn(service, [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.ports[service]}", "--workers",
                                 workers, "--threads", threads, f"kapbook_{service}.entrypoints.wsgi:create_app()"])
            self.spawn(f"{service}-worker", [str(BIN / f"kapbook-{service}"), "worker"])

    def wait_ready(self, timeout: float = 120) -> None:
        """Return once every service answers /readyz; exit with the logs' location if one does not."""
        wait_for_port(self.ports["smtp"], timeout)
        deadline = time.monotonic() + timeout
        pending = set(SERVICES)
        while pending and time.monotonic() < deadline:
            if dead := [name for name, process in self.processes.items() if process.poll() is not None]:
                raise SystemExit(f"processes exited: {dead}; logs in {self.folder / 'logs'}")
            pending = {s for s in pending if not _answers(f"{self.url(s)}/readyz")}
            time.sleep(0.2)
        if pending:
            raise SystemExit(f"not ready within {timeout:g} s: {sorted(pending)}; logs in {self.folder / 'logs'}")

    def stop(self) -> None:
        """SIGTERM every process group; SIGKILL what still runs after 20 s."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def emails(self) -> int:
        folder = self.folder / "mail" / "new"
        return sum(1 for _ in folder.iterdir()) if folder.exists() else 0


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=3).status_code == 200
    except requests.RequestException:
        return False


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


def drive_traffic(system: ProductionShape, bookings: int, availability: int, screenings: int) -> Counter:
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


def wait_for_emails(system: ProductionShape, count: int, timeout: float = 180) -> int:
    """Wait until the sink holds ``count`` emails (each booking's confirmation); returns how many it holds."""
    deadline = time.monotonic() + timeout
    while system.emails() < count and time.monotonic() < deadline:
        time.sleep(0.5)
    return system.emails()


# -- memory ---------------------------------------------------------------------------------------

def kapbook_processes(system: ProductionShape) -> list[tuple[str, int]]:
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
        system = ProductionShape(folder, urls, amqp_url, namespace)
        system.prepare()
        system.start()
        system.wait_ready()
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
