"""Issue 14 finding 9 (reminders): reading the notification log is audited (who, which log, from where,
never a recipient address), and audit rows refuse UPDATE and DELETE on both databases."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from kapbook_platform.staff.migrations import AUDIT_APPEND_ONLY_MESSAGE
from reminders_harness import START

pytestmark = pytest.mark.integration
NOTIFICATIONS = "/api/reminders/v1/notifications"
IP = "203.0.113.9"


def audit_rows(harness) -> list[dict]:
    table = harness.container.runtime.tables["audit_log"]
    with harness.container.runtime.sessions() as session:
        return [dict(row) for row in session.execute(select(table).order_by(table.c.id)).mappings()]


def test_each_read_of_the_notification_log_is_audited_without_the_recipient(harness):
    harness.book("b-audit", START, category="consultation", minutes=30)
    harness.at(harness.clock())
    staff = harness.staff_client()
    remote = {"REMOTE_ADDR": IP}

    listed = staff.get(NOTIFICATIONS, query_string={"booking_id": "b-audit"}, environ_base=remote).json
    staff.get(NOTIFICATIONS, query_string={"recipient": "alex.morgan@example.org"}, environ_base=remote)
    assert staff.get(f"{NOTIFICATIONS}/{listed[0]['id']}", environ_base=remote).status_code == 200

    rows = audit_rows(harness)
    assert [(row["actor"], row["action"], row["target"], row["detail"]["ip"]) for row in rows] == [
        ("staff-front_desk", "notification_log.viewed", "notification_log:booking:b-audit", IP),
        ("staff-front_desk", "notification_log.viewed", "notification_log:all", IP),
        ("staff-front_desk", "notification.viewed", f"message:{listed[0]['id']}", IP),
    ]
    assert rows[1]["detail"]["filters"] == ["recipient"]
    assert "alex.morgan" not in repr(rows)


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"])
def test_audit_rows_refuse_update_and_delete(harness, statement):
    harness.staff_client().get(NOTIFICATIONS)
    with pytest.raises(DBAPIError, match=AUDIT_APPEND_ONLY_MESSAGE):
        with harness.container.runtime.engine.begin() as connection:
            connection.execute(text(statement))
    assert [row["actor"] for row in audit_rows(harness)] == ["staff-front_desk"]
