"""Patients searching and booking, for locust (run by bench/load/run_load.py, in its own process).

Each patient opens the catalogue once, then over and over: asks for a few days of free slots in
their own time zone (most want the earliest days), picks one (often among the first times shown,
as people do) and books it with an Idempotency-Key and their own email address. A 409 means
someone else was faster: a normal outcome, reported as "book (slot taken)"; after a moment the
patient looks at the same days again and picks another time. Every 5xx, connection error or other
unexpected answer is a failure. One search and one booking per task, so a stopping run waits for
at most those two answers.

Not collected by pytest (testpaths = tests) and never imported by it: locust patches with gevent.
"""
from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter, defaultdict
from datetime import date, timedelta

from locust import FastHttpUser, between, events, task

API = "/api/booking/v1"
ZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/Berlin")
SEARCH_DAYS = 3  # days of one availability request
EARLIEST = 10  # "the first times shown"

# Per request name: statuses, response times (ms) and failures; and the addresses answered 201.
# Written when locust quits, after the users stopped (its CSV is written before they finish).
STATUSES: defaultdict[str, Counter] = defaultdict(Counter)
TIMES: defaultdict[str, list[float]] = defaultdict(list)
FAILURES: Counter = Counter()
BOOKED: list[str] = []
CLOCK: dict[str, float] = {}


@events.init_command_line_parser.add_listener
def _options(parser) -> None:
    group = parser.add_argument_group("Kapbook patients")
    group.add_argument("--appointment-type", default="consult", help="code of the type to book")
    group.add_argument("--first-date", default="", help="first day patients search (YYYY-MM-DD; default in 4 days)")
    group.add_argument("--search-days", type=int, default=21, help="days from the first date patients spread over")
    group.add_argument("--think", default="0.5,2", help="seconds a patient waits between steps: MIN,MAX")
    group.add_argument("--outcomes-json", default="", help="write status counts and booked addresses here on exit")


@events.request.add_listener
def _count(name, response, response_time, exception, **_) -> None:
    STATUSES[name][str(getattr(response, "status_code", None) or 0)] += 1
    TIMES[name].append(round(response_time, 2))
    FAILURES[name] += exception is not None
    CLOCK["last"] = time.time()


@events.test_start.add_listener
def _started(**_) -> None:
    CLOCK["started"] = time.time()


@events.quitting.add_listener
def _write_outcomes(environment, **_) -> None:
    path = environment.parsed_options.outcomes_json if environment.parsed_options else ""
    if path:
        with open(path, "w") as file:
            json.dump({"statuses": {name: dict(counts) for name, counts in STATUSES.items()}, "times_ms": TIMES,
                       "failures": FAILURES, "booked": BOOKED,
                       "seconds": CLOCK.get("last", 0.0) - CLOCK.get("started", 0.0)}, file)


class Patient(FastHttpUser):
    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.type_code = options.appointment_type
        self.first = date.fromisoformat(options.first_date) if options.first_date else date.today() + timedelta(days=4)
        self.spread = max(1, options.search_days - SEARCH_DAYS + 1)
        self.think = between(*(float(seconds) for seconds in options.think.split(",")))
        self.zone = random.choice(ZONES)
        self.window: date | None = None  # the days shown after a 409, searched again
        self.client.get(f"{API}/catalog", name="catalogue")

    def wait_time(self) -> float:
        return self.think(self)

    @task
    def search_and_book(self) -> None:
        start = self.window or self.first + timedelta(days=min(self.spread - 1, int(random.expovariate(1 / 3))))
        slots = self.search(start)
        if not slots:
            self.window = start + timedelta(days=SEARCH_DAYS)  # as the widget does: look further ahead
            return
        self.window = start if self.book(pick(slots)) == 409 else None

    def search(self, start: date) -> list[dict]:
        end = start + timedelta(days=SEARCH_DAYS - 1)
        query = f"appointment_type={self.type_code}&start={start}&end={end}&timezone={self.zone}"
        with self.client.get(f"{API}/availability?{query}", name="availability", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"availability answered {response.status_code}")
                return []
            return response.json()["slots"]

    def book(self, slot: dict) -> int:
        """Book ``slot``; returns the status."""
        email = f"p-{uuid.uuid4().hex[:16]}@load.example"
        body = {"appointment_type": self.type_code, "start": slot["start"], "clinician_id": slot["clinician_id"],
                "patient": {"name": "Load Patient", "email": email, "timezone": self.zone}}
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        with self.client.post(f"{API}/bookings", json=body, headers=headers, name="book",
                              catch_response=True) as response:
            if response.status_code == 201:
                BOOKED.append(email)
            elif response.status_code == 409:
                response.request_meta["name"] = "book (slot taken)"
                response.success()
            else:
                response.failure(f"booking answered {response.status_code}: {(response.text or '')[:200]}")
            return response.status_code


def pick(slots: list[dict]) -> dict:
    """Half the patients take one of the first times shown, the others any time in the window."""
    return random.choice(slots[:EARLIEST] if random.random() < 0.5 else slots)
