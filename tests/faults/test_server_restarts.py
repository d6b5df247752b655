"""RabbitMQ and PostgreSQL restart while patients are booking; nobody lifts a finger afterwards.

The system runs as in production (gunicorn, workers, PostgreSQL, RabbitMQ, an SMTP server).
Afterwards every booking has exactly one confirmation at the SMTP server, every outbox is
drained, nothing was dead-lettered, and every process is alive, ready and beating.
"""
from __future__ import annotations

import json
import time

from kombu import Connection

from support.fault_checks import (
    every_booking_made,
    no_overlapping_bookings,
    one_confirmation_per_booking,
    settled_and_healthy,
    wait_for_emails,
)
from kapbook_platform.messaging.topology import Topology
from support.patients import BookingBurst, distinct_slots
from support.waiting import wait_for

BURST = 1000


def test_rabbitmq_restart_during_a_burst_of_1000_bookings(system, clinic, private_rabbitmq):
    system.start()
    burst = BookingBurst(system.url("booking"), distinct_slots(clinic, BURST)).start()
    wait_for(lambda: burst.done >= 150, timeout=60)

    private_rabbitmq.stop()
    stopped_at = burst.done
    time.sleep(1.0)
    private_rabbitmq.start()

    burst.join()
    every_booking_made(burst, BURST)
    assert stopped_at < BURST, "the broker must go down in the middle of the burst"
    wait_for_emails(system, BURST)
    one_confirmation_per_booking(system, burst)
    no_overlapping_bookings(system)
    settled_and_healthy(system)


def test_postgresql_restart_under_load(system, clinic, private_postgres):
    system.start()
    burst = BookingBurst(system.url("booking"), distinct_slots(clinic, 600)).start()
    wait_for(lambda: burst.done >= 150, timeout=60)

    private_postgres.stop("fast")
    down_at = burst.done
    time.sleep(3.0)  # patients keep trying: they get 503 and try again
    private_postgres.start()

    burst.join()
    every_booking_made(burst, 600)
    assert down_at < 600, "the database must go down in the middle of the burst"
    assert burst.statuses[503] + burst.statuses["connection error"] > 0, "the outage was never noticed"
    wait_for_emails(system, 600)
    one_confirmation_per_booking(system, burst)
    no_overlapping_bookings(system)
    settled_and_healthy(system)


def test_a_poison_event_is_dead_lettered_while_bookings_flow(system, clinic, private_rabbitmq):
    """Not a Kapbook event at all, on the reminders queue: parked in the dead-letter queue, the rest flows."""
    system.start()
    topology = Topology(namespace=system.namespace, quorum=True)
    with Connection(private_rabbitmq.url) as connection:
        connection.Producer().publish(
            json.dumps({"specversion": "1.0", "type": "kapbook.booking.created.v1", "data": "not an object"}),
            exchange=topology.events_exchange, routing_key="booking.created.v1", content_type="application/json",
            content_encoding="utf-8")
        connection.Producer().publish(b"\x80\x04 pickle?", exchange=topology.events_exchange,
                                      routing_key="booking.created.v1", content_type="application/x-python-serialize",
                                      content_encoding="binary")
    burst = BookingBurst(system.url("booking"), distinct_slots(clinic, 50)).start().join()
    every_booking_made(burst, 50)
    wait_for_emails(system, 50)
    one_confirmation_per_booking(system, burst)

    wait_for(lambda: system.dead_letters()["reminders"] == 2, timeout=30)
    with Connection(private_rabbitmq.url) as connection:
        parked = connection.default_channel.queue_declare(topology.dead_letter_queue.name, passive=True).message_count
    assert parked == 2
    assert system.pending_outbox() == {"booking": 0, "eligibility": 0, "reminders": 0}
    system.wait_until_healthy()
