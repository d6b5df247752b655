"""One telehealth booking, four places its join link must be: the confirmation email's body (never
its subject), the calendar invite, the patient's manage page and the staff console's booking page.
A reschedule keeps the link; a cancellation takes it off the manage page. Real SMTP sink, real
broker (filesystem or RabbitMQ), SQLite or PostgreSQL."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from icalendar import Calendar

from support.clinic import issue_test_staff_token
from support.pipeline import Pipeline, next_weekday_at
from support.waiting import wait_for

pytestmark = pytest.mark.integration

JOIN_URL = re.compile(r"https://meet\.example\.org/kapbook-[A-Za-z0-9_-]{22,}")


@pytest.fixture
def pipeline(tmp_path, db, broker, database_factory, broker_url, broker_namespace):
    pipeline = Pipeline(tmp_path, database_factory("booking"), database_factory("reminders"), broker_url, broker_namespace)
    yield pipeline
    pipeline.close()


def staff_headers(pipeline: Pipeline) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_test_staff_token(pipeline.booking.runtime.sessions, 'front_desk')}"}


def manage_page(pipeline: Pipeline, manage_url: str) -> str:
    response = pipeline.client.get(urlsplit(manage_url).path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def bodies(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def invite_event(message):
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    return next(iter(Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")))


def test_one_telehealth_booking_shows_its_join_link_in_all_four_places(pipeline):
    pipeline.start()
    start = next_weekday_at(10)

    response = pipeline.book(start)  # the free consultation: a video call

    assert response.status_code == 201, response.json
    booking = response.json
    join_url = booking["join_url"]
    assert JOIN_URL.fullmatch(join_url), join_url

    # 1. The confirmation email: in the text and HTML bodies, not in the subject.
    (confirmation,) = wait_for(lambda: pipeline.mail.to("pat@example.org"), timeout=10)
    assert join_url not in confirmation["Subject"]
    text, html = bodies(confirmation)
    assert f"Video call, join here: {join_url}" in text
    assert f'href="{join_url}"' in html and "Join the video call" in html

    # 2. The invite: LOCATION, and CONFERENCE per RFC 7986.
    event = invite_event(confirmation)
    assert str(event["LOCATION"]) == join_url
    assert str(event["CONFERENCE"]) == join_url and event["CONFERENCE"].params["FEATURE"] == "VIDEO"

    # 3. The manage page: a Join link.
    page = manage_page(pipeline, booking["manage_url"])
    assert f'href="{join_url}"' in page and ">Join</a>" in page
    assert "the link comes by email" not in page

    # 4. The staff console's booking page.
    console = pipeline.client.get(f"/staff/bookings/{booking['id']}", headers=staff_headers(pipeline))
    assert console.status_code == 200
    assert join_url in console.get_data(as_text=True)

    # A reschedule keeps the link, and the update email carries it.
    token = urlsplit(booking["manage_url"]).path.rsplit("/", 1)[1]
    moved = pipeline.client.post(f"/api/booking/v1/manage/{token}/reschedule",
                                 json={"start": (start + timedelta(hours=1)).isoformat()})
    assert moved.status_code == 200, moved.json
    assert moved.json["join_url"] == join_url
    update = wait_for(lambda: [m for m in pipeline.mail.to("pat@example.org") if m["Subject"].startswith("Updated")],
                      timeout=10)[0]
    assert join_url not in update["Subject"] and join_url in bodies(update)[0]
    assert str(invite_event(update)["LOCATION"]) == join_url
    assert f'href="{join_url}"' in manage_page(pipeline, booking["manage_url"])

    # A cancellation: the manage page stops showing it; the cancel invite and email drop it.
    cancelled = pipeline.client.post(f"/api/booking/v1/manage/{token}/cancel")
    assert cancelled.status_code == 200, cancelled.json
    page = manage_page(pipeline, booking["manage_url"])
    assert "Cancelled" in page and join_url not in page
    notice = wait_for(lambda: [m for m in pipeline.mail.to("pat@example.org") if "cancelled" in m["Subject"]],
                      timeout=10)[0]
    assert join_url not in bodies(notice)[0] and join_url not in bodies(notice)[1]
    assert join_url not in str(invite_event(notice).get("LOCATION", ""))


def test_an_in_person_booking_has_no_join_link(pipeline):
    response = pipeline.client.post("/api/booking/v1/bookings", json={
        "appointment_type": "medical-evaluation", "start": next_weekday_at(10).isoformat(),
        "patient": {"name": "Pat Example", "email": "pat@example.org", "timezone": "America/New_York"},
    })

    assert response.status_code == 201, response.json
    assert response.json["join_url"] is None
    assert "Join</a>" not in manage_page(pipeline, response.json["manage_url"])
