"""A check-in from its link, and the trend chart a clinician reads, in real Chromium on the whole system.

The link is the one the reminders service puts in the email the day before a dose: a Fernet token
of ids under the key derived from the service token (the stack's default). Minting it here, rather
than waiting 24 hours of wall-clock time for the planned email, keeps the test off the clock; the
reminders suites test that the email is planned and sent with such a link.
"""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import requests
from playwright.sync_api import expect

from kapbook_platform.config import DEVELOPMENT_SERVICE_TOKEN
from kapbook_platform.contracts.check_in_links import CheckInLink, CheckInOccasion, check_in_link_keys, make_check_in_token
from support.screening_answers import eligible_answers

# PHQ-9 items answered "Several days" (1 each) in the check-in; every other answer is the lowest.
PHQ9_SEVERAL_DAYS = 3


def check_in_url(stack, email: str, name: str) -> str:
    keys = check_in_link_keys((), stack.env.get("KAPBOOK_SERVICE_TOKEN") or DEVELOPMENT_SERVICE_TOKEN)
    dose = datetime.now(UTC) + timedelta(days=1)
    link = CheckInLink(str(uuid.uuid4()), CheckInOccasion.BEFORE_DOSE, email, name, dose, dose)
    return f"{stack.base}/api/eligibility/v1/check-in?token={make_check_in_token(link, keys)}"


def test_a_patient_checks_in_from_the_link_and_the_clinician_sees_it_on_the_trend(stack, page, console):
    email, name = f"check-in-{uuid.uuid4().hex[:8]}@example.org", "Noor Checkin"
    screening = requests.post(f"{stack.base}/api/eligibility/v1/screenings", timeout=10,
                              json={"patient": {"name": name, "email": email}, "answers": eligible_answers()})
    assert screening.status_code == 201, screening.text

    page.goto(check_in_url(stack, email, name))
    expect(page.get_by_role("heading", level=1)).to_have_text("How have you been?")
    for fieldset in page.locator("fieldset").all():
        field = fieldset.get_attribute("id").removeprefix("q-")
        choices = fieldset.locator("input[type=radio]")
        lowest = fieldset.locator('input[value="0"], input[value="false"]').first
        several = fieldset.locator('input[value="1"]')
        phq9_position = int(match.group(1)) if (match := re.fullmatch(r"phq9_(\d+)", field)) else None
        if phq9_position is not None and phq9_position <= PHQ9_SEVERAL_DAYS and several.count():
            several.check()
        elif lowest.count():
            lowest.check()
        else:
            choices.first.check()
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect(page.get_by_role("heading", name="Please reach out for support now")).to_have_count(0)

    token = stack.staff_token("clinician", "Dr. Tara Trend", f"trend-{uuid.uuid4().hex[:6]}@clinic.example")
    console(page, token, f"/staff/trends/{screening.json()['id']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{name}: how the course is going")
    rows = page.locator("#trend-values tbody tr")
    expect(rows).to_have_count(2)  # the screening (the baseline), then the check-in
    expect(rows.nth(0)).to_contain_text("baseline")
    check_in_cells = rows.nth(1).locator("td")
    expect(check_in_cells.nth(2)).to_have_text(str(PHQ9_SEVERAL_DAYS))
    expect(check_in_cells.nth(4)).to_have_text("0")
    charts = page.locator("svg")
    assert charts.count() >= 2, "a PHQ-9 and a GAD-7 chart"
