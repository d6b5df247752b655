"""Several dispatchers at once never send one message twice (PostgreSQL: SKIP LOCKED; SQLite: BEGIN IMMEDIATE)."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kapbook_reminders.service_layer.dispatch import LEASE, Dispatcher
from reminders_harness import Harness, reminders_config

pytestmark = pytest.mark.integration

WORKER = Path(__file__).with_name("dispatch_worker.py")
BOOKINGS = 240


@pytest.fixture
def loaded(tmp_path, db, database_factory, sink):
    """A service with BOOKINGS confirmations due now (real time: the racers run on the real clock)."""
    now = datetime.now(UTC)
    harness = Harness.build(tmp_path, database_factory("reminders"), now, sink)
    for number in range(BOOKINGS):
        harness.book(f"b-race-{number:04d}", now + timedelta(days=5), category="consultation", minutes=30,
                     email=f"patient{number:04d}@example.org")
    yield harness
    harness.close()


def assert_each_sent_exactly_once(harness) -> None:
    received = harness.sink.messages()
    by_id = Counter(message["Message-ID"] for message in received)
    duplicates = {message_id: n for message_id, n in by_id.items() if n > 1}
    assert not duplicates, f"sent more than once: {duplicates}"
    assert len(received) == BOOKINGS
    assert {m["To"].addresses[0].addr_spec for m in received} == {f"patient{n:04d}@example.org" for n in range(BOOKINGS)}
    confirmations = [row for row in harness.rows() if row["kind"] == "confirmation"]
    assert Counter(row["status"] for row in confirmations) == {"sent": BOOKINGS}
    assert {row["smtp_message_id"] for row in confirmations} == set(by_id)


def test_two_dispatcher_processes_send_each_message_exactly_once(loaded, tmp_path):
    config = reminders_config(tmp_path, loaded.container.config.database_url, loaded.sink.port, dispatch_batch=8)
    settings = {name: str(value) if isinstance(value, Path) else value for name, value in vars(config).items()}
    go = tmp_path / "go"
    racers = [
        subprocess.Popen([sys.executable, str(WORKER), json.dumps(settings), str(go), "2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for racer in racers:
        assert racer.stdout.readline().strip() == "ready"
    go.touch()  # both processes start claiming at the same moment
    outputs = [racer.communicate(timeout=120) for racer in racers]

    for racer, (_, stderr) in zip(racers, outputs):
        assert racer.returncode == 0, stderr
    claims = [json.loads(stdout)["claimed"] for stdout, _ in outputs]
    assert sum(map(sum, claims)) == BOOKINGS, f"claims per dispatcher: {claims}"
    assert all(sum(per_process) > 0 for per_process in claims), f"both processes took part: {claims}"
    assert_each_sent_exactly_once(loaded)


def test_dispatcher_threads_in_one_process_send_each_message_exactly_once(loaded):
    loaded.clock.set(datetime.now(UTC))
    base = loaded.container.dispatcher
    racers = [Dispatcher(base.store, base.sender, base.compose, loaded.clock, batch_size=5) for _ in range(4)]
    start = threading.Barrier(len(racers))
    claimed = [0] * len(racers)

    def race(index: int) -> None:
        start.wait()
        while count := racers[index].dispatch_due():
            claimed[index] += count

    threads = [threading.Thread(target=race, args=(index,)) for index in range(len(racers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sum(claimed) == BOOKINGS, claimed
    assert_each_sent_exactly_once(loaded)


def test_a_slow_dispatcher_whose_lease_was_taken_over_sends_nothing(loaded):
    fast = loaded.container.dispatcher
    slow = Dispatcher(fast.store, fast.sender, fast.compose, loaded.clock, batch_size=BOOKINGS)
    slow_claim = slow.claim()
    assert len(slow_claim) == BOOKINGS

    loaded.clock.advance(LEASE + timedelta(seconds=1))  # the slow one stalled past its lease
    assert fast.dispatch_all_due() == BOOKINGS  # another dispatcher takes the abandoned messages over
    slow.send(slow_claim)  # the slow one wakes up and carries on with its old claim

    assert_each_sent_exactly_once(loaded)
