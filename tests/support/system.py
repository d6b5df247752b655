"""The whole system as real processes: each service under gunicorn, the workers, an SMTP sink.

This is the production shape (``docker compose up`` runs the same commands), started from the
test process on real databases and a real broker, with every process's output in its own log
file. Tests kill, restart and inspect the processes; ``processes`` maps a name to its Popen.
"""
from __future__ import annotations

import mailbox
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import requests
from sqlalchemy import create_engine, func, select, text

from kapbook_platform.messaging.tables import dead_letter_table, outbox_table
from kapbook_platform.heartbeat import is_fresh
from support.servers import free_port

BIN = Path(sys.executable).parent
SERVICES = ("booking", "eligibility", "reminders")
# Worker threads per gunicorn process, as in deploy/Procfile.dev.
GUNICORN = {"booking": ("2", "4"), "eligibility": ("1", "4"), "reminders": ("1", "4")}


@dataclass
class SystemUnderTest:
    """Kapbook's processes on the given databases (one URL per service) and broker."""

    folder: Path
    database_urls: Mapping[str, str]
    broker_url: str
    namespace: str
    extra_env: Mapping[str, str] = field(default_factory=dict)
    smtp_port: int = field(default_factory=free_port)
    ports: dict[str, int] = field(default_factory=lambda: {service: free_port() for service in SERVICES})
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def maildir(self) -> Path:
        return self.folder / "mail"

    @property
    def logs(self) -> Path:
        return self.folder / "logs"

    @property
    def environment(self) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("KAPBOOK_", "BOOKING_", "ELIGIBILITY_",
                                                                               "REMINDERS_", "SMTP_"))}
        return inherited | {
            "KAPBOOK_ENV": "test",
            "KAPBOOK_VAR_DIR": str(self.folder / "var"),
            "KAPBOOK_BROKER_URL": self.broker_url,
            "KAPBOOK_BROKER_NAMESPACE": self.namespace,
            "KAPBOOK_PUBLIC_URL": self.url("booking"),
            "KAPBOOK_LOG_LEVEL": "INFO",
            "BOOKING_DATABASE_URL": self.database_urls["booking"],
            "ELIGIBILITY_DATABASE_URL": self.database_urls["eligibility"],
            "REMINDERS_DATABASE_URL": self.database_urls["reminders"],
            "BOOKING_ELIGIBILITY_URL": self.url("eligibility"),
            "BOOKING_REMINDERS_URL": self.url("reminders"),
            "SMTP_PORT": str(self.smtp_port),
        } | dict(self.extra_env)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    # -- processes -------------------------------------------------------------------------

    def migrate(self) -> SystemUnderTest:
        for service in SERVICES:
            subprocess.run([str(BIN / f"kapbook-{service}"), "migrate"], env=self.environment, check=True,
                           capture_output=True, timeout=120)
        return self

    def spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        """Start one process; its stdout and stderr go to ``logs/<name>.log``."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log = open(self.logs / f"{name}.log", "ab")
        process = subprocess.Popen(command, env=self.environment, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        log.close()
        self.processes[name] = process
        return process

    def start_mail_sink(self) -> None:
        self.spawn("smtp-sink", [str(BIN / "python"), "-m", "kapbook_platform.mailsink", "--port", str(self.smtp_port),
                                 "--maildir", str(self.maildir)])

    def start_service(self, service: str) -> None:
        workers, threads = GUNICORN[service]
        self.spawn(service, [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.ports[service]}", "--workers", workers,
                             "--threads", threads, "--graceful-timeout", "5",
                             f"kapbook_{service}.entrypoints.wsgi:create_app()"])

    def start_worker(self, service: str, *options: str, name: str | None = None) -> subprocess.Popen:
        return self.spawn(name or f"{service}-worker", [str(BIN / f"kapbook-{service}"), "worker", *options])

    def start(self, services: Iterable[str] = SERVICES, mail_sink: bool = True) -> SystemUnderTest:
        """Start the services and their workers (and the SMTP sink), then wait until all are ready."""
        services = tuple(services)
        if mail_sink:
            self.start_mail_sink()
        for service in services:
            self.start_service(service)
            self.start_worker(service)
        self.wait_until_healthy(services)
        return self

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        os.killpg(process.pid, signum)
        process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM every process (each stops cleanly), SIGKILL what is still running after 20 s."""
        stopping = [self.processes.pop(name) for name in list(self.processes)]
        for process in stopping:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in stopping:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    # -- health ----------------------------------------------------------------------------

    def dead_processes(self) -> dict[str, int]:
        return {name: process.returncode for name, process in self.processes.items() if process.poll() is not None}

    def ready(self, service: str) -> bool:
        try:
            return requests.get(f"{self.url(service)}/readyz", timeout=3).status_code == 200
        except requests.RequestException:
            return False

    def workers_beating(self, services: Iterable[str]) -> bool:
        heartbeats = self.folder / "var" / "heartbeats"
        return all(is_fresh(heartbeats / service, max_age=5) for service in services)

    def healthy(self, services: Iterable[str] = SERVICES) -> bool:
        services = tuple(services)
        return not self.dead_processes() and all(self.ready(s) for s in services) and self.workers_beating(services)

    def wait_until_healthy(self, services: Iterable[str] = SERVICES, timeout: float = 60) -> None:
        services = tuple(services)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if dead := self.dead_processes():
                raise AssertionError(f"processes exited: {dead}; logs in {self.logs}\n{self.tail_logs()}")
            if self.healthy(services):
                return
            time.sleep(0.2)
        raise AssertionError(f"system not healthy within {timeout:.0f} s; logs in {self.logs}\n{self.tail_logs()}")

    def tail_logs(self, lines: int = 15) -> str:
        parts = []
        for log in sorted(self.logs.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(parts)

    # -- what the system did ---------------------------------------------------------------

    def emails(self) -> list[EmailMessage]:
        if not (self.maildir / "new").exists():
            return []
        box = mailbox.Maildir(self.maildir, create=False)
        return [message_from_bytes(box.get_bytes(key), policy=policy.default) for key in box.keys()]

    def email_count(self) -> int:
        folder = self.maildir / "new"
        return sum(1 for _ in folder.iterdir()) if folder.exists() else 0

    def pending_outbox(self) -> dict[str, int]:
        """Events not yet published, per service."""
        return {service: self._count(service, outbox_table, lambda table: table.c.published_at.is_(None))
                for service in SERVICES}

    def dead_letters(self) -> dict[str, int]:
        return {service: self._count(service, dead_letter_table) for service in SERVICES}

    def _count(self, service: str, make_table, where=None) -> int:
        from sqlalchemy import MetaData

        table = make_table(MetaData())
        query = select(func.count()).select_from(table)
        if where is not None:
            query = query.where(where(table))
        engine = create_engine(self.database_urls[service])
        try:
            with engine.connect() as connection:
                return connection.execute(query).scalar_one()
        finally:
            engine.dispose()

    def query(self, service: str, sql: str, **params) -> list:
        engine = create_engine(self.database_urls[service])
        try:
            with engine.connect() as connection:
                return list(connection.execute(text(sql), params))
        finally:
            engine.dispose()
