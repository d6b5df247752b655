"""A clinician linked to their clinician record, in a real browser: their own calendar by default,
their own time off (with the warning about the appointments in it), and no one else's schedule."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect

pytestmark = pytest.mark.integration

NEW_YORK = ZoneInfo("America/New_York")


def test_a_clinician_edits_their_own_time_off_sees_the_warning_and_is_refused_on_another_clinicians(stack, page, console):
    slot = stack.free_slot("free-consultation", days_ahead=24)
    booking = stack.book(slot, "free-consultation", "Noor Haddad", f"noor-{uuid.uuid4().hex[:6]}@example.org")
    own = slot["clinician_id"]
    token = stack.staff_token("clinician", "Own Schedule Clinician", f"own-{uuid.uuid4().hex[:6]}@clinic.example", clinician_id=own)
    clinicians = requests.get(f"{stack.base}/api/booking/v1/clinicians", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    other = next(person for person in clinicians if person["id"] != own)

    console(page, token, "/staff/calendar")
    expect(page).to_have_url(re.compile(rf"/staff/calendar\?.*subject={own}"))

    day = datetime.fromisoformat(booking["start"]).astimezone(NEW_YORK).date()
    page.goto(f"{stack.base}/staff/clinicians/{own}")
    form = page.get_by_role("form", name="Add time off")
    form.get_by_label("From date").fill(day.isoformat())
    form.get_by_label("From time").fill("00:00")
    form.get_by_label("Until date").fill(day.isoformat())
    form.get_by_label("Until time").fill("23:59")
    form.get_by_label("Time zone").select_option("America/New_York")
    form.get_by_role("button", name="Add time off").click()
    expect(page.get_by_role("status")).to_have_text("Time off added.")
    warning = page.locator("#time-off-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("in this time off")
    expect(warning).to_contain_text("reschedule or cancel them")
    expect(warning).to_contain_text("Noor")
    expect(warning).not_to_contain_text("Haddad")
    expect(warning.get_by_role("link").first).to_have_attribute("href", re.compile(r"/staff/bookings/"))

    # Edit it: remove it again, then it is gone from the list.
    page.get_by_role("button", name=re.compile(r"^Remove time off from")).first.click()
    expect(page.get_by_role("status")).to_have_text("Time off removed.")

    # Another clinician's schedule: read only, and a forged change is refused with not_your_schedule.
    page.goto(f"{stack.base}/staff/clinicians/{other['id']}")
    expect(page.get_by_text("You can see this schedule")).to_be_visible()
    expect(page.get_by_role("button", name="Add time off")).to_have_count(0)
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = page.request.post(f"{stack.base}/staff/clinicians/{other['id']}/time-off", form={
        "csrf_token": csrf, "tz": "America/New_York", "start_date": (day + timedelta(days=1)).isoformat(),
        "start_time": "09:00", "end_date": (day + timedelta(days=1)).isoformat(), "end_time": "12:00"})
    assert refused.status == 403
    assert "only their own schedule" in refused.text()
