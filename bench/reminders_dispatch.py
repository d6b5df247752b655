"""Dispatch throughput of the reminders service to a local SMTP sink.

Plans N bookings whose confirmations (the heaviest email: text, HTML and a calendar
invite) are all due, then starts 1 or more dispatcher processes at the same moment,
each as ``kapbook-reminders worker --no-consume`` would run it, and times until the last
email was accepted. The SMTP sink is aiosmtpd writing a Maildir, in its own process.
Every email is counted at the sink by Message-ID: each must arrive exactly once.
CPU ms/email (the dispatchers' CPU time per email) and the sink's show what the figure
would be on idle cores when the machine is shared.

The reference, in the same run and to the same sink: the physical limit, the same emails
composed beforehand and sent as bytes by bare smtplib over one connection (no database,
no composing). Aims (issue 16 §2): one dispatcher >= 60 % of that rate and >= 150 emails/s,
<= 5 CPU ms per email.

    .venv/bin/python bench/reminders_dispatch.py [--messages 2000] [--dispatchers 1,2] [--json PATH]

SQLite always; PostgreSQL too when KAPBOOK_TEST_POSTGRES_URL is set (a scratch database
is created and dropped).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import smtplib
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.generator import BytesGenerator
from email.parser import BytesHeaderParser
from pathlib import Path

from sqlalchemy import create_engine, func, select

from kapbook_platform.contracts import EventType, make_envelope
from kapbook_reminders.adapters import tables as t
from kapbook_reminders.bootstrap import bootstrap
from kapbook_reminders.config import RemindersConfig

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # support.scratch: the test helpers

from figures import add_json_option, record, write_json  # noqa: E402
from processes import free_port, process_cpu_seconds, wait_for_port  # noqa: E402
from support.scratch import fresh_postgres_database  # noqa: E402

IDLE_ROUNDS_TO_STOP = 10


def booking_event(number: int, start: datetime) -> dict:
    booking_id = str(uuid.uuid4())
    return {
        "booking_id": booking_id,
        "sequence": 0,
        "status": "booked",
        "appointment_type": {"code": "iv-ketamine-infusion", "name": "IV ketamine infusion", "category": "dosing_iv",
                             "modality": "in_person"},
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=105)).isoformat(),
        "location": {"id": "loc-1", "name": "Harbor Clinic Downtown", "timezone": "America/New_York",
                     "address": "100 Harbor Street, New York, NY 10004"},
        "clinician": {"id": "clin-1", "name": "Dr Sam Rivera"},
        "patient": {"name": f"Patient {number}", "email": f"patient{number}@example.org", "timezone": "America/Chicago"},
        "manage_url": f"https://book.clinic.example/manage/{booking_id}",
        "cancellation_notice_hours": 24,
    }


def config_for(tmp: Path, database_url: str, smtp_port: int) -> dict:
    return {"env": "test", "var_dir": str(tmp), "database_url": database_url, "smtp_port": smtp_port,
            "broker_url": f"filesystem://{tmp / 'broker'}", "public_base_url": "https://book.clinic.example",
            "log_level": "WARNING", "dispatch_batch": 50}


def plan(config: dict, count: int) -> None:
    """Store ``count`` bookings through the planner; each one's confirmation is due at once."""
    container = bootstrap(RemindersConfig(**(config | {"var_dir": Path(config["var_dir"])})))
    container.migrate()
    start = datetime.now(UTC) + timedelta(days=5)
    for number in range(count):
        envelope = make_envelope(EventType.BOOKING_CREATED, "/kapbook/booking", booking_event(number, start))
        with container.runtime.sessions.begin() as session:
            container.planner.on_booking_event(session, envelope)
    container.runtime.engine.dispose()


def worker(config_json: str, go_file: str) -> None:
    """One dispatcher process: wait for the start signal, send until nothing is due."""
    config = json.loads(config_json)
    container = bootstrap(RemindersConfig(**(config | {"var_dir": Path(config["var_dir"])})))
    print("ready", flush=True)
    while not Path(go_file).exists():
        time.sleep(0.001)
    claimed, idle, cpu = 0, 0, time.process_time()
    while idle < IDLE_ROUNDS_TO_STOP:
        count = container.dispatcher.dispatch_due()
        claimed, idle = claimed + count, 0 if count else idle + 1
        if not count:
            time.sleep(0.01)
    print(json.dumps({"claimed": claimed, "cpu": time.process_time() - cpu}), flush=True)


def prebuilt(config: dict) -> list[tuple[str, str, bytes]]:
    """The due emails, composed now as the dispatcher would, as (sender, recipient, bytes) for bare smtplib."""
    container = bootstrap(RemindersConfig(**(config | {"var_dir": Path(config["var_dir"])})))
    now = datetime.now(UTC)
    with container.runtime.engine.connect() as connection:
        rows = [dict(row) for row in connection.execute(select(t.messages).where(t.messages.c.status == "scheduled")).mappings()]
    emails = []
    for row in rows:
        email = container.dispatcher.compose(row, now)
        buffer = io.BytesIO()
        BytesGenerator(buffer).flatten(email, linesep="\r\n")  # as smtplib's send_message does
        emails.append((email["From"].addresses[0].addr_spec, row["recipient"], buffer.getvalue()))
    container.runtime.engine.dispose()
    return emails


def bare_smtplib(emails: list[tuple[str, str, bytes]], smtp_port: int, maildir: Path) -> dict:
    """The physical limit: prebuilt emails sent by smtplib over one connection, timed until the last reply."""
    empty(maildir)
    cpu, started = time.process_time(), time.perf_counter()
    with smtplib.SMTP("127.0.0.1", smtp_port) as smtp:
        for sender, recipient, data in emails:
            smtp.sendmail(sender, [recipient], data)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    arrived = len(read_message_ids(maildir))
    empty(maildir)
    if arrived != len(emails):
        raise SystemExit(f"bare smtplib: {arrived} of {len(emails)} emails arrived")
    return {"rate": len(emails) / seconds, "cpu_ms": cpu / len(emails) * 1000}


def run(tmp: Path, database_url: str, count: int, dispatchers: int, smtp_port: int, sink_pid: int, maildir: Path) -> dict:
    config = config_for(tmp, database_url, smtp_port)
    plan(config, count)
    reference = bare_smtplib(prebuilt(config), smtp_port, maildir)
    go = tmp / f"go-{uuid.uuid4().hex}"
    processes = [
        subprocess.Popen([sys.executable, __file__, "--worker", json.dumps(config), str(go)],
                         stdout=subprocess.PIPE, text=True)
        for _ in range(dispatchers)
    ]
    for process in processes:
        if process.stdout.readline().strip() != "ready":
            raise SystemExit("a dispatcher process failed to start")
    sink_cpu = process_cpu_seconds(sink_pid)
    started = datetime.now(UTC)
    go.touch()
    reports = [json.loads(process.communicate(timeout=600)[0]) for process in processes]
    sink_cpu = process_cpu_seconds(sink_pid) - sink_cpu
    engine = create_engine(database_url)
    with engine.connect() as connection:
        last_sent = connection.execute(select(func.max(t.messages.c.sent_at))).scalar()
        statuses = dict(connection.execute(select(t.messages.c.status, func.count()).group_by(t.messages.c.status)).all())
    engine.dispose()
    last_sent = last_sent if last_sent.tzinfo else last_sent.replace(tzinfo=UTC)
    seconds = (last_sent - started).total_seconds()
    message_ids = Counter(read_message_ids(maildir))
    return {
        "claims": [report["claimed"] for report in reports],
        "cpu_ms": sum(report["cpu"] for report in reports) / count * 1000,
        "sink_cpu_ms": sink_cpu / count * 1000,
        "seconds": seconds,
        "rate": count / seconds,
        "arrived": sum(message_ids.values()),
        "duplicates": sum(n - 1 for n in message_ids.values()),
        "sent": statuses.get("sent", 0),
        "bare_rate": reference["rate"],
        "bare_cpu_ms": reference["cpu_ms"],
        "ratio": count / seconds / reference["rate"] * 100,
    }


def read_message_ids(maildir: Path) -> list[str]:
    parser = BytesHeaderParser()
    return [parser.parsebytes(path.read_bytes())["Message-ID"] for path in (maildir / "new").iterdir()]


def empty(maildir: Path) -> None:
    for path in (maildir / "new").iterdir():
        path.unlink()


def as_records(backend: str, dispatchers: int, count: int, result: dict, exactly_once: bool) -> list[dict]:
    """Rate, ratio to bare smtplib and CPU per email of one run, and the bare smtplib rate it is compared with."""
    setup = f"{backend}, {dispatchers} dispatcher process(es), {count} confirmations with invites, aiosmtpd sink"
    detail = {"database": backend, "dispatchers": dispatchers, "messages": count, "exactly_once": exactly_once}
    once = "" if exactly_once else "NOT exactly once"
    return [
        record("email dispatch rate", setup, round(result["rate"], 1), "emails/s", **detail,
               note="; ".join(filter(None, (f"{result['cpu_ms']:.1f} CPU ms/email", once)))),
        record("email dispatch / bare smtplib", setup, round(result["ratio"], 1), "%", **detail,
               note=f"bare smtplib {result['bare_rate']:.0f} emails/s"),
        record("email dispatch CPU per email", setup, round(result["cpu_ms"], 2), "ms", **detail),
        record("bare smtplib rate", f"{backend}, same {count} emails prebuilt, one connection, same sink",
               round(result["bare_rate"], 1), "emails/s", database=backend, dispatchers=dispatchers,
               note=f"{result['bare_cpu_ms']:.2f} CPU ms/email"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--dispatchers", default="1,2", help="comma-separated numbers of dispatcher processes")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    add_json_option(parser)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    counts = [int(part) for part in args.dispatchers.split(",")]
    postgres_url = os.environ.get("KAPBOOK_TEST_POSTGRES_URL", "")
    with tempfile.TemporaryDirectory(prefix="kapbook-bench-") as folder:
        tmp = Path(folder)
        maildir, port = tmp / "mail", free_port()
        sink = subprocess.Popen([sys.executable, "-m", "kapbook_platform.mailsink", "--port", str(port),
                                 "--maildir", str(maildir)], stdout=subprocess.DEVNULL)
        failures, records = 0, []
        try:
            wait_for_port(port)
            print(f"{args.messages} due confirmations (text + HTML + invite), aiosmtpd Maildir sink in its own "
                  f"process, {os.cpu_count()} CPUs")
            print("  aims: one dispatcher >= 60 % of bare smtplib and >= 150 emails/s; <= 5 CPU ms/email")
            print(f"  {'database':10s} {'dispatchers':>11s} {'seconds':>8s} {'emails/s':>9s} {'bare/s':>7s} {'ratio':>6s} "
                  f"{'arrived':>8s} {'duplicates':>10s} {'CPU ms/email':>12s} {'sink CPU':>9s}  claims per dispatcher")
            backends = [("sqlite", None)] + ([("postgresql", postgres_url)] if postgres_url else [])
            for backend, admin_url in backends:
                for dispatchers in counts:
                    if admin_url:
                        url, drop = fresh_postgres_database(admin_url, "kb_bench")
                    else:
                        url, drop = f"sqlite:///{tmp / f'reminders-{dispatchers}.db'}", (lambda: None)
                    try:
                        result = run(tmp, url, args.messages, dispatchers, port, sink.pid, maildir)
                    finally:
                        drop()
                    ok = result["arrived"] == result["sent"] == args.messages and not result["duplicates"]
                    failures += not ok
                    records += as_records(backend, dispatchers, args.messages, result, ok)
                    print(f"  {backend:10s} {dispatchers:>11d} {result['seconds']:>8.2f} {result['rate']:>9.1f} "
                          f"{result['bare_rate']:>7.1f} {result['ratio']:>5.1f}% {result['arrived']:>8d} {result['duplicates']:>10d} {result['cpu_ms']:>12.2f} "
                          f"{result['sink_cpu_ms']:>9.2f}  {result['claims']}"
                          f"{'' if ok else '  <-- NOT exactly once'}")
        finally:
            sink.terminate()
            sink.wait(timeout=10)
    write_json(args.json, records)
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
