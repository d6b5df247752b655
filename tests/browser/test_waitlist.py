"""The waitlist in a real browser: a patient who finds no time that suits them joins it from the
widget (the keyboard alone), an offer emailed after a cancellation is booked from its page, and an
offer let go passes to the next patient in line.

The stack is shared by every browser test: each patient here has an address of its own, and each
waits for exactly one slot (its date, hours and clinician) picked weeks ahead, so no other test's
cancellation or free time is offered to them and none of theirs is held from another test.
"""
from __future__ import annotations

import json
import re
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect

from support.accessibility import assert_accessible
from support.screening_answers import eligible_answers
from support.waiting import wait_for

sys.path.insert(0, str(Path(__file__).parent))

from test_patient_booking import deep_focus, tab_to  # noqa: E402 - the folder is on the path

pytestmark = pytest.mark.integration

NEW_YORK = ZoneInfo("America/New_York")
OFFER_LINK = re.compile(r"http://[^\s\"<>]+/waitlist/offers/[A-Za-z0-9_-]{40,}")
LEAVE_LINK = re.compile(r"http://[^\s\"<>]+/waitlist/leave/[A-Za-z0-9_-]{40,}")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def address(who: str) -> str:
    return f"{who}.{uuid.uuid4().hex[:10]}@example.org"


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def mail_starting(stack, email: str, subject: str) -> list:
    return [m for m in stack.mail_to(email) if m["Subject"].startswith(subject)]


def wait_for_subject(stack, email: str, subject: str, count: int = 1) -> list:
    return wait_for(lambda: len(found := mail_starting(stack, email, subject)) >= count and found, timeout=30, interval=0.25)


def join_for_exactly(stack, booking: dict, name: str, email: str) -> dict:
    """Wait for exactly the booked time: its weekday and hours in New York, that date only, that clinician."""
    start = datetime.fromisoformat(booking["start"]).astimezone(NEW_YORK)
    end = datetime.fromisoformat(booking["end"]).astimezone(NEW_YORK)
    response = requests.post(f"{stack.base}/api/booking/v1/waitlist", timeout=10, json={
        "appointment_type": "medical-evaluation", "clinician_id": booking["clinician_id"],
        "windows": [{"weekdays": [start.strftime("%a").lower()], "start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}],
        "earliest_date": start.date().isoformat(), "latest_date": start.date().isoformat(),
        "patient": {"name": name, "email": email, "timezone": "America/New_York"}})
    assert response.status_code == 201, response.text
    return response.json()


def cancel_by_staff(stack, booking: dict) -> None:
    token = stack.staff_token("front_desk", "Wanda Waitlist", address("front.desk"))
    response = requests.post(f"{stack.base}/api/booking/v1/bookings/{booking['id']}/cancel", timeout=10,
                             headers={"Authorization": f"Bearer {token}"}, json={"reason": "patient called"})
    assert response.status_code == 200, response.text


def booked_slot_with_waiting(stack, days_ahead: int, *waiting: tuple[str, str]) -> dict:
    """A medical evaluation booked by someone else ``days_ahead`` days on, and patients who wait for exactly it."""
    booking = stack.book(stack.free_slot("medical-evaluation", days_ahead=days_ahead), "medical-evaluation",
                         "Bo Booked", address("bo.booked"))
    for name, email in waiting:
        join_for_exactly(stack, booking, name, email)
        wait_for_subject(stack, email, "You are on the waitlist")
    return booking


def offer_link(stack, email: str) -> str:
    [offer] = wait_for_subject(stack, email, "A time has opened up for you")
    assert "evaluation" not in offer["Subject"].lower()  # no care details in a subject line
    return OFFER_LINK.search(text_of(offer)).group(0)


def test_a_patient_with_no_time_that_suits_them_joins_the_waitlist_from_the_widget_with_the_keyboard(stack, page, widget):
    email = address("kit.keys")
    steps = widget(page).open_demo()
    page.locator("body").focus()
    tab_to(page, lambda f: f["text"].startswith("Free consultation"))
    page.keyboard.press("Enter")
    expect(steps.heading("Choose a day and time")).to_be_focused()
    steps.first_slot()
    expect(page.get_by_text("No time that suits you?")).to_be_visible()
    tab_to(page, lambda f: f["text"] == "Join the waitlist")
    page.keyboard.press("Enter")

    expect(steps.heading("Join the waitlist")).to_be_focused()
    days = page.get_by_role("group", name="Which days suit you?")
    for day in WEEKDAYS[:5]:
        expect(days.get_by_label(day)).to_be_checked()
    for day in WEEKDAYS[5:]:
        expect(days.get_by_label(day)).not_to_be_checked()
    expect(page.get_by_label("From")).to_have_value("09:00")
    expect(page.get_by_label("Until")).to_have_value("17:00")
    expect(page.get_by_text("In America/New York time")).to_be_visible()
    assert_accessible(page, "[data-kapbook-widget]")

    # Sundays only: the demo clinic never works then, so no freed time is ever held for this patient.
    tab_to(page, lambda f: f["label"] == "Monday")
    for day in WEEKDAYS:
        assert deep_focus(page)["label"] == day
        if day != "Saturday":
            page.keyboard.press("Space")
        page.keyboard.press("Tab")
    expect(days.get_by_label("Sunday")).to_be_checked()
    expect(days.get_by_label("Monday")).not_to_be_checked()
    tab_to(page, lambda f: f["label"] == "Full name")
    page.keyboard.type("Kit Keys")
    page.keyboard.press("Tab")
    # Good enough for the widget's check, not for the server's: its 422 shows beside the field.
    page.keyboard.type(email.replace(".org", ".o"))
    tab_to(page, lambda f: f["text"] == "Join the waitlist")
    page.keyboard.press("Enter")
    email_field = page.get_by_label("Email", exact=True)
    expect(email_field).to_be_focused()
    expect(email_field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("[data-field=email] .kb-field-error")).to_have_text("Not a valid email address.")
    expect(steps.alert()).to_contain_text("Please fix one thing")
    assert_accessible(page, "[data-kapbook-widget]")

    page.keyboard.press("End")
    page.keyboard.type("rg")
    with page.expect_request(re.compile(r"/api/booking/v1/waitlist$")) as sent:
        tab_to(page, lambda f: f["text"] == "Join the waitlist")
        page.keyboard.press("Enter")
    body = json.loads(sent.value.post_data)
    assert body["windows"] == [{"weekdays": ["sun"], "start": "09:00", "end": "17:00"}]
    assert body["patient"] == {"name": "Kit Keys", "email": email, "timezone": "America/New_York"}

    confirmation = page.get_by_role("status").filter(has_text="You are on the waitlist")
    expect(confirmation).to_be_focused()
    expect(confirmation).to_contain_text(f"We will email you at {email} when a time that suits you opens up")
    expect(confirmation).to_contain_text("It has a link to leave the waitlist")
    expect(page.locator(".kb-summary")).to_contain_text("Sunday")
    expect(steps.alert()).to_be_empty()
    assert_accessible(page, "[data-kapbook-widget]")

    [joined] = wait_for_subject(stack, email, "You are on the waitlist")
    leave = LEAVE_LINK.search(text_of(joined)).group(0)
    # The email's link takes the patient off again (and this test's patient off the shared stack's waitlist).
    page.goto(leave)
    expect(page.get_by_role("heading", name="Your place on the waitlist")).to_be_visible()
    page.get_by_role("button", name="Leave the waitlist").click()
    expect(page.get_by_role("status")).to_have_text("You have left the waitlist. We will not email you about new times.")


def test_a_freed_time_is_offered_by_email_and_booked_from_the_offer_page(stack, page):
    email = address("olive.offer")
    booking = booked_slot_with_waiting(stack, 33, ("Olive Offer", email))
    cancel_by_staff(stack, booking)

    page.goto(offer_link(stack, email))
    expect(page.get_by_role("heading", name="A time has opened up for you")).to_be_visible()
    card = page.locator(".summary-card")
    expect(card).to_contain_text("Medical evaluation")
    expect(card).to_contain_text(booking["clinician_name"])
    expect(card).to_contain_text("Olive Offer")
    expect(card).to_contain_text("Held for you until")
    expect(page.get_by_label(re.compile("An adult will take me home"))).to_have_count(0)  # no driver for this type
    assert_accessible(page)
    page.get_by_role("button", name="Book this time").click()

    expect(page.get_by_role("heading", name="Your appointment", exact=True)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(
        "You are booked: the time we held for you is yours. We have emailed you a confirmation.")
    expect(page.locator(".summary-card")).to_contain_text("Medical evaluation")
    manage_url = page.url.split("?")[0]
    [confirmation] = wait_for_subject(stack, email, "Your appointment on")
    assert manage_url in text_of(confirmation)
    mine = requests.get(f"{stack.base}/api/booking/v1/manage/{manage_url.rsplit('/', 1)[1]}", timeout=10).json()
    assert (mine["start"], mine["clinician_id"], mine["status"]) == (booking["start"], booking["clinician_id"], "booked")


def test_an_offer_let_go_from_its_page_passes_to_the_next_patient_in_line(stack, page, new_page):
    first, second = address("fay.first"), address("sam.second")
    booking = booked_slot_with_waiting(stack, 40, ("Fay First", first), ("Sam Second", second))
    cancel_by_staff(stack, booking)

    page.goto(offer_link(stack, first))
    page.get_by_role("link", name="Let it go").click()
    expect(page.get_by_role("heading", name="Let this time go?")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Yes, let it go").click()
    expect(page.get_by_role("status")).to_contain_text("You let this time go; it is offered to the next person waiting.")
    expect(page.get_by_role("heading", name="This offer has ended")).to_be_visible()

    other = new_page()
    other.goto(offer_link(stack, second))
    expect(other.get_by_role("heading", name="A time has opened up for you")).to_be_visible()
    expect(other.locator(".summary-card")).to_contain_text("Sam Second")
    time.sleep(1)  # a second offer to the first patient (the slot coming back to them) would arrive by now
    assert len(mail_starting(stack, first, "A time has opened up for you")) == 1

    # Leaving from the offer's page ends the offer too; nobody else waits for this time, so it is free again.
    other.get_by_role("button", name="Leave the waitlist").click()
    expect(other.get_by_role("status")).to_have_text("You have left the waitlist. We will not email you about new times.")


def test_a_week_without_any_free_time_offers_the_waitlist_as_well(stack, page, widget):
    # However far the widget looks ahead, nothing is free (as for a clinic fully booked for weeks).
    page.route(re.compile(r"/api/booking/v1/availability\?"), lambda route: route.fulfill(json={"slots": []}))
    steps = widget(page).open_demo()
    steps.choose_type("Medical evaluation")
    expect(page.get_by_text("No free times this week. Try a later week, or call the clinic.")).to_be_visible()
    expect(page.get_by_text("Or join the waitlist, and we email you when a time opens up.")).to_be_visible()
    assert_accessible(page, "[data-kapbook-widget]")
    page.get_by_role("button", name="Join the waitlist").click()
    expect(steps.heading("Join the waitlist")).to_be_focused()
    expect(page.locator(".kb-muted").first).to_contain_text("Medical evaluation")
    page.get_by_role("button", name="Back to the times").click()
    expect(steps.heading("Choose a day and time")).to_be_focused()


def test_a_patient_screened_for_a_treatment_joins_its_waitlist_with_that_screening(stack, page, widget):
    email = address("pia.prep")
    steps = widget(page).open_demo()
    steps.choose_type("Preparation session")
    steps.screening().get_by_label("Full name").fill("Pia Prep")
    steps.screening().get_by_label("Email").fill(email)
    steps.answer(eligible_answers())
    with page.expect_response(lambda answer: answer.url.endswith("/screenings") and answer.request.method == "POST") as screened:
        steps.screening().get_by_role("button", name="Submit answers").click()
    expect(steps.heading("Choose a day and time")).to_be_focused()
    steps.first_slot()
    page.get_by_role("button", name="Join the waitlist").click()

    expect(steps.heading("Join the waitlist")).to_be_focused()
    expect(page.get_by_label("Full name")).to_have_value("Pia Prep")
    expect(page.get_by_label("Email", exact=True)).to_have_value(email)
    expect(page.get_by_label("Email", exact=True)).to_have_attribute("readonly", "")  # the screening's address
    days = page.get_by_role("group", name="Which days suit you?")
    for day in WEEKDAYS[:5]:
        days.get_by_label(day).uncheck()
    days.get_by_label("Sunday").check()  # never worked: nothing is held for this patient on the shared stack
    page.get_by_label("From").select_option("10:00")
    page.get_by_label("Until").select_option("00:00")
    expect(page.get_by_label("Until")).to_contain_text("midnight")
    with page.expect_response(re.compile(r"/api/booking/v1/waitlist$")) as joined:
        page.get_by_role("button", name="Join the waitlist").click()

    assert joined.value.status == 201, joined.value.text()
    sent = json.loads(joined.value.request.post_data)
    assert sent["screening_id"] == screened.value.json()["id"]
    assert sent["windows"] == [{"weekdays": ["sun"], "start": "10:00", "end": "00:00"}]
    expect(page.get_by_role("status").filter(has_text="You are on the waitlist")).to_be_focused()
    expect(page.locator(".kb-summary")).to_contain_text("Preparation session")
    wait_for_subject(stack, email, "You are on the waitlist")
    token = joined.value.json()["leave_url"].rsplit("/", 1)[1]
    assert requests.post(f"{stack.base}/api/booking/v1/waitlist/leave/{token}", timeout=10).json()["status"] == "left"
