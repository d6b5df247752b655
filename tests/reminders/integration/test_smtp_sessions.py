"""SMTP sessions reused across a batch and from batch to batch, on a real aiosmtpd server that drops them.

A session the server drops between two messages is replaced, and the next message goes out on
the new one right away (the server held nothing of it yet). A session lost during DATA leaves
that one message to the usual retry. Either way every email arrives exactly once.
"""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from reminders_harness import START, Harness, SinkHandler, SmtpSink

BOOKINGS = 12
BATCH = 5  # three batches: sessions are kept from one to the next


class DroppingHandler(SinkHandler):
    """Counts sessions; drops each one at its ``drop_at``-th MAIL, or during a message's DATA."""

    def __init__(self, maildir, *, drop_at: int | None = None, reply_421: bool = False,
                 drop_data_of: str | None = None) -> None:
        super().__init__(maildir)
        self.drop_at, self.reply_421, self.drop_data_of = drop_at, reply_421, drop_data_of
        self.mails: Counter[int] = Counter()  # MAIL commands per session
        self.dropped = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.mails[id(session)] += 1
        if self.drop_at is not None and self.mails[id(session)] == self.drop_at:
            self.dropped += 1
            if self.reply_421:
                return "421 4.4.2 Closing the session, try again"
            server.transport.close()  # gone without a word, like a server restart
            return "250 OK"  # never reaches the client
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.drop_data_of is not None and self.drop_data_of in envelope.rcpt_tos and not self.dropped:
            self.dropped += 1
            server.transport.close()  # lost before the message was stored: the client cannot know
            return "250 OK"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def dropping(tmp_path, db, database_factory, request):
    """A harness whose SMTP server is a ``DroppingHandler`` built with the test's parameters."""
    sink = SmtpSink(tmp_path / "mail")
    sink.handler = DroppingHandler(sink.maildir, **request.param)
    sink.start()
    harness = Harness.build(tmp_path, database_factory("reminders"), START - timedelta(days=5), sink,
                            dispatch_batch=BATCH)
    for number in range(BOOKINGS):
        harness.book(f"b-session-{number:02d}", START + timedelta(hours=number), category="consultation",
                     minutes=30, email=f"patient{number:02d}@example.org")
    yield harness
    harness.close()
    sink.stop()


def confirmations(harness) -> list[dict]:
    return [row for row in harness.rows() if row["kind"] == "confirmation"]


def assert_each_arrived_once(harness, arrived) -> None:
    by_id = Counter(message["Message-ID"] for message in arrived)
    assert len(by_id) == BOOKINGS and set(by_id.values()) == {1}, f"lost or doubled: {by_id}"
    rows = confirmations(harness)
    assert Counter(row["status"] for row in rows) == {"sent": BOOKINGS}
    assert {row["smtp_message_id"] for row in rows} == set(by_id)


@pytest.mark.parametrize("dropping", [{}], indirect=True)
def test_sessions_are_reused_within_and_across_batches(dropping):
    arrived = dropping.at(dropping.clock())

    assert_each_arrived_once(dropping, arrived)
    sessions = dropping.sink.handler.mails
    connections = dropping.container.dispatcher.connections
    assert len(sessions) == connections, f"one session per lane for all three batches: {sessions}"
    assert sum(sessions.values()) == BOOKINGS


@pytest.mark.parametrize("dropping", [{"drop_at": 3}, {"drop_at": 3, "reply_421": True}],
                         ids=["closed", "421"], indirect=True)
def test_a_session_dropped_between_messages_is_replaced_and_nothing_is_lost_or_doubled(dropping):
    arrived = dropping.at(dropping.clock())  # no waiting for a retry: the message went out on a new session

    assert dropping.sink.handler.dropped >= 2, "sessions were dropped mid-batch"
    assert_each_arrived_once(dropping, arrived)
    assert {row["attempts"] for row in confirmations(dropping)} == {0}
    assert dropping.at(dropping.clock() + timedelta(hours=1)) == []


@pytest.mark.parametrize("dropping", [{"drop_data_of": "patient04@example.org"}], indirect=True)
def test_a_session_lost_during_data_leaves_that_message_to_the_retry_and_sends_it_once(dropping):
    t0 = dropping.clock()
    first = dropping.at(t0)

    assert dropping.sink.handler.dropped == 1
    assert len(first) == BOOKINGS - 1, "the rest of the batch went out on a new session"
    (unsent,) = [row for row in confirmations(dropping) if row["status"] != "sent"]
    assert unsent["recipient"] == "patient04@example.org"
    assert (unsent["status"], unsent["attempts"]) == ("scheduled", 1) and "SMTP unavailable" in unsent["result"]

    retried = dropping.at(t0 + timedelta(seconds=30))
    assert [message["To"].addresses[0].addr_spec for message in retried] == ["patient04@example.org"]
    assert_each_arrived_once(dropping, first + retried)
