"""The staff console in a real browser: sign-in, the calendar, booking changes, schedules, screening review."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect

from kapbook_booking.service_layer.demo import demo_id
from support.screening_answers import eligible_answers
from support.waiting import wait_for

pytestmark = pytest.mark.integration

NEW_YORK = ZoneInfo("America/New_York")
def screening_answers(**changes) -> dict:
    return eligible_answers(phq9=2, date_of_birth="1979-03-02", medications=[], failed_antidepressant_trials=3, **changes)


def submit_screening(stack, name: str, email: str, answers: dict) -> dict:
    response = requests.post(f"{stack.base}/api/eligibility/v1/screenings",
                             json={"patient": {"name": name, "email": email}, "answers": answers}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def local_day(slot: dict) -> date:
    return datetime.fromisoformat(slot["start"]).astimezone(NEW_YORK).date()


def test_staff_sign_in_see_a_new_booking_on_the_calendar_and_cancel_it_and_the_patient_is_emailed(stack, page, console):
    slot = stack.free_slot("free-consultation", days_ahead=9)
    booking = stack.book(slot, "free-consultation", "Quinn Calendar", "quinn.calendar@example.org")
    # A change cancels notices still pending for the booking (by design): let the confirmation go first.
    stack.wait_for_mail("quinn.calendar@example.org", count=1)
    token = stack.staff_token("front_desk", "Frankie Front", "frankie@clinic.example")

    console(page, token)
    expect(page).to_have_url(re.compile(r"/staff/calendar"))
    expect(page.get_by_text("Frankie Front")).to_be_visible()
    page.get_by_label("Date", exact=True).fill(local_day(slot).isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(local_day(slot).strftime("%A")))
    block = page.locator(".cal-col a.cal-block", has_text="Quinn Calendar")
    expect(block).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("Quinn Calendar")
    block.click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Quinn Calendar")
    expect(page.get_by_text(booking["id"])).to_be_visible()
    page.get_by_label("Reason (recorded, not sent to the patient)").last.fill("Patient phoned to cancel")
    page.get_by_role("button", name="Cancel appointment").click()
    expect(page.get_by_role("status")).to_have_text("Cancelled. The patient is told by email.")
    expect(page.locator("h1 .badge")).to_have_text("Cancelled")

    emails = stack.wait_for_mail("quinn.calendar@example.org", count=2)
    cancellation = [email for email in emails if "has been cancelled" in email["Subject"]]
    assert len(cancellation) == 1, [email["Subject"] for email in emails]
    invite = next(part for part in cancellation[0].walk() if part.get_content_type() == "text/calendar")
    assert "METHOD:CANCEL" in invite.get_content()
    page.reload()
    log = page.locator("[data-notification-log] table")
    expect(log).to_contain_text("Cancellation")
    expect(log).to_contain_text("Confirmation")

    page.goto(f"{stack.base}/staff/screenings")
    expect(page.get_by_role("heading", name="Not available to your role")).to_be_visible()
    page.goto(f"{stack.base}/staff/calendar")


def test_staff_book_for_a_patient_move_the_booking_and_mark_the_arrival(stack, page, console):
    token = stack.staff_token("admin", "Avery Admin", "avery@clinic.example")
    console(page, token)
    page.get_by_role("link", name="New booking").first.click()
    page.get_by_label("Appointment type").select_option(label="Medical evaluation (60 min)")
    first = local_day(stack.free_slot("medical-evaluation", days_ahead=10))
    page.get_by_label("Date", exact=True).fill(first.isoformat())
    page.get_by_role("button", name="Find free times").click()
    page.locator(".slot").first.click()
    page.get_by_label("Full name").fill("Morgan Phone")
    page.get_by_label("Email", exact=True).fill("morgan.phone@example.org")
    page.get_by_role("button", name="Book appointment").click()
    expect(page.get_by_role("status")).to_contain_text("Booked.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Morgan Phone")
    # A change cancels notices still pending for the booking (by design): let the confirmation go first.
    stack.wait_for_mail("morgan.phone@example.org", count=1)

    later = first + timedelta(days=7)
    page.get_by_label("New date").fill(later.isoformat())
    page.get_by_role("button", name="Find free times").click()
    page.get_by_label("Reason (recorded, not sent to the patient)").first.fill("Patient asked for the next week")
    move = page.locator("button.slot").first
    target = move.get_attribute("aria-label")
    move.click()
    expect(page.get_by_role("status")).to_contain_text("Moved.")
    expect(page.locator(".facts").first).to_contain_text(target.removeprefix("Move to "))

    page.get_by_role("button", name="Mark arrived").click()
    expect(page.get_by_role("status")).to_have_text("Marked as arrived.")
    expect(page.locator("h1 .badge")).to_have_text("Arrived")
    subjects = [email["Subject"] for email in stack.wait_for_mail("morgan.phone@example.org", count=2)]
    assert any(subject.startswith("Updated: your appointment on") for subject in subjects), subjects


def test_staff_edit_working_hours_overrides_and_time_off_and_see_them_on_the_calendar(stack, page, console):
    token = stack.staff_token("admin", "Avery Admin", "avery@clinic.example")
    console(page, token)
    page.get_by_role("link", name="Schedules").click()
    page.get_by_role("link", name="Dr. Marcus Chen").click()
    expect(page.get_by_role("heading", name="Dr. Marcus Chen")).to_be_visible()

    page.get_by_label("Start of Monday 08:00").fill("07:30")
    page.get_by_role("button", name="Save Monday 08:00").click()
    expect(page.get_by_role("status")).to_have_text("Working hours saved.")
    expect(page.get_by_label("Start of Monday 07:30")).to_have_value("07:30")

    hours = page.get_by_role("form", name="Add working hours")
    hours.get_by_label("Day", exact=True).select_option(label="Saturday")
    hours.get_by_label("From", exact=True).fill("09:00")
    hours.get_by_label("To", exact=True).fill("08:00")
    hours.get_by_role("button", name="Add hours").click()
    expect(page.get_by_role("alert")).to_contain_text("must end after they start")

    closed = date.today() + timedelta(days=20)
    override = page.get_by_role("form", name="Add an override")
    override.get_by_label("Date").fill(closed.isoformat())
    override.get_by_label("Location").select_option(label="Kapbook Clinic Santa Monica")
    override.get_by_role("button", name="Add override").click()
    expect(page.get_by_role("status")).to_have_text("Date override added.")
    expect(page.get_by_role("table").nth(1)).to_contain_text("Closed")

    away = date.today() + timedelta(days=15)
    page.get_by_label("From date").fill(away.isoformat())
    page.get_by_label("From time").fill("10:00")
    page.get_by_label("Until date").fill(away.isoformat())
    page.get_by_label("Until time").fill("14:00")
    page.get_by_label("Reason (staff only; no health details)").fill("Conference")
    page.get_by_role("button", name="Add time off").click()
    expect(page.get_by_role("status")).to_have_text("Time off added.")

    page.get_by_role("link", name="Week calendar").first.click()
    page.get_by_label("Date", exact=True).fill(away.isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".cal-block.time_off")).to_contain_text("Conference")


def test_a_clinician_reviews_a_screening_and_opens_a_crisis_from_the_alert_link(stack, page, console):
    review = submit_screening(stack, "Rae Review", "rae.review@example.org", screening_answers(bipolar_history=True))
    assert review["outcome"] == "needs_review"
    crisis = submit_screening(stack, "Sol Urgent", "sol.urgent@example.org",
                     screening_answers(cssrs_1=True, cssrs_2=True, cssrs_3=True, cssrs_4=False, cssrs_5=True))
    token = stack.staff_token("clinician", "Dr. Cleo Clinician", "cleo@clinic.example")

    # The on-call alert links to the console; following it signs in and lands on that screening.
    link = f"{stack.base}/staff/screenings/{crisis['id']}"
    wait_for(lambda: any(link in mail.get_body(preferencelist=("plain",)).get_content()
                         for mail in stack.mail_to("oncall@clinic.example")), timeout=30, interval=0.25)
    console(page, token, link.removeprefix(stack.base))
    expect(page).to_have_url(link)
    expect(page.get_by_role("alert")).to_contain_text("High suicide risk")

    page.get_by_role("link", name="Screenings").click()
    queue = page.get_by_role("table")
    expect(queue).to_contain_text("Rae Review")
    expect(queue.locator("tbody tr").first).to_contain_text("Crisis")
    page.get_by_role("link", name="Rae Review").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Needs review")
    expect(page.get_by_role("table")).to_contain_text("bipolar disorder")
    page.get_by_label("Approve: they may book treatment sessions").check()
    page.get_by_label("Note for the record").fill("History reviewed by phone; stable for 6 years on lithium.")
    page.get_by_role("button", name="Save decision").click()
    expect(page.get_by_role("status")).to_contain_text("Decision saved")
    expect(page.get_by_text("Approved by Dr. Cleo Clinician")).to_be_visible()


def test_console_forms_refuse_a_post_without_their_csrf_token(stack, page, console):
    token = stack.staff_token("admin", "Avery Admin", "avery@clinic.example")
    console(page, token)
    slot = stack.free_slot("free-consultation", days_ahead=12)
    booking = stack.book(slot, "free-consultation", "Cory Csrf", "cory.csrf@example.org")
    forged = page.request.post(f"{stack.base}/staff/bookings/{booking['id']}/visit", form={"action": "no_show"})
    assert forged.status == 400
    assert "This form has expired" in forged.text()
    status = requests.get(f"{stack.base}/api/booking/v1/bookings/{booking['id']}",
                          headers={"Authorization": f"Bearer {token}"}, timeout=10).json()["status"]
    assert status == "booked"
    page.goto(f"{stack.base}/staff/bookings/{booking['id']}")
    page.get_by_role("button", name="Mark no-show").click()
    expect(page.locator("h1 .badge")).to_have_text("No-show")


def test_a_sign_in_belongs_to_its_own_browser_only(stack, new_page, console):
    """Another browser (another person) opening the console sees the sign-in form, not someone's session."""
    first, second = new_page(), new_page()
    console(first, stack.staff_token("front_desk", "Frankie Front", "frankie@clinic.example"))
    second.goto(f"{stack.base}/staff/calendar")
    expect(second.get_by_label("Password")).to_be_visible()
    assert not [cookie for cookie in second.context.cookies() if cookie["name"] == "kapbook_staff"]
    cookie = next(cookie for cookie in first.context.cookies() if cookie["name"] == "kapbook_staff")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"


def test_the_room_calendar_shows_a_dosing_session_in_its_chair_and_a_hold(stack, page, console):
    screening = submit_screening(stack, "Ines Infusion", "ines.infusion@example.org", screening_answers())
    assert screening["outcome"] == "eligible"
    # The chairs below are Manhattan's: on some days the first free infusion is elsewhere.
    manhattan = demo_id("loc-nyc")
    slot = stack.free_slot("iv-infusion", days_ahead=18, location_id=manhattan)
    body = {"appointment_type": "iv-infusion", "start": slot["start"], "clinician_id": slot["clinician_id"],
            "screening_id": screening["id"], "driver_confirmed": True,
            "patient": {"name": "Ines Infusion", "email": "ines.infusion@example.org", "timezone": "America/New_York"}}
    booked = requests.post(f"{stack.base}/api/booking/v1/bookings", json=body, timeout=10)
    assert booked.status_code == 201, booked.text
    later = stack.free_slot("iv-infusion", days_ahead=18, clinician_id=slot["clinician_id"], location_id=manhattan)
    held = requests.post(f"{stack.base}/api/booking/v1/holds", timeout=10, json={
        "appointment_type": "iv-infusion", "start": later["start"], "clinician_id": later["clinician_id"]})
    assert held.status_code == 201, held.text

    console(page, stack.staff_token("front_desk", "Frankie Front", "frankie@clinic.example"))
    page.get_by_role("link", name="Rooms and chairs").click()
    page.get_by_label("Date", exact=True).fill(local_day(slot).isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".cal-col-head")).to_contain_text(["Dosing room A", "Infusion chair 1", "Infusion chair 2", "Infusion chair 3"])
    expect(page.locator(".cal-col a.cal-block", has_text="Ines Infusion")).to_contain_text("IV ketamine infusion")
    expect(page.locator(".cal-block.status-held")).to_contain_text("Held while a patient books")
    expect(page.get_by_role("table")).to_contain_text("Infusion chair")
