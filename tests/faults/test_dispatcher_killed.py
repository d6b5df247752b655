"""kill -9 of a reminders dispatcher in the middle of a batch.

The SMTP server here is aiosmtpd with a gate: after a number of emails it stops answering RCPT,
so every SMTP session of the dispatcher is waiting on the server when the process is killed —
a batch half sent, the rest claimed and leased. A new dispatcher takes the abandoned messages
over once the lease (DISPATCH_LEASE, 5 s here) has passed, and sends each exactly once.

Why the gate: between the server accepting a message (250 after DATA) and the dispatcher
recording it, a crash cannot be told apart from a lost message, and the message is sent again
(same Message-ID, so mail clients can fold the two). Every other instant of a batch is what
this test covers; that window, a few milliseconds per message, is the known limit.
"""
from __future__ import annotations

import asyncio
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from support.fault_checks import (
    every_booking_made,
    one_confirmation_per_booking,
    settled_and_healthy,
    wait_for_emails,
)
from support.patients import BookingBurst, distinct_slots
from support.waiting import wait_for

BOOKINGS = 200
OPEN_FOR = 20  # emails accepted before the gate closes: mid-way through the first batch of 50


class GatedMailbox(Mailbox):
    """A Maildir SMTP server that, after ``open_for`` messages, holds every RCPT until released."""

    def __init__(self, maildir, open_for: int) -> None:
        super().__init__(maildir)
        self.open_for = open_for
        self.stored = 0
        self.waiting = 0
        self.release = threading.Event()

    def handle_message(self, message) -> None:
        super().handle_message(message)
        self.stored += 1

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.stored >= self.open_for and not self.release.is_set():
            self.waiting += 1
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            self.waiting -= 1
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_dispatcher_killed_mid_batch_leaves_no_email_lost_or_doubled(system, clinic):
    for folder in ("tmp", "new", "cur"):
        (system.maildir / folder).mkdir(parents=True, exist_ok=True)
    system.extra_env["DISPATCH_LEASE"] = "5"  # abandoned messages are taken over after 5 s
    sink = GatedMailbox(system.maildir, OPEN_FOR)
    controller = Controller(sink, hostname="127.0.0.1", port=system.smtp_port)
    controller.start()
    try:
        for service in ("booking", "reminders"):
            system.start_service(service)
        system.start_worker("booking")
        system.start_worker("reminders", "--no-dispatch")
        system.wait_until_healthy(("booking", "reminders"))

        burst = BookingBurst(system.url("booking"), distinct_slots(clinic, BOOKINGS)).start().join()
        every_booking_made(burst, BOOKINGS)
        wait_for(lambda: planned_confirmations(system) == BOOKINGS, timeout=60)

        system.start_worker("reminders", "--no-consume", name="dispatcher")
        wait_for(lambda: sink.waiting == 4, timeout=30)  # all four SMTP sessions wait on the server
        system.kill("dispatcher")
        in_flight = statuses(system, "confirmation").get("sending", 0)
        assert in_flight > 0 and OPEN_FOR <= sink.stored < BOOKINGS, "the kill must land in the middle of a batch"

        sink.release.set()
        system.start_worker("reminders", "--no-consume", name="dispatcher")
        wait_for_emails(system, BOOKINGS, timeout=60)
        one_confirmation_per_booking(system, burst)
        assert statuses(system, "confirmation") == {"sent": BOOKINGS}
        settled_and_healthy(system, ("booking", "reminders"))
    finally:
        sink.release.set()
        controller.stop()


def planned_confirmations(system) -> int:
    return system.query("reminders", "SELECT count(*) FROM messages WHERE kind = 'confirmation'")[0][0]


def statuses(system, kind: str) -> dict[str, int]:
    rows = system.query("reminders", "SELECT status, count(*) FROM messages WHERE kind = :kind GROUP BY status", kind=kind)
    return {status: count for status, count in rows}
