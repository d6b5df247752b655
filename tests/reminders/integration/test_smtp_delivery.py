"""Sending over real SMTP: outages and 4xx retried with backoff, 5xx failed and resendable, TLS and login."""
from __future__ import annotations

from datetime import timedelta

import pytest

from reminders_harness import (
    CLINIC,
    SMTP_PASSWORD,
    SMTP_USER,
    START,
    Harness,
    SmtpSink,
    check_email,
    self_signed_certificate,
)

pytestmark = pytest.mark.integration

SUBJECT = f"Your appointment on Tuesday 9 March – {CLINIC}"
SECOND = timedelta(seconds=1)


def confirmation_row(harness, booking_id):
    return next(row for row in harness.rows(booking_id) if row["kind"] == "confirmation")


def test_smtp_server_down_then_back_retries_with_backoff_then_delivers_once(harness):
    harness.sink.stop()
    harness.book("b-outage", category="consultation", minutes=30)
    t0 = harness.clock()

    assert harness.at(t0) == []
    row = confirmation_row(harness, "b-outage")
    assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("scheduled", 1, t0 + timedelta(seconds=30))
    assert "SMTP unavailable" in row["result"]

    # Each wait doubles: 30 s, 60 s, 120 s; nothing is tried before its time.
    waits = [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    moment = t0
    for attempt, wait in enumerate(waits[:2], start=2):
        moment += wait
        harness.clock.set(moment - SECOND)
        assert harness.dispatch() == 0, "retried before the backoff ended"
        harness.at(moment)
        row = confirmation_row(harness, "b-outage")
        assert (row["status"], row["attempts"]) == ("scheduled", attempt)
        assert row["next_attempt_at"] == moment + waits[attempt - 1]

    harness.sink.start()  # the server is back
    moment += waits[2]
    assert harness.at(moment - SECOND) == []
    arrived = harness.at(moment)
    assert [m["Subject"] for m in arrived] == [SUBJECT]
    check_email(arrived[0])
    assert harness.at(moment + timedelta(hours=1)) == []
    assert harness.sink.subjects() == [SUBJECT]
    row = confirmation_row(harness, "b-outage")
    assert (row["status"], row["attempts"], row["sent_at"]) == ("sent", 3, moment)


def test_4xx_reply_is_temporary_and_the_same_email_goes_out_once_accepted(harness):
    harness.sink.fail_with("451 4.3.0 Mailbox temporarily unavailable")
    harness.book("b-451", category="consultation", minutes=30)
    t0 = harness.clock()
    harness.at(t0)
    row = confirmation_row(harness, "b-451")
    assert (row["status"], row["attempts"]) == ("scheduled", 1) and "451" in row["result"]

    harness.sink.fail_with(None)
    (email,) = harness.at(t0 + timedelta(seconds=30))
    assert email["Message-ID"] == confirmation_row(harness, "b-451")["smtp_message_id"]
    assert harness.at(t0 + timedelta(minutes=30)) == []


def test_temporary_failures_are_bounded(tmp_path, db, database_factory, sink):
    harness = Harness.build(tmp_path, database_factory("reminders"), START - timedelta(days=5), sink, max_send_attempts=3)
    try:
        sink.fail_with("421 4.7.0 Try again later")
        harness.book("b-bounded", category="consultation", minutes=30)
        for _ in range(5):
            harness.at(harness.clock() + timedelta(hours=1))
        row = confirmation_row(harness, "b-bounded")
        assert (row["status"], row["attempts"]) == ("failed", 3)
        assert row["result"].startswith("temporary failures, giving up (attempt 3)")
        assert sink.messages() == []
    finally:
        harness.close()


def test_permanent_failure_is_failed_visible_to_staff_and_resend_delivers_it_once(harness):
    harness.sink.fail_with("550 5.1.1 Mailbox unavailable")
    harness.book("b-550", category="consultation", minutes=30)
    harness.at(harness.clock())
    staff = harness.staff_client()

    listed = staff.get("/api/reminders/v1/notifications", query_string={"status": "failed"})
    assert listed.status_code == 200
    (failed,) = listed.json
    assert failed["booking_id"] == "b-550" and failed["kind"] == "confirmation"
    assert failed["attempts"] == 1 and "550" in failed["result"] and failed["sent_at"] is None
    assert harness.at(harness.clock() + timedelta(hours=1)) == [], "a permanent failure is not retried"

    harness.sink.fail_with(None)
    resent = staff.post(f"/api/reminders/v1/notifications/{failed['id']}/resend")
    assert resent.status_code == 202
    assert (resent.json["status"], resent.json["attempts"]) == ("scheduled", 0)
    arrived = harness.at(harness.clock())
    assert [m["Subject"] for m in arrived] == [SUBJECT]

    again = staff.post(f"/api/reminders/v1/notifications/{failed['id']}/resend")
    assert again.status_code == 409
    assert harness.at(harness.clock() + timedelta(hours=1)) == []
    (shown,) = staff.get("/api/reminders/v1/notifications", query_string={"booking_id": "b-550", "kind": "confirmation"}).json
    assert shown["status"] == "sent" and shown["sent_at"] is not None and shown["smtp_message_id"] == arrived[0]["Message-ID"]


def test_recipient_refused_with_550_is_permanent(harness):
    harness.sink.handler.handle_RCPT = _refuse_recipient
    harness.book("b-rcpt", category="consultation", minutes=30)
    harness.at(harness.clock())
    row = confirmation_row(harness, "b-rcpt")
    assert (row["status"], row["attempts"]) == ("failed", 1)
    assert "recipient refused: [550]" in row["result"]


async def _refuse_recipient(server, session, envelope, address, rcpt_options):
    return "550 5.1.1 No such user"


@pytest.mark.parametrize("security", ["starttls", "tls"])
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # implicit TLS is TLS all along
def test_tls_and_login_from_configuration(tmp_path, db, database_factory, security):
    certificate = self_signed_certificate(tmp_path)
    sink = SmtpSink(tmp_path / "mail", tls=security, certificate=certificate).start()
    config = {
        "smtp_host": "127.0.0.1",
        "smtp_security": security,
        "smtp_username": SMTP_USER,
        "smtp_password": SMTP_PASSWORD,
        "smtp_ca_file": str(certificate[0]),
    }
    harness = Harness.build(tmp_path, database_factory("reminders"), START - timedelta(days=5), sink, **config)
    try:
        harness.book("b-tls", category="consultation", minutes=30)
        (email,) = harness.at(harness.clock())
        check_email(email)
        assert sink.logins, "the server saw a login"
    finally:
        harness.close()
        sink.stop()


def test_wrong_password_or_untrusted_certificate_is_a_temporary_failure(tmp_path, db, database_factory):
    certificate = self_signed_certificate(tmp_path)
    sink = SmtpSink(tmp_path / "mail", tls="starttls", certificate=certificate).start()
    wrong_password = {"smtp_security": "starttls", "smtp_username": SMTP_USER, "smtp_password": "nope",
                      "smtp_ca_file": str(certificate[0])}
    harness = Harness.build(tmp_path, database_factory("reminders"), START - timedelta(days=5), sink, **wrong_password)
    untrusted = Harness.build(
        (tmp_path / "second"), database_factory("reminders2"), START - timedelta(days=5), sink,
        smtp_security="starttls", smtp_username=SMTP_USER, smtp_password=SMTP_PASSWORD,
    )
    try:
        harness.book("b-auth", category="consultation", minutes=30)
        harness.at(harness.clock())
        row = confirmation_row(harness, "b-auth")
        assert (row["status"], row["attempts"]) == ("scheduled", 1) and "login refused" in row["result"]

        untrusted.book("b-cert", category="consultation", minutes=30)
        untrusted.at(untrusted.clock())
        row = confirmation_row(untrusted, "b-cert")
        assert (row["status"], row["attempts"]) == ("scheduled", 1) and "CERTIFICATE_VERIFY_FAILED" in row["result"]
        assert sink.messages() == []
    finally:
        harness.close()
        untrusted.close()
        sink.stop()
