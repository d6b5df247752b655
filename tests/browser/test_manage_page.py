"""The manage link from the email: the patient sees the booking, moves it or cancels it within the
clinic's policy, and is told the policy when a change comes too late."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect

from kapbook_booking.service_layer.demo import demo_id

pytestmark = pytest.mark.integration

NEW_YORK = ZoneInfo("America/New_York")
CHANGE_NOTICE = timedelta(hours=24)  # the demo clinic's online cancel/reschedule notice


def test_a_patient_reschedules_then_cancels_from_the_manage_link(stack, page):
    booking = stack.book(stack.free_slot("free-consultation", days_ahead=16), "free-consultation", "Mika Manage",
                         "mika.manage@example.org", timezone="Europe/Berlin")
    # Each step waits for its email: a change cancels notices still pending for the booking (by
    # design), so acting within a second of the last change could legitimately skip one.
    stack.wait_for_mail("mika.manage@example.org", count=1)
    page.goto(booking["manage_url"])
    expect(page.get_by_role("heading", name="Your appointment", exact=True)).to_be_visible()
    expect(page.locator(".summary-card")).to_contain_text("Free consultation")
    expect(page.locator(".summary-card")).to_contain_text("Berlin (Europe/Berlin) time")
    expect(page.get_by_text("You can reschedule online up to 24 hours before it starts")).to_be_visible()

    page.get_by_role("link", name="Reschedule").click()
    expect(page.get_by_role("heading", name="Choose a new time with Dr. Ana Rivera")).to_be_visible()
    # Today's times come first; one inside the 24-hour notice could not be cancelled online later.
    new_time = first_slot_from(page, datetime.now(NEW_YORK) + CHANGE_NOTICE + timedelta(hours=2))
    chosen = new_time.get_attribute("aria-label")
    new_time.click()
    expect(page.get_by_role("status")).to_have_text("Your appointment has moved. We have emailed you the new time.")
    when = ", ".join(chosen.split(", ")[:2])
    expect(page.locator(".summary-card")).to_contain_text(when)
    stack.wait_for_mail("mika.manage@example.org", count=2)

    page.get_by_role("link", name="Cancel appointment").click()
    page.get_by_role("button", name="Yes, cancel it").click()
    expect(page.get_by_role("status")).to_contain_text("Your appointment is cancelled")
    expect(page.locator(".summary-card .status")).to_have_text("Cancelled")
    expect(page.get_by_role("link", name="Reschedule")).to_have_count(0)

    subjects = [mail["Subject"] for mail in stack.wait_for_mail("mika.manage@example.org", count=3)]
    assert any(subject.startswith("Updated: your appointment on") for subject in subjects), subjects
    assert any("has been cancelled" in subject for subject in subjects), subjects


def first_slot_from(page, earliest: datetime):
    """The first offered time starting at or after ``earliest`` (buttons carry the ISO start)."""
    buttons = page.locator(".slots button")
    expect(buttons.first).to_be_visible()
    starts = buttons.evaluate_all("buttons => buttons.map(button => button.value)")
    index = next((i for i, start in enumerate(starts) if datetime.fromisoformat(start) >= earliest), None)
    assert index is not None, f"no time offered from {earliest.isoformat()} on: {starts}"
    return buttons.nth(index)


def soon() -> datetime:
    """A whole hour 4 to 5 hours from now (so within the 24-hour notice), kept inside one local day."""
    start = (datetime.now(NEW_YORK) + timedelta(hours=5)).replace(minute=0, second=0, microsecond=0)
    return start + timedelta(hours=1) if start.hour == 23 else start


def test_a_change_too_close_to_the_appointment_is_refused_with_the_policy_explained(stack, page):
    token = stack.staff_token("admin", "Avery Admin", "avery@clinic.example")
    staff = {"Authorization": f"Bearer {token}"}
    start, rivera = soon(), demo_id("dr-rivera")
    # Give Dr. Rivera an hour today or tomorrow, whatever the weekday the test runs on.
    override = requests.post(f"{stack.base}/api/booking/v1/clinicians/{rivera}/overrides", headers=staff, timeout=10, json={
        "location_id": demo_id("loc-nyc"), "date": start.date().isoformat(),
        "start_time": f"{start:%H:%M}", "end_time": f"{start + timedelta(hours=1):%H:%M}"})
    assert override.status_code == 201, override.text
    try:
        booking = stack.book({"start": start.isoformat(), "clinician_id": rivera}, "free-consultation", "Lee Late",
                             "lee.late@example.org")
        page.goto(booking["manage_url"])
        page.get_by_role("link", name="Cancel appointment").click()
        page.get_by_role("button", name="Yes, cancel it").click()
        expect(page.get_by_role("alert")).to_contain_text("We could not make that change.")
        expect(page.get_by_role("alert")).to_contain_text("can be cancelled online up to 24 hours before they start")
        expect(page.get_by_role("alert")).to_contain_text("Please call the clinic")
        expect(page.locator(".summary-card .status")).to_have_text("Confirmed")
    finally:
        requests.delete(f"{stack.base}/api/booking/v1/overrides/{override.json()['id']}", headers=staff, timeout=10)
