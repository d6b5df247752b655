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


def test_the_console_delegate_names_the_browser_address_and_other_callers_cannot(client, eligibility, make_staff):
    """Booking's console calls with a session's delegate credential and the browser's address in a header;
    only that credential is believed, so an API token cannot write another address into the audit."""
    delegate = make_staff("clinician", credential_id="console-5e1d0c2a")
    api_token = make_staff("clinician")
    claimed = {"Kapbook-Client-Address": "198.51.100.7"}
    server = {"REMOTE_ADDR": "10.0.0.5"}  # the booking server
    for staff in (delegate, api_token):
        answer = client.get("/api/eligibility/v1/reviews", headers=staff.headers | claimed, environ_base=server)
        assert answer.status_code == 200
    assert [(row["actor"], row["detail"]["ip"]) for row in audit_rows(eligibility)] == [
        (delegate.staff_id, "198.51.100.7"), (api_token.staff_id, "10.0.0.5")]


@pytest.mark.parametrize("statement", ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"])
def test_audit_rows_refuse_update_and_delete(client, eligibility, clinician, statement):
    client.get("/api/eligibility/v1/reviews", headers=clinician.headers)
    with pytest.raises(DBAPIError, match=AUDIT_APPEND_ONLY_MESSAGE):
        with eligibility.runtime.engine.begin() as connection:
            connection.execute(text(statement))
    assert [row["actor"] for row in audit_rows(eligibility)] == [clinician.staff_id]
