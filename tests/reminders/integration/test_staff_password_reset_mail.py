"""The staff password reset link (kapbook.staff.password_reset_link.v1): emailed at once, once,
never after it expired, and the link never in a log line."""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from kapbook_platform.contracts import EventType
from reminders_harness import CLINIC

LINK = "https://book.clinic.example/staff/reset-password/s3cr3t-reset-link-value-0123456789abcdef"


def reset_data(harness, reset_id: str = "reset-1", minutes: int = 30) -> dict:
    return {"reset_id": reset_id, "email": "ana@clinic.example", "name": "Dr Ana Ruiz", "link_url": LINK,
            "expires_at": (harness.clock() + timedelta(minutes=minutes)).isoformat()}


def test_the_link_is_emailed_at_once_and_only_once(harness, caplog):
    caplog.set_level(logging.DEBUG)
    data = reset_data(harness)
    harness.deliver(EventType.STAFF_PASSWORD_RESET_LINK, data)
    harness.deliver(EventType.STAFF_PASSWORD_RESET_LINK, data)  # published twice (a new event id each time)
    (email,) = harness.at(harness.clock())
    assert email["To"].addresses[0].addr_spec == "ana@clinic.example"
    assert email["Subject"] == f"Reset your staff console password – {CLINIC}"
    text = email.get_body(("plain",)).get_content()
    assert LINK in text and "Dr Ana Ruiz" in text and "works once" in text
    assert LINK in email.get_body(("html",)).get_content()
    assert not email.get_payload()[0].get_content_type() == "text/calendar"
    assert harness.at(harness.clock() + timedelta(hours=1)) == []
    # Kapbook's own log lines, extras included (the test SMTP sink's debug log is not ours).
    ours = [str(record.__dict__) for record in caplog.records if record.name.startswith("kapbook")]
    assert ours and not [line for line in ours if "s3cr3t-reset-link" in line], "the link never reaches a log line"


def test_a_link_that_expired_before_it_could_be_sent_is_not_sent(harness):
    harness.deliver(EventType.STAFF_PASSWORD_RESET_LINK, reset_data(harness, minutes=1))
    assert harness.at(harness.clock() + timedelta(minutes=2)) == []
    (row,) = [row for row in harness.rows() if row["kind"] == "staff_password_reset"]
    assert row["status"] == "cancelled" and "expired" in row["result"]


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "ftp://book.clinic.example/x"])
def test_a_link_that_is_not_a_web_url_is_never_sent(harness, bad):
    harness.deliver(EventType.STAFF_PASSWORD_RESET_LINK, reset_data(harness) | {"link_url": bad})
    assert harness.at(harness.clock()) == []
