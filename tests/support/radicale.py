"""A real CalDAV server for tests: Radicale, with a password-protected user.

``.ci/run`` starts one on port 5232 the way it starts PostgreSQL and names it in
KAPBOOK_TEST_CALDAV_URL (with KAPBOOK_TEST_CALDAV_USER / KAPBOOK_TEST_CALDAV_PASSWORD); without
it the tests start their own on a free port (Radicale is a test dependency, so it is always there).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import caldav
import icalendar
import requests

from support.pipeline import free_port

CONFIG = """\
[server]
hosts = 127.0.0.1:{port}

[auth]
type = htpasswd
htpasswd_filename = {folder}/users
htpasswd_encryption = plain
delay = 0

[rights]
type = owner_only

[storage]
filesystem_folder = {folder}/collections

[logging]
level = warning
"""


@dataclass
class Radicale:
    base_url: str
    username: str
    password: str
    process: subprocess.Popen | None = None
    folder: Path | None = None
    calendars: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, username: str = "clinician", password: str = "radicale-test-password") -> Radicale:
        """Start a private server (stopped by ``stop``) and wait until it answers."""
        folder = Path(tempfile.mkdtemp(prefix="kapbook-radicale-"))
        (folder / "users").write_text(f"{username}:{password}\n")
        port = free_port()
        (folder / "config").write_text(CONFIG.format(port=port, folder=folder))
        process = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(folder / "config")],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        server = cls(f"http://127.0.0.1:{port}/", username, password, process, folder)
        server.wait_until_up()
        return server

    @classmethod
    def from_environment(cls) -> Radicale | None:
        url = os.environ.get("KAPBOOK_TEST_CALDAV_URL", "")
        if not url:
            return None
        return cls(url, os.environ.get("KAPBOOK_TEST_CALDAV_USER", "ci"), os.environ.get("KAPBOOK_TEST_CALDAV_PASSWORD", ""))

    def wait_until_up(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"Radicale exited: {self.process.stderr.read().decode()[-2000:]}")
            try:
                requests.get(self.base_url, timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError(f"Radicale did not answer at {self.base_url} within {timeout} s")

    def client(self) -> caldav.DAVClient:
        return caldav.DAVClient(url=self.base_url, username=self.username, password=self.password)

    def new_calendar(self, name: str) -> tuple[str, caldav.Calendar]:
        """A new, empty calendar of the test user (a unique name: the CI server is shared): its
        collection URL and the caldav library's handle to it."""
        calendar = self.client().principal().make_calendar(name=f"{name}-{uuid.uuid4().hex[:8]}")
        url = str(calendar.url)
        self.calendars.append(url)
        return url, calendar

    @staticmethod
    def add_event(calendar: caldav.Calendar, start: datetime, end: datetime, summary: str, **properties) -> str:
        """Save an event with the caldav library (built as iCalendar text: caldav 1.6's keyword form
        does not run on icalendar 7); returns its UID."""
        uid = f"{uuid.uuid4()}@test.example"
        event = icalendar.Event()
        for name, value in {"uid": uid, "dtstamp": datetime.now(timezone.utc), "dtstart": start, "dtend": end,
                            "summary": summary, **properties}.items():
            event.add(name, value)
        vcalendar = icalendar.Calendar()
        vcalendar.add("prodid", "-//Kapbook tests//EN")
        vcalendar.add("version", "2.0")
        vcalendar.add_component(event)
        vcalendar.add_missing_timezones()
        calendar.save_event(vcalendar.to_ical().decode())
        return uid

    def stop(self) -> None:
        """Stop a private server; on a shared one, delete the calendars this run made."""
        if self.process is None:
            for url in self.calendars:
                requests.delete(url, auth=(self.username, self.password), timeout=5)
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
