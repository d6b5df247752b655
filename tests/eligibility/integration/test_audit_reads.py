"""Issue 14 finding 9 (eligibility): reading the review queue and opening a screening are audited with
who, what and the caller's IP (never answers, scores or reasons); audit rows refuse UPDATE and DELETE."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from kapbook_platform.staff.migrations import AUDIT_APPEND_ONLY_MESSAGE

pytestmark = pytest.mark.integration
IP = "203.0.113.44"


def audit_rows(eligibility) -> list[dict]:
    table = eligibility.runtime.tables["audit_log"]
    with eligibility.runtime.engine.connect() as connection:
        return [dict(row) for row in connection.execute(select(table).order_by(table.c.id)).mappings()]


def test_the_queue_and_each_opened_screening_leave_an_audit_row_with_the_ip(client, eligibility, submit, answers, clinician):
    screening_id = submit(answers | {"bipolar_history": True}).json["id"]
    remote = {"REMOTE_ADDR": IP}

    assert client.get("/api/eligibility/v1/reviews", headers=clinician.headers, environ_base=remote).status_code == 200
    assert client.get("/api/eligibility/v1/reviews?status=reviewed", headers=clinician.headers,
                      environ_base=remote).status_code == 200
    assert client.get(f"/api/eligibility/v1/screenings/{screening_id}", headers=clinician.headers,
                      environ_base=remote).status_code == 200

    rows = audit_rows(eligibility)
    assert [(row["actor"], row["action"], row["target"], row["detail"]["ip"]) for row in rows] == [
        (clinician.staff_id, "review_queue.viewed", "review_queue:pending", IP),
        (clinician.staff_id, "review_queue.viewed", "review_queue:reviewed", IP),
        (clinician.staff_id, "screening.opened", f"screening:{screening_id}", IP),
    ]
    assert "bipolar" not in repr(rows) and "pat@example.org" not in repr(rows)


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"])
def test_audit_rows_refuse_update_and_delete(client, eligibility, clinician, statement):
    client.get("/api/eligibility/v1/reviews", headers=clinician.headers)
    with pytest.raises(DBAPIError, match=AUDIT_APPEND_ONLY_MESSAGE):
        with eligibility.runtime.engine.begin() as connection:
            connection.execute(text(statement))
    assert [row["actor"] for row in audit_rows(eligibility)] == [clinician.staff_id]
