"""The staff API over notifications, and the unsubscribe link of follow-up emails (RFC 8058)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from kapbook_platform.contracts import EventType
from kapbook_platform.staff.signing import DEVELOPMENT_SIGNING_KEY, sign_credential_data
from kapbook_reminders.entrypoints.app import create_app
from reminders_harness import CLINIC, START

pytestmark = pytest.mark.integration

NOTIFICATIONS = "/api/reminders/v1/notifications"
FOLLOW_UP_DUE = START + timedelta(hours=26)


def test_staff_api_needs_a_staff_token(harness):
    anonymous = create_app(harness.container).test_client()
    assert anonymous.get(NOTIFICATIONS).status_code == 401
    assert anonymous.get(NOTIFICATIONS, headers={"Authorization": "Bearer kbs_not-a-token"}).status_code == 401
    assert anonymous.post(f"{NOTIFICATIONS}/x/resend").status_code == 401


def test_revoked_staff_token_is_refused(harness):
    staff = harness.staff_client()
    assert staff.get(NOTIFICATIONS).status_code == 200
    with harness.container.runtime.sessions() as session:
        credential_id = session.execute(
            harness.container.runtime.tables["staff_credentials"].select()
        ).mappings().one()["credential_id"]
    revoked = {"credential_id": credential_id, "revoked_at": datetime.now(UTC).isoformat()}
    harness.deliver(EventType.STAFF_CREDENTIAL_REVOKED, revoked)  # finding 7: anyone could send this
    assert staff.get(NOTIFICATIONS).status_code == 200, "an unsigned revocation is refused"
    harness.deliver(EventType.STAFF_CREDENTIAL_REVOKED, sign_credential_data(DEVELOPMENT_SIGNING_KEY, revoked))
    assert staff.get(NOTIFICATIONS).status_code == 401


def test_the_notification_log_needs_the_read_only_or_bookings_scope_and_a_resend_bookings(harness):
    """Scopes travel in the signed issued event; the log is bookings' mail."""
    for scopes in (["read_only"], ["bookings"]):
        assert harness.staff_client(scopes=scopes).get(NOTIFICATIONS).status_code == 200
    refused = harness.staff_client(scopes=["schedules", "reviews"]).get(NOTIFICATIONS)
    assert refused.status_code == 403 and refused.json["code"] == "insufficient_scope"
    assert refused.json["errors"] == {"scope": ["read_only or bookings"]}
    resend = harness.staff_client(scopes=["read_only"]).post(f"{NOTIFICATIONS}/no-such-message/resend")
    assert resend.status_code == 403 and resend.json["errors"] == {"scope": ["bookings"]}
    assert harness.staff_client(scopes=["bookings"]).post(f"{NOTIFICATIONS}/no-such-message/resend").status_code == 404


def test_notifications_filtered_with_times_and_results(harness):
    harness.book("b-api-1", START, category="dosing_iv")
    harness.book("b-api-2", harness.clock() + timedelta(hours=3), category="evaluation", minutes=60,
                 email="Jordan.Lee@Example.org")
    booked_at = harness.clock()
    harness.at(booked_at)
    staff = harness.staff_client()

    everything = staff.get(NOTIFICATIONS).json
    assert len(everything) == 11  # b-api-1, a dose: 7 (with its check-in); b-api-2: 4
    assert [n["due_at"] for n in everything] == sorted(n["due_at"] for n in everything)

    (confirmation,) = staff.get(NOTIFICATIONS, query_string={"booking_id": "b-api-1", "status": "sent"}).json
    assert confirmation["kind"] == "confirmation" and confirmation["essential"] is True
    assert datetime.fromisoformat(confirmation["sent_at"]) == booked_at
    assert datetime.fromisoformat(confirmation["due_at"]) == booked_at
    assert confirmation["result"] == "accepted by the SMTP server" and confirmation["smtp_message_id"]
    assert confirmation["recipient"] == "alex.morgan@example.org" and confirmation["sequence"] == 0

    scheduled = staff.get(NOTIFICATIONS, query_string={"booking_id": "b-api-1", "status": "scheduled"}).json
    assert sorted(n["kind"] for n in scheduled) == sorted(
        ["reminder", "preparation", "reminder", "check_in_before_dose", "reminder", "follow_up"])
    follow_up = next(n for n in scheduled if n["kind"] == "follow_up")
    assert follow_up["essential"] is False and datetime.fromisoformat(follow_up["due_at"]) == FOLLOW_UP_DUE
    assert follow_up["sent_at"] is None and follow_up["result"] is None

    skipped = staff.get(NOTIFICATIONS, query_string={"status": "skipped"}).json
    assert {(n["booking_id"], n["kind"]) for n in skipped} == {("b-api-2", "reminder")}
    assert len(skipped) == 2 and {n["result"] for n in skipped} == {"due time had already passed when planned"}

    by_address = staff.get(NOTIFICATIONS, query_string={"recipient": "jordan.lee@example.org"}).json
    assert {n["booking_id"] for n in by_address} == {"b-api-2"} and len(by_address) == 4
    reminders = staff.get(NOTIFICATIONS, query_string={"kind": "reminder", "limit": 2, "offset": 1}).json
    assert len(reminders) == 2 and {n["kind"] for n in reminders} == {"reminder"}

    one = staff.get(f"{NOTIFICATIONS}/{confirmation['id']}")
    assert one.status_code == 200 and one.json == confirmation
    assert staff.get(f"{NOTIFICATIONS}/no-such-id").status_code == 404


@pytest.mark.parametrize(
    "query",
    [{"status": "bounced"}, {"kind": "newsletter"}, {"limit": "0"}, {"limit": "501"}, {"limit": "1e3"},
     {"recipient": "not-an-address"}, {"offset": "-1"}],
)
def test_bad_filters_are_refused(harness, query):
    response = harness.staff_client().get(NOTIFICATIONS, query_string=query)
    assert response.status_code == 422, response.json


def test_resend_only_for_failed_notifications_and_it_is_audited(harness):
    harness.book("b-resend", START, category="consultation", minutes=30)
    harness.at(harness.clock())
    staff = harness.staff_client()
    sent, scheduled = staff.get(NOTIFICATIONS, query_string={"booking_id": "b-resend"}).json[:2]

    assert staff.post(f"{NOTIFICATIONS}/{sent['id']}/resend").status_code == 409
    assert staff.post(f"{NOTIFICATIONS}/{scheduled['id']}/resend").status_code == 409
    assert staff.post(f"{NOTIFICATIONS}/nope/resend").status_code == 404

    harness.sink.fail_with("554 5.7.1 Rejected")
    harness.at(START - timedelta(hours=72))
    harness.sink.fail_with(None)
    (failed,) = staff.get(NOTIFICATIONS, query_string={"status": "failed"}).json
    assert staff.post(f"{NOTIFICATIONS}/{failed['id']}/resend").status_code == 202
    audit = harness.container.runtime.tables["audit_log"]
    with harness.container.runtime.sessions() as session:
        (entry,) = session.execute(audit.select().where(audit.c.action == "notification.resend")).mappings().all()
    assert (entry["actor"], entry["action"], entry["target"]) == ("staff-front_desk", "notification.resend",
                                                                  f"message:{failed['id']}")


def unsubscribe_link(harness) -> str:
    harness.book("b-unsub", START, category="dosing_iv")
    (follow_up,) = [m for m in harness.at(FOLLOW_UP_DUE) if "After your appointment" in m["Subject"]]
    link = follow_up["List-Unsubscribe"].strip("<>")
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def test_get_shows_a_confirmation_page_and_unsubscribes_nothing(harness):
    path = unsubscribe_link(harness)
    client = create_app(harness.container).test_client()

    page = client.get(path)

    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "Stop follow-up emails?" in text and 'method="post"' in text and CLINIC in text
    assert "a•••@example.org" in text and "alex.morgan" not in text
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    harness.book("b-after-get", START + timedelta(days=7), category="dosing_iv")
    arrived = harness.at(harness.clock()) + harness.at(START + timedelta(days=7, hours=26))
    follow_ups = [m for m in arrived if "After your appointment" in m["Subject"]]
    assert len(follow_ups) == 1, "a GET (a link scanner) must not unsubscribe"


def test_one_click_post_stops_follow_ups_but_never_essential_email(harness):
    path = unsubscribe_link(harness)
    client = create_app(harness.container).test_client()

    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "You have unsubscribed" in response.get_data(as_text=True)
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # idempotent

    later = START + timedelta(days=14)
    harness.book("b-after-post", later, category="dosing_iv", email="ALEX.MORGAN@example.org")
    arrived = harness.at(harness.clock()) + harness.at(later - timedelta(hours=2)) + harness.at(later + timedelta(hours=26))
    subjects = [m["Subject"] for m in arrived]
    assert any(s.startswith("Your appointment on") for s in subjects), "essential email still goes out"
    assert not [s for s in subjects if s.startswith("After your appointment")]
    (follow_up,) = [row for row in harness.rows("b-after-post") if row["kind"] == "follow_up"]
    assert (follow_up["status"], follow_up["result"]) == (
        "skipped", "not sent: recipient unsubscribed from non-essential email"
    )


@pytest.mark.parametrize("token", ["forged.token", "YWxleEBleGFtcGxlLm9yZw.AAAAAAAAAAAAAAAAAAAAAA"])
def test_forged_unsubscribe_link_is_refused(harness, token):
    client = create_app(harness.container).test_client()
    for method in (client.get, client.post):
        response = method("/api/reminders/v1/unsubscribe", query_string={"token": token})
        assert response.status_code == 400 and "not valid" in response.get_data(as_text=True)
    assert client.post("/api/reminders/v1/unsubscribe").status_code == 422


def test_crisis_alert_goes_to_on_call_at_once_and_only_once(harness):
    data = {"screening_id": "scr-123", "review_url": "https://book.clinic.example/staff/screenings/scr-123",
            "decided_at": datetime.now(UTC).isoformat()}
    harness.deliver(EventType.SCREENING_CRISIS, data)
    harness.deliver(EventType.SCREENING_CRISIS, data)  # published twice (a new event id each time)

    (alert,) = harness.at(harness.clock())
    assert alert["To"].addresses[0].addr_spec == "oncall@clinic.example"
    assert alert["Subject"] == f"Urgent: a screening needs clinician review – {CLINIC}"
    assert alert["Importance"] == "high"
    assert data["review_url"] in alert.get_body(("plain",)).get_content()
    assert harness.at(harness.clock() + timedelta(hours=1)) == []
