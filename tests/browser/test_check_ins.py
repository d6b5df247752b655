"""A check-in from its email, and the trend chart a clinician reads, in real Chromium on the whole system.

The patient books a dosing session through the public API; the reminders service plans the check-in
email for 24 hours before it. Rather than wait those hours of wall-clock time, the test moves that
one planned message's due time to now in the reminders database (as if the day before the dose had
come); the stack's own dispatcher then renders and sends it, and the test follows the link in it.
"""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import requests
from playwright.sync_api import expect
from sqlalchemy import create_engine, select

from kapbook_reminders.adapters import tables as reminders_tables
from support.screening_answers import eligible_answers
from support.waiting import wait_for

API = "/api/booking/v1"
# PHQ-9 items answered "Several days" (1 each) in the check-in; every other answer is the lowest.
PHQ9_SEVERAL_DAYS = 3
CHECK_IN_LINK = re.compile(r"(http\S+/api/eligibility/v1/check-in\?token=[\w=-]+)")


def book_dose(stack, name: str, email: str, screening_id: str) -> dict:
    """A preparation session (IV infusions need one first), then an IV infusion a week or more on."""
    patient = {"name": name, "email": email, "timezone": "America/New_York"}
    for code, days_ahead in (("preparation-session", 2), ("iv-infusion", 7)):
        slot = stack.free_slot(code, days_ahead=days_ahead)
        response = requests.post(f"{stack.base}{API}/bookings", timeout=10, json={
            "appointment_type": code, "start": slot["start"], "clinician_id": slot["clinician_id"],
            "screening_id": screening_id, "driver_confirmed": True, "patient": patient})
        assert response.status_code == 201, response.text
    return response.json()


def bring_check_in_due_now(stack, booking_id: str) -> None:
    """The day before the dose, brought forward: the planned check-in becomes due now."""
    messages = reminders_tables.messages
    engine = create_engine(f"sqlite:///{stack.var_dir / 'reminders.db'}")
    planned = (messages.c.booking_id == booking_id) & (messages.c.kind == "check_in_before_dose")
    try:
        wait_for(lambda: _one_scheduled(engine, planned), timeout=30, interval=0.25)
        with engine.begin() as connection:
            connection.execute(messages.update().where(planned, messages.c.status == "scheduled")
                               .values(due_at=datetime.now(UTC)))
    finally:
        engine.dispose()


def _one_scheduled(engine, planned) -> bool:
    with engine.connect() as connection:
        statuses = connection.execute(select(reminders_tables.messages.c.status).where(planned)).scalars().all()
    return statuses == ["scheduled"]


def check_in_link_from_email(stack, email: str) -> str:
    found = wait_for(lambda: [m for m in stack.mail_to(email) if str(m["Subject"]).startswith("A quick check-in")],
                     timeout=30, interval=0.25)
    assert len(found) == 1, [str(m["Subject"]) for m in found]
    text = found[0].get_body(preferencelist=("plain",)).get_content()
    return CHECK_IN_LINK.search(text).group(1)


def test_a_patient_checks_in_from_the_email_and_the_clinician_sees_it_on_the_trend(stack, page, console):
    email, name = f"check-in-{uuid.uuid4().hex[:8]}@example.org", "Noor Checkin"
    screening = requests.post(f"{stack.base}/api/eligibility/v1/screenings", timeout=10,
                              json={"patient": {"name": name, "email": email}, "answers": eligible_answers()})
    assert screening.status_code == 201, screening.text
    dose = book_dose(stack, name, email, screening.json()["id"])
    bring_check_in_due_now(stack, dose["id"])

    page.goto(check_in_link_from_email(stack, email))
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
