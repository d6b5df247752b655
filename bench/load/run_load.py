"""Load test: many patients searching and booking at once, on gunicorn with PostgreSQL and RabbitMQ.

Starts the whole system (each service under gunicorn with docker-compose.yml's workers and
threads, the three workers, an SMTP sink) on scratch databases and a scratch broker namespace,
builds a clinic, runs locust (bench/load/locustfile.py, its own process) against the booking
service, then checks what the run left behind: no 5xx, no overlapping bookings, exactly one
confirmation email per booking, outboxes drained, nothing dead-lettered, every process healthy.
Prints a report with p50/p95/p99 per request kind; exits 1 if a check fails.

KAPBOOK_ENV=test, so the per-IP rate limit is 100000/minute (all patients share one address).

Run: .venv/bin/python bench/load/run_load.py [--users 200] [--duration 60s] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from datetime import time as clock
from pathlib import Path
from types import SimpleNamespace

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from figures import add_json_option, percentile, record, write_json  # noqa: E402
from processes import children_of, process_cpu_seconds  # noqa: E402
from support.clinic import ClinicBuilder  # noqa: E402
from support.fault_checks import (  # noqa: E402
    no_overlapping_bookings,
    one_confirmation_per_booking,
    settled_and_healthy,
)
from support.scratch import drop_amqp_namespace, fresh_postgres_database  # noqa: E402
from support.system import SERVICES, SystemUnderTest  # noqa: E402

from kapbook_platform.database import create_db_engine, make_session_factory  # noqa: E402

BIN = Path(sys.executable).parent
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
COMPOSE_FILE = ROOT / "docker-compose.yml"
POSTGRES_URL = os.environ.get("KAPBOOK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("KAPBOOK_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
FIRST_DAY = 4  # bookings start 4+ days ahead: no reminder is due during the run, only confirmations
API = "/api/booking/v1"
KINDS = ("catalogue", "availability", "book", "book (slot taken)")
QUIET = 3.0  # seconds without a new booking before the database is read
STOP_TIMEOUT = 60  # seconds a patient may take to finish its search and booking when the time is up
SERVER_ERROR = re.compile(r'"status": 5\d\d\b|WORKER TIMEOUT|Traceback')


STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"[load +{time.monotonic() - STARTED:5.1f}s] {message}", file=sys.stderr, flush=True)


def gunicorn_shape(service: str) -> tuple[str, str]:
    """The service's gunicorn ``--workers`` and ``--threads``, as docker-compose.yml runs it."""
    command = yaml.safe_load(COMPOSE_FILE.read_text())["services"][service]["command"]
    return command[command.index("--workers") + 1], command[command.index("--threads") + 1]


class ComposeShapedSystem(SystemUnderTest):
    """The test suite's system, with each service's gunicorn sized as in docker-compose.yml."""

    def start_service(self, service: str) -> None:
        workers, threads = gunicorn_shape(service)
        self.spawn(service, [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.ports[service]}", "--workers", workers,
                             "--threads", threads, "--graceful-timeout", "5",
                             f"kapbook_{service}.entrypoints.wsgi:create_app()"])


@dataclass
class Scratch:
    """Databases, a broker namespace, a folder and processes, all removed by ``close``."""

    folder: Path
    keep_folder: bool = False
    drops: list = field(default_factory=list)
    namespace: str = field(default_factory=lambda: f"kbload-{uuid.uuid4().hex[:10]}")
    system: SystemUnderTest | None = None
    locust: subprocess.Popen | None = None
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds used while locust ran, and "wall"

    def database(self, service: str) -> str:
        url, drop = fresh_postgres_database(POSTGRES_URL, f"kbload_{service}")
        self.drops.append(drop)
        return url

    def close(self) -> None:
        """Stop every process, drop the databases and the namespace; each step even if another fails."""
        steps = [self._stop_locust, *([self.system.stop] if self.system else []), *self.drops,
                 lambda: drop_amqp_namespace(AMQP_URL, self.namespace)]
        for step in steps:
            try:
                step()
            except Exception as error:  # keep cleaning up; say what was left behind
                say(f"cleanup step failed: {error!r}")
        if not self.keep_folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _stop_locust(self) -> None:
        if self.locust is not None and self.locust.poll() is None:
            os.killpg(self.locust.pid, signal.SIGTERM)
            try:
                self.locust.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.locust.pid, signal.SIGKILL)
                self.locust.wait()


def build_clinic(system: SystemUnderTest, clinicians: int) -> date:
    """``clinicians`` people seeing 30-minute consultations 09:00-17:00 every day, on a 30-minute grid;
    returns the first day patients search."""
    engine = create_db_engine(system.database_urls["booking"])
    try:
        builder = ClinicBuilder(make_session_factory(engine))
        type_id = builder.appointment_type("consult", 30, slot_step_minutes=30, min_notice_minutes=60, horizon_days=90)
        for number in range(clinicians):
            builder.clinician(f"Clinician {number + 1}", [type_id], (clock(9), clock(17)))
        return builder.local(FIRST_DAY, 0).date()
    finally:
        engine.dispose()


def run_locust(scratch: Scratch, args: argparse.Namespace, first_date: date) -> dict:
    """Run the patients for ``args.duration``; returns what the locustfile recorded (see its outcomes)."""
    system = scratch.system
    folder = scratch.folder / "locust"
    folder.mkdir(parents=True, exist_ok=True)
    outcomes = folder / "outcomes.json"
    command = [str(BIN / "locust"), "-f", str(LOCUSTFILE), "--headless", "-u", str(args.users),
               "-r", str(args.spawn_rate), "-t", args.duration, "--stop-timeout", str(STOP_TIMEOUT),
               "--host", system.url("booking"), "--csv", str(folder / "run"), "--only-summary", "--loglevel", "WARNING",
               "--first-date", first_date.isoformat(), "--search-days", str(args.days), "--think", args.think,
               "--outcomes-json", str(outcomes)]
    with open(system.logs / "locust.log", "ab") as log:
        scratch.locust = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                          cwd=ROOT)
    before = cpu_seconds(system)
    started = time.monotonic()
    scratch.locust.wait()
    scratch.cpu = {name: used - before.get(name, 0.0) for name, used in cpu_seconds(system).items()}
    scratch.cpu["wall"] = time.monotonic() - started
    if not outcomes.exists():
        raise RuntimeError(f"locust exited {scratch.locust.returncode} without results; see {system.logs}/locust.log")
    return json.loads(outcomes.read_text())


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine spent busy since boot (Linux /proc/stat; 0 elsewhere)."""
    try:
        ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


def cpu_seconds(system: SystemUnderTest) -> dict[str, float]:
    """CPU seconds so far of each Kapbook process (a gunicorn master with its workers), locust and the machine."""
    used = {name: sum(process_cpu_seconds(pid) for pid in (process.pid, *children_of(process.pid)))
            for name, process in system.processes.items()}
    return used | {"locust": resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
                   + resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime, "machine": machine_busy_seconds()}


def settled_bookings(system: SystemUnderTest, quiet: float = QUIET, timeout: float = 120) -> dict[str, str]:
    """Patient email -> booking id of every booking, once no new one has appeared for ``quiet`` seconds
    (a request locust gave up on may still be queued in gunicorn)."""
    deadline = time.monotonic() + timeout
    rows = system.query("booking", "SELECT patient_email, id FROM bookings WHERE status = 'booked'")
    while time.monotonic() < deadline:
        time.sleep(quiet)
        latest = system.query("booking", "SELECT patient_email, id FROM bookings WHERE status = 'booked'")
        if len(latest) == len(rows):
            break
        rows = latest
    return {email: booking_id for email, booking_id in rows}


def server_errors_in_logs(system: SystemUnderTest) -> list[str]:
    lines = []
    for service in SERVICES:
        log = system.logs / f"{service}.log"
        lines += [f"{service}: {line[:200]}" for line in log.read_text(errors="replace").splitlines()
                  if SERVER_ERROR.search(line)]
    return lines


ROUTES = {("GET", f"{API}/catalog", 200): "catalogue", ("GET", f"{API}/availability", 200): "availability",
          ("POST", f"{API}/bookings", 201): "book", ("POST", f"{API}/bookings", 409): "book (slot taken)"}


def time_in_app(system: SystemUnderTest) -> dict[str, list[float]]:
    """Milliseconds the booking service spent on each request, from its request log (no time queued in gunicorn)."""
    times: dict[str, list[float]] = {}
    for line in (system.logs / "booking.log").read_text(errors="replace").splitlines():
        if '"message": "request"' in line:
            entry = json.loads(line)
            kind = ROUTES.get((entry.get("method"), entry.get("route"), entry.get("status")))
            if kind:
                times.setdefault(kind, []).append(entry["ms"])
    return times


@dataclass
class Results:
    outcomes: dict  # statuses, times_ms and failures per request name, booked addresses, seconds
    booked: dict[str, str]  # patient email -> booking id, from the database
    cpu: dict[str, float]  # CPU seconds per process while locust ran, "machine" and "wall"
    in_app: dict[str, list[float]]  # ms in the booking service per request kind
    emails: int = 0
    email_seconds: float = 0.0
    checks: dict[str, str] = field(default_factory=dict)  # name -> "" when it holds, else what is wrong

    def statuses(self, predicate) -> int:
        return sum(n for counts in self.outcomes["statuses"].values() for status, n in counts.items()
                   if predicate(int(status)))

    @property
    def requests(self) -> int:
        return sum(len(times) for times in self.outcomes["times_ms"].values())

    @property
    def slot_taken(self) -> int:
        return self.outcomes["statuses"].get("book (slot taken)", {}).get("409", 0)

    def latencies(self, name: str) -> dict[str, float]:
        times = self.outcomes["times_ms"].get(name) or [0.0]
        return {f"p{p}": percentile(times, p / 100) for p in (50, 95, 99)} | {"max": max(times)}


def check(results: Results, name: str, verify) -> None:
    try:
        problem = verify()
    except AssertionError as error:
        problem = str(error) or "assertion failed"
    results.checks[name] = problem or ""
    say(f"check {name}: {'PASS' if not problem else 'FAIL: ' + problem}")


def wait_for_emails(system: SystemUnderTest, results: Results, load_ended: float, timeout: float = 180) -> None:
    """Wait for one email per booking, then 3 s more (a duplicate would arrive by then); note when the
    last one arrived, in seconds after ``load_ended`` (a wall-clock time)."""
    say(f"waiting for {len(results.booked)} confirmation emails")
    deadline = time.monotonic() + timeout
    while system.email_count() < len(results.booked) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3.0)
    arrivals = [path.stat().st_mtime for path in (system.maildir / "new").glob("*")]
    results.emails = len(arrivals)
    results.email_seconds = max(arrivals, default=load_ended) - load_ended


def settle_and_check(system: SystemUnderTest, results: Results, load_ended: float) -> None:
    wait_for_emails(system, results, load_ended)
    five_xx = results.statuses(lambda status: status >= 500)
    failed = sum(results.outcomes["failures"].values())
    answered_201 = set(results.outcomes["booked"])
    log_errors = server_errors_in_logs(system)
    check(results, "bookings were made", lambda: "" if results.booked else "no booking succeeded")
    check(results, "no 5xx answers", lambda: f"{five_xx} answers were 5xx" if five_xx else "")
    check(results, "no failed requests", lambda: f"{failed} failed: {results.outcomes['failures']}" if failed else "")
    check(results, "no 5xx, traceback or worker timeout in service logs",
          lambda: f"{len(log_errors)} lines, e.g. {log_errors[:3]}" if log_errors else "")
    missing = answered_201 - set(results.booked)
    check(results, "every 201 answer is a booking in the database",
          lambda: f"{len(missing)} are not, e.g. {sorted(missing)[:3]}" if missing else "")
    check(results, "no overlapping bookings", lambda: no_overlapping_bookings(system))
    check(results, "exactly one confirmation per booking",
          lambda: one_confirmation_per_booking(system, SimpleNamespace(booked=results.booked)))
    check(results, "outboxes drained, nothing dead-lettered, all healthy", lambda: settled_and_healthy(system))


def print_report(results: Results, args: argparse.Namespace) -> None:
    seconds = max(results.outcomes["seconds"], 1e-9)
    print(f"\nKapbook load: {args.users} patients for {args.duration} (spawn {args.spawn_rate:g}/s), {args.clinicians} "
          f"clinicians x {args.days} days; gunicorn as in docker-compose.yml, PostgreSQL, RabbitMQ")
    print(f"\n{'request':<20}{'count':>8}{'failed':>8}{'req/s':>8}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}"
          f"{'in app: p50':>13}{'p99':>6}   (ms)")
    for name in KINDS:
        times = results.outcomes["times_ms"].get(name, [])
        figures = "".join(f"{value:>8.0f}" if times else f"{'-':>8}" for value in results.latencies(name).values())
        in_app = sorted(results.in_app.get(name, [])) or [0.0]
        print(f"{name:<20}{len(times):>8}{results.outcomes['failures'].get(name, 0):>8}{len(times) / seconds:>8.1f}"
              f"{figures}{percentile(in_app, 0.5):>13.0f}{percentile(in_app, 0.99):>6.0f}")
    print(f"\nrequests: {results.requests} in {seconds:.0f} s ({results.requests / seconds:.1f}/s); "
          f"bookings made: {len(results.booked)} ({len(results.outcomes['booked'])} answers 201 seen by locust); "
          f"slot taken (409): {results.slot_taken}; "
          f"5xx: {results.statuses(lambda s: s >= 500)}; connection errors: {results.statuses(lambda s: s == 0)}")
    lag = results.email_seconds
    print(f"emails: {results.emails}, the last one {abs(lag):.1f} s {'after' if lag >= 0 else 'before'} locust exited")
    print(f"statuses: {json.dumps(results.outcomes['statuses'], sort_keys=True)}")
    print_cpu(results.cpu)
    print("\nchecks:")
    for name, problem in results.checks.items():
        print(f"  {'PASS' if not problem else 'FAIL'}  {name}{': ' + problem if problem else ''}")


def print_cpu(cpu: dict[str, float]) -> None:
    """Where the machine's CPU went while locust ran: the load is CPU-bound on a small machine."""
    cpu = dict(cpu)
    wall, machine = cpu.pop("wall"), cpu.pop("machine")
    cores = os.cpu_count() or 1
    ours = " + ".join(f"{name} {used:.0f}" for name, used in sorted(cpu.items(), key=lambda item: -item[1])
                      if used >= 0.5)
    print(f"CPU seconds while locust ran ({wall:.0f} s x {cores} cores = {wall * cores:.0f}): machine busy "
          f"{machine:.0f}; {ours}; the rest ({machine - sum(cpu.values()):.0f}) is PostgreSQL, RabbitMQ and "
          f"anything else running")


def as_records(results: Results, args: argparse.Namespace) -> list[dict]:
    setup = f"{args.users} patients, {args.duration}, gunicorn (compose shape), postgresql, rabbitmq"
    detail = {"users": args.users, "duration": args.duration, "database": "postgresql", "transport": "rabbitmq"}
    records = [record(f"load {label} {p}", setup, round(value, 1), "ms", **detail)
               for name, label in (("availability", "availability"), ("book", "booking"))
               for p, value in results.latencies(name).items() if p != "max"]
    failed = [name for name, problem in results.checks.items() if problem]
    return records + [
        record("load requests", setup, round(results.requests / max(results.outcomes["seconds"], 1e-9), 1), "req/s",
               **detail),
        record("load bookings made", setup, len(results.booked), "bookings", **detail),
        record("load slot taken (409)", setup, results.slot_taken, "answers", **detail),
        record("load checks failed", setup, len(failed), "checks", note=", ".join(failed) or "all pass", **detail),
    ]


def run(scratch: Scratch, args: argparse.Namespace) -> Results:
    say(f"scratch databases on {POSTGRES_URL.rsplit('@', 1)[-1]}, namespace {scratch.namespace} on RabbitMQ")
    urls = {service: scratch.database(service) for service in SERVICES}
    scratch.system = system = ComposeShapedSystem(scratch.folder, urls, AMQP_URL, scratch.namespace)
    say("migrating")
    system.migrate()
    first_date = build_clinic(system, args.clinicians)
    say("starting gunicorn (compose shape: " + ", ".join(f"{s} {'x'.join(gunicorn_shape(s))}" for s in SERVICES)
        + "), the workers and an SMTP sink")
    system.start()
    say(f"locust: {args.users} patients for {args.duration}")
    outcomes = run_locust(scratch, args, first_date)
    load_ended = time.time()
    results = Results(outcomes, settled_bookings(system), scratch.cpu, time_in_app(system))
    settle_and_check(system, results, load_ended)
    return results


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200, help="concurrent patients (default 200)")
    parser.add_argument("--spawn-rate", type=float, default=20, help="patients started per second (default 20)")
    parser.add_argument("--duration", default="60s", help="locust run time, e.g. 60s or 2m (default 60s)")
    parser.add_argument("--clinicians", type=int, default=24, help="clinicians in the clinic (default 24)")
    parser.add_argument("--days", type=int, default=21, help="days ahead patients spread their searches over")
    parser.add_argument("--think", default="0.5,2", help="seconds a patient waits between steps: MIN,MAX")
    parser.add_argument("--keep", action="store_true", help="keep the folder with logs, mail and locust CSVs")
    add_json_option(parser)
    return parser.parse_args()


def _interrupt(signum, _frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    args = parse_args()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    scratch = Scratch(Path(tempfile.mkdtemp(prefix="kapbook-load-")), keep_folder=args.keep)
    try:
        results = run(scratch, args)
        failed = any(results.checks.values())
        scratch.keep_folder |= failed
        print_report(results, args)
        write_json(args.json, as_records(results, args))
        if scratch.keep_folder:
            say(f"logs, mail and locust CSVs kept in {scratch.folder}")
        return 1 if failed else 0
    except KeyboardInterrupt as stop:
        scratch.keep_folder = True
        say(f"interrupted ({stop}); logs kept in {scratch.folder}")
        return 130
    except BaseException:
        scratch.keep_folder = True
        say(f"failed; logs kept in {scratch.folder}")
        raise
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not leave databases behind
        say("cleaning up (up to 30 s)")
        scratch.close()


if __name__ == "__main__":
    sys.exit(main())
