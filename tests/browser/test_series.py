"""Treatment series in a real browser (issue 12 §3): a patient books a whole IV induction from the
widget with one confirmation; a series is refused whole when one session's clinician and chair are
taken meanwhile; the manage page cancels the remaining sessions (past ones stay) and quotes the
protocol when a move would break it; staff book a series with an audited override and cancel it."""
from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect
from werkzeug.serving import make_server

from kapbook_booking.adapters import repository as repo
from kapbook_booking.adapters.eligibility_client import EligibilityDecision
from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.app import create_app
from kapbook_booking.service_layer.demo import seed_demo_clinic
from support.accessibility import assert_accessible
from support.clock import TravellingClock
from support.pipeline import free_port
from support.screening_answers import eligible_answers
from support.waiting import wait_for

pytestmark = pytest.mark.integration

API = "/api/booking/v1"
# Element screenshots of the series screens, for review and for the README (docs/screenshots).
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
NEW_YORK = ZoneInfo("America/New_York")
DRIVER = "An adult will take me home after the appointment. I will not drive until the next day."


def shot(locator, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    locator.screenshot(path=str(SHOTS / f"{name}.png"))


def iv_protocol(base: str) -> dict:
    """The demo clinic's IV induction protocol (the one protocol of the IV infusion type)."""
    protocols = requests.get(f"{base}{API}/protocols", params={"appointment_type": "iv-infusion"}, timeout=10).json()
    assert protocols, "the demo clinic ships an IV induction protocol"
    return protocols[0]


def booked_rows(stack, email: str) -> list[tuple]:
    """The booking database's rows for ``email`` (the stack runs on SQLite under its var folder)."""
    with sqlite3.connect(f"file:{stack.var_dir / 'booking.db'}?mode=ro", uri=True) as db:
        return db.execute("SELECT id, status, start FROM bookings WHERE lower(patient_email) = ? AND status != 'held'",
                          (email.lower(),)).fetchall()


def submit_screening(stack, name: str, email: str) -> dict:
    response = requests.post(f"{stack.base}/api/eligibility/v1/screenings",
                             json={"patient": {"name": name, "email": email}, "answers": eligible_answers()}, timeout=10)
    assert response.status_code == 201 and response.json()["outcome"] == "eligible", response.text
    return response.json()


def book_preparation(base: str, name: str, email: str, screening_id: str) -> dict:
    """A preparation session two or three days on (IV induction needs one before its first session)."""
    first = (datetime.now(NEW_YORK) + timedelta(days=2)).date()
    slots = requests.get(f"{base}{API}/availability", timeout=10, params={
        "appointment_type": "preparation-session", "start": first.isoformat(), "end": (first + timedelta(days=3)).isoformat(),
        "timezone": "America/New_York"}).json()["slots"]
    assert slots, f"no preparation session free from {first}"
    response = requests.post(f"{base}{API}/bookings", timeout=10, json={
        "appointment_type": "preparation-session", "start": slots[0]["start"], "clinician_id": slots[0]["clinician_id"],
        "screening_id": screening_id, "patient": {"name": name, "email": email, "timezone": "America/New_York"}})
    assert response.status_code == 201, response.text
    return response.json()


def screen_in_widget(page, steps, name: str, email: str) -> None:
    """Choose the IV infusion and pass the screening; ends on the first-session step a week on."""
    steps.choose_type("IV ketamine infusion")
    steps.screening().get_by_label("Full name").fill(name)
    steps.screening().get_by_label("Email").fill(email)
    steps.answer(eligible_answers())
    steps.screening().get_by_role("button", name="Submit answers").click()
    expect(steps.heading("Choose a day and time")).to_be_focused()
    steps.later_week()  # days clear of the 48-hour dosing notice, whatever the hour


def plan_sessions(page) -> list[dict]:
    """The proposed sessions on screen: position, ISO start, clinician id."""
    return page.locator(".kb-plan-item").evaluate_all(
        "items => items.map(item => ({position: Number(item.dataset.position), start: item.dataset.start, clinician_id: item.dataset.clinician}))")


def test_a_patient_books_a_six_session_iv_induction_from_the_widget_with_one_confirmation(stack, new_page, widget, console):
    protocol = iv_protocol(stack.base)
    email = "iris.induction@example.org"
    book_preparation(stack.base, "Iris Induction", email, submit_screening(stack, "Iris Induction", email)["id"])
    page = new_page()
    steps = widget(page).open_demo()
    screen_in_widget(page, steps, "Iris Induction", email)
    slot, slot_name = steps.first_slot()
    slot.click()

    expect(steps.heading(f"Your {protocol['sessions']} sessions")).to_be_focused()
    expect(page.locator(".kb-progress")).to_have_text("Step 4 of 6")
    items = page.locator(".kb-plan-item")
    expect(items).to_have_count(protocol["sessions"])
    expect(items.first).to_contain_text(", ".join(slot_name.split(", ")[:2]))  # session 1 is the time picked
    expect(items.first).to_contain_text(f"Session 1 of {protocol['sessions']}")
    planned = plan_sessions(page)
    starts = [datetime.fromisoformat(session["start"]) for session in planned]
    assert starts == sorted(starts) and all(b - a >= timedelta(hours=protocol["min_gap_hours"]) for a, b in zip(starts, starts[1:]))
    assert_accessible(page, "[data-kapbook-widget]")
    shot(page.locator("[data-kapbook-widget]"), "series-widget-plan")
    # The keyboard alone carries on from the focused heading.
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")

    expect(steps.heading("Your details")).to_be_focused()
    expect(page.get_by_label("Email")).to_have_value(email)
    page.get_by_label(DRIVER).check()
    page.get_by_role("button", name="Continue").click()
    expect(steps.heading("Check and confirm")).to_be_focused()
    expect(page.locator(".kb-summary")).to_contain_text(protocol["name"])
    expect(page.locator(".kb-plan-item")).to_have_count(protocol["sessions"])
    page.get_by_role("button", name=f"Confirm all {protocol['sessions']} sessions").click()

    expect(steps.heading("You are booked")).to_be_focused()
    done = page.locator(".kb-done .kb-plan-item")
    expect(done).to_have_count(protocol["sessions"])
    assert_accessible(page, "[data-kapbook-widget]")
    rows = booked_rows(stack, email)
    assert len(rows) == protocol["sessions"] + 1 and {status for _id, status, _start in rows} == {"booked"}, rows  # and the preparation
    manage_url = page.get_by_role("link", name="Manage session 1").get_attribute("href")
    series = requests.get(f"{stack.base}{API}/manage/{manage_url.rsplit('/', 1)[1]}/series", timeout=10).json()
    assert [datetime.fromisoformat(s["start"]) for s in series["sessions"]] == starts
    assert series["status"] == "booked"

    staff_page = new_page()
    console(staff_page, stack.staff_token("front_desk", "Frankie Front", "frankie@clinic.example"),
            f"/staff/bookings/{series['sessions'][2]['id']}")
    expect(staff_page.locator(".facts").first).to_contain_text(f"Infusion 3 of {protocol['sessions']}")
    staff_page.get_by_role("link", name="View the series").click()
    expect(staff_page.get_by_role("heading", level=1)).to_contain_text("Iris Induction")
    expect(staff_page.locator("tbody tr")).to_have_count(protocol["sessions"])
    expect(staff_page.locator("tbody")).not_to_contain_text("Cancelled")


def test_a_series_is_refused_whole_when_one_sessions_chair_is_taken_before_the_patient_confirms(stack, page, widget):
    email = "rafa.refused@example.org"
    preparation = book_preparation(stack.base, "Rafa Refused", email, submit_screening(stack, "Rafa Refused", email)["id"])
    steps = widget(page).open_demo()
    screen_in_widget(page, steps, "Rafa Refused", email)
    slot, _name = steps.first_slot()
    slot.click()
    expect(steps.heading("Your 6 sessions")).to_be_focused()
    taken = plan_sessions(page)[3]  # session 4

    # Meanwhile another patient takes session 4's clinician and chair.
    other = submit_screening(stack, "Olli Other", "olli.other@example.org")
    response = requests.post(f"{stack.base}{API}/bookings", timeout=10, json={
        "appointment_type": "iv-infusion", "start": taken["start"], "clinician_id": taken["clinician_id"],
        "screening_id": other["id"], "driver_confirmed": True,
        "patient": {"name": "Olli Other", "email": "olli.other@example.org", "timezone": "America/New_York"}})
    assert response.status_code == 201, response.text

    page.get_by_role("button", name="Continue with these sessions").click()
    page.get_by_label(DRIVER).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Confirm all 6 sessions").click()

    expect(steps.heading("Not all sessions could be booked")).to_be_focused()
    expect(steps.alert()).to_contain_text("Session 4")
    expect(page.locator(".kb-plan-item.kb-refused")).to_have_count(1)
    expect(page.locator('.kb-plan-item[data-position="4"]')).to_contain_text("Not available")
    expect(page.get_by_text("Nothing is booked")).to_be_visible()
    assert_accessible(page, "[data-kapbook-widget]")
    shot(page.locator("[data-kapbook-widget]"), "series-widget-refused")
    assert [row[0] for row in booked_rows(stack, email)] == [preparation["id"]]  # no session of the series

    # Another first session, a week later, plans afresh with the patient's details kept.
    page.get_by_role("button", name="Choose another first session").click()
    expect(steps.heading("Choose a day and time")).to_be_focused()
    steps.later_week()
    steps.first_slot()[0].click()
    expect(steps.heading("Your 6 sessions")).to_be_focused()
    page.get_by_role("button", name="Continue with these sessions").click()
    expect(page.get_by_label("Email")).to_have_value(email)


# --- the manage page, on a clock the test moves ------------------------------------------------------


class ServedBooking:
    """The booking service alone on a real port, with a travelling clock (so sessions can be past)."""

    def __init__(self, tmp_path) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.clock = TravellingClock()
        config = BookingConfig(database_url=f"sqlite:///{tmp_path / 'booking.db'}", var_dir=tmp_path, env="test",
                               public_base_url=self.base, eligibility_url="http://127.0.0.1:1")
        self.container = bootstrap(config, clock=self.clock)
        self.container.migrate()
        seed_demo_clinic(self.container.runtime.sessions)
        self.server = make_server("127.0.0.1", port, create_app(self.container), threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def eligible(self, screening_id: str, email: str) -> None:
        """The booking service already knows an eligible decision (as if the event had arrived)."""
        now = self.clock.now
        with self.container.runtime.sessions.begin() as session:
            repo.remember_eligibility_decision(session, EligibilityDecision(
                screening_id=screening_id, patient_email=email, allowed=True, decided_at=now, valid_until=now + timedelta(days=90)))

    def close(self) -> None:
        self.server.shutdown()
        self.container.runtime.engine.dispose()


@pytest.fixture
def served(tmp_path) -> Iterator[ServedBooking]:
    service = ServedBooking(tmp_path)
    yield service
    service.close()


def book_series_over_http(served: ServedBooking, email: str) -> dict:
    """A whole IV induction from a week on (clear of the 48-hour notice), booked through the API."""
    protocol = iv_protocol(served.base)
    first_day = (served.clock.now.astimezone(NEW_YORK) + timedelta(days=7)).date()
    slots = requests.get(f"{served.base}{API}/availability", timeout=10, params={
        "appointment_type": "iv-infusion", "start": first_day.isoformat(), "end": (first_day + timedelta(days=6)).isoformat(),
        "timezone": "America/New_York"}).json()["slots"]
    proposal = requests.get(f"{served.base}{API}/series/proposals", timeout=10, params={
        "protocol": protocol["code"], "start": slots[0]["start"], "timezone": "America/New_York"})
    assert proposal.status_code == 200, proposal.text
    served.eligible("screening-series-1", email)
    preparation = book_preparation(served.base, "Cam Course", email, "screening-series-1")
    assert preparation["start"] < slots[0]["start"]
    response = requests.post(f"{served.base}{API}/series", headers={"Idempotency-Key": "series-manage-1"}, timeout=10, json={
        "protocol": protocol["code"], "timezone": "America/New_York",
        "sessions": [{"start": s["start"], "clinician_id": s["clinician_id"]} for s in proposal.json()["sessions"]],
        "patient": {"name": "Cam Course", "email": email, "phone": None, "timezone": "America/New_York"},
        "screening_id": "screening-series-1", "driver_confirmed": True})
    assert response.status_code == 201, response.text
    return response.json()


def test_the_manage_page_shows_the_course_refuses_a_move_that_breaks_the_protocol_and_cancels_the_rest(served, page):
    series = book_series_over_http(served, "cam.course@example.org")
    sessions = series["sessions"]
    starts = [datetime.fromisoformat(s["start"]) for s in sessions]
    ends = [datetime.fromisoformat(s["end"]) for s in sessions]
    # Travel to just after a session followed by a gap longer than the 48-hour cancel notice: the
    # sessions up to it are past, every later one can still be cancelled online.
    past = next((i for i in range(len(sessions) - 1) if starts[i + 1] - ends[i] > timedelta(hours=49)), None)
    assert past is not None, f"no gap of two days in the plan: {starts}"
    served.clock.set(ends[past] + timedelta(minutes=30))
    current = sessions[past + 1]

    page.goto(current["manage_url"])
    card = page.locator(".summary-card")
    expect(card).to_contain_text(f"Infusion {past + 2} of {len(sessions)}")
    expect(card).to_contain_text(series["protocol"]["name"])
    listed = page.locator(".series-sessions li")
    expect(listed).to_have_count(len(sessions))
    for i in range(past + 1):
        expect(listed.nth(i)).to_contain_text("Past")
    expect(listed.nth(past + 1)).to_contain_text("This appointment")
    assert_accessible(page)
    shot(page.locator("main"), "series-manage-page")

    # A move to the day of the next session is closer than the protocol allows.
    if past + 2 < len(sessions):
        next_day = starts[past + 2].astimezone(NEW_YORK).date()
        page.goto(f"{current['manage_url']}?action=reschedule&from={next_day.isoformat()}&tz=America/New_York")
        same_day = page.locator(".slots button")
        offered = same_day.evaluate_all("buttons => buttons.map(button => button.value)")
        target = next(i for i, value in enumerate(offered) if datetime.fromisoformat(value).date() == next_day
                      and abs(datetime.fromisoformat(value) - starts[past + 2]) >= timedelta(hours=2))
        same_day.nth(target).click()
        expect(page.get_by_role("alert")).to_contain_text("We could not make that change.")
        expect(page.get_by_role("alert")).to_contain_text("hours")
        expect(page.locator(".summary-card .status")).to_have_text("Confirmed")

    page.goto(current["manage_url"])
    page.get_by_role("link", name="Cancel the remaining sessions").click()
    expect(page.get_by_role("heading", name=f"Cancel the {len(sessions) - past - 1} remaining sessions?")).to_be_visible()
    page.get_by_role("button", name="Yes, cancel the remaining sessions").click()
    expect(page.get_by_role("status")).to_contain_text("The remaining sessions are cancelled")
    expect(page.locator(".summary-card .status")).to_have_text("Cancelled")
    expect(page.get_by_role("link", name="Cancel the remaining sessions")).to_have_count(0)

    after = requests.get(f"{served.base}{API}/manage/{current['manage_url'].rsplit('/', 1)[1]}/series", timeout=10).json()
    statuses = [s["status"] for s in after["sessions"]]
    assert statuses == ["booked"] * (past + 1) + ["cancelled"] * (len(sessions) - past - 1), statuses
    assert after["status"] == "partly_cancelled"


# --- the staff console ------------------------------------------------------------------------------------


def test_staff_book_a_series_with_an_audited_override_see_it_and_cancel_the_remaining_sessions(stack, page, console):
    protocol = iv_protocol(stack.base)
    screening = submit_screening(stack, "Sasha Staffbooked", "sasha.staffbooked@example.org")
    preparation = book_preparation(stack.base, "Sasha Staffbooked", "sasha.staffbooked@example.org", screening["id"])
    first = stack.free_slot("iv-infusion", days_ahead=10)
    day = datetime.fromisoformat(first["start"]).astimezone(NEW_YORK).date()
    # A second free time the same day with the same nurse: too close for the protocol's gap.
    same_day = requests.get(f"{stack.base}{API}/availability", timeout=10, params={
        "appointment_type": "iv-infusion", "start": day.isoformat(), "end": day.isoformat(), "timezone": "America/New_York",
        "clinician_id": first["clinician_id"]}).json()["slots"]
    close = next(s for s in same_day if datetime.fromisoformat(s["start"]) - datetime.fromisoformat(first["start"]) >= timedelta(hours=2))
    close_start = datetime.fromisoformat(close["start"]).astimezone(NEW_YORK)

    console(page, stack.staff_token("admin", "Avery Admin", "avery@clinic.example"))
    page.get_by_role("link", name="Series").click()
    expect(page.get_by_role("heading", name="Treatment protocols")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text(protocol["name"])
    page.get_by_role("link", name="Book a series").click()
    page.get_by_label("Protocol", exact=True).select_option(value=protocol["code"])
    page.get_by_label("Date", exact=True).fill(day.isoformat())
    page.get_by_label("Times in").select_option("America/New_York")
    page.get_by_role("button", name="Find free times").click()
    first_start = datetime.fromisoformat(first["start"]).astimezone(NEW_YORK)
    page.locator(f'button.slot[value="{first_start.isoformat()}|{first["clinician_id"]}"]').click()
    expect(page.locator("tbody tr")).to_have_count(protocol["sessions"])

    page.get_by_label("Date of session 2").fill(day.isoformat())
    page.get_by_label("Time of session 2").fill(f"{close_start:%H:%M}")
    page.get_by_label("Full name").fill("Sasha Staffbooked")
    page.get_by_label("Email", exact=True).fill("sasha.staffbooked@example.org")
    page.get_by_label("Screening reference").fill(screening["id"])
    page.get_by_label("The patient confirmed that an adult will drive them home after each session").check()
    page.get_by_role("button", name=f"Book all {protocol['sessions']} sessions").click()
    expect(page.get_by_role("alert").first).to_contain_text(str(protocol["min_gap_hours"]))  # the rule is quoted
    assert [row[0] for row in booked_rows(stack, "sasha.staffbooked@example.org")] == [preparation["id"]]

    page.get_by_label("Date of session 2").fill(day.isoformat())
    page.get_by_label("Time of session 2").fill(f"{close_start:%H:%M}")
    page.get_by_label("The patient confirmed that an adult will drive them home after each session").check()
    page.get_by_label("Override reason (optional)").fill("Prescriber asked for two infusions on day one")
    page.get_by_role("button", name=f"Book all {protocol['sessions']} sessions").click()
    expect(page.get_by_role("status")).to_contain_text("Series booked.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sasha Staffbooked")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(protocol["sessions"])
    expect(rows.nth(1)).to_contain_text(f"{close_start:%H:%M}")
    assert len(booked_rows(stack, "sasha.staffbooked@example.org")) == protocol["sessions"] + 1
    assert_accessible(page)
    shot(page.locator("main"), "series-console")

    page.get_by_label("Reason (recorded, not sent to the patient)").fill("Patient moved away")
    page.get_by_role("button", name="Cancel the remaining sessions").click()
    expect(page.get_by_role("status")).to_contain_text("The remaining sessions are cancelled.")
    expect(page.locator("h1 .badge")).to_have_text("Cancelled")
    statuses = {row[0]: row[1] for row in booked_rows(stack, "sasha.staffbooked@example.org")}
    assert statuses.pop(preparation["id"]) == "booked" and set(statuses.values()) == {"cancelled"}, statuses


def test_an_administrator_adds_and_edits_a_protocol_in_the_console(stack, page, console):
    console(page, stack.staff_token("admin", "Avery Admin", "avery@clinic.example"), "/staff/protocols")
    add = page.get_by_role("form", name="Add a protocol")
    add.get_by_label("Code").fill("booster-course")
    add.get_by_label("Name").fill("Booster course")
    add.get_by_label("Appointment type").select_option(label="Booster infusion")
    add.get_by_label("Sessions").fill("3")
    add.get_by_label("Minimum gap (hours)").fill("0")  # allowed; the missing window is what is refused
    add.get_by_role("button", name="Add protocol").click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct the fields marked below.")
    expect(page.locator("ul.field-error")).to_contain_text("Max window days")

    add = page.get_by_role("form", name="Add a protocol")
    expect(add.get_by_label("Code")).to_have_value("booster-course")  # what was typed is kept
    expect(add.get_by_label("Sessions")).to_have_value("3")
    add.get_by_label("Minimum gap (hours)").fill("336")
    add.get_by_label("All within (days)").fill("60")
    add.get_by_role("button", name="Add protocol").click()
    expect(page.get_by_role("status")).to_have_text("Protocol added.")
    row = page.locator("tbody tr", has_text="Booster course")
    expect(row).to_contain_text("Booster infusion")
    expect(row).to_contain_text("336 h")

    page.get_by_text("Edit Booster course").click()
    edit = page.get_by_role("form", name="Edit Booster course")
    edit.get_by_label("Sessions").fill("4")
    edit.get_by_label("Offered").uncheck()
    edit.get_by_role("button", name="Save Booster course").click()
    expect(page.get_by_role("status")).to_have_text("Protocol saved.")
    expect(page.locator("tbody tr", has_text="Booster course")).to_contain_text("Not offered")
    public = requests.get(f"{stack.base}{API}/protocols", params={"appointment_type": "booster-infusion"}, timeout=10).json()
    assert "booster-course" not in [p["code"] for p in public]  # no longer offered to patients
    assert_accessible(page)


# --- the course of care end to end -------------------------------------------------------------------------

SIGN_IN_LINK = re.compile(r"https?://\S+/my/sign-in/[A-Za-z0-9_-]{40,}")


def emailed_sign_in_link(stack, email: str) -> str:
    """The one-time sign-in link in the newest email to ``email`` that has one."""
    def links():
        found = [SIGN_IN_LINK.search(mail.get_body(preferencelist=("plain",)).get_content()) for mail in stack.mail_to(email)]
        return [match.group(0) for match in found if match] or None
    return wait_for(links, timeout=30, interval=0.25)[-1]


def test_a_returning_patient_signs_in_by_the_emailed_link_and_books_an_infusion_series_without_rescreening(stack, page, widget):
    email, name = "rowan.return@example.org", "Rowan Return"
    screening = submit_screening(stack, name, email)
    book_preparation(stack.base, name, email, screening["id"])  # an earlier visit: screened, preparation booked

    page.goto(f"{stack.base}/my")
    page.get_by_label("Your email address").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.goto(emailed_sign_in_link(stack, email))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {email}.")).to_be_visible()

    steps = widget(page).open_demo()
    steps.choose_type("IV ketamine infusion")
    expect(steps.heading("Choose a day and time")).to_be_focused()  # no questionnaire: the screening is still valid
    expect(steps.alert()).to_contain_text("Your screening is valid until")
    steps.later_week()
    steps.first_slot()[0].click()
    expect(steps.heading("Your 6 sessions")).to_be_focused()
    page.get_by_role("button", name="Continue with these sessions").click()
    expect(page.get_by_label("Email")).to_have_value(email)
    page.get_by_label(DRIVER).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Confirm all 6 sessions").click()

    expect(steps.heading("You are booked")).to_be_focused()
    expect(page.locator(".kb-done .kb-plan-item")).to_have_count(6)
    expect(page.locator('[data-link-id="phq9_1"]')).to_have_count(0)
    assert len(booked_rows(stack, email)) == 7  # the preparation and six infusions
    page.goto(f"{stack.base}/my")  # the course's progress on the patient's own page
    expect(page.locator(".course")).to_have_text([f"IV induction: session {n} of 6" for n in range(1, 7)])


def test_a_plan_that_breaks_a_protocol_rule_is_refused_with_the_rule_quoted_and_the_preparation_is_offered(stack, page, widget):
    email = "pia.prepless@example.org"
    steps = widget(page).open_demo()
    screen_in_widget(page, steps, "Pia Prepless", email)  # no preparation session booked
    steps.first_slot()[0].click()
    page.get_by_role("button", name="Continue with these sessions").click()
    page.get_by_label(DRIVER).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Confirm all 6 sessions").click()

    expect(steps.heading("These sessions cannot be booked")).to_be_focused()
    expect(steps.alert()).to_contain_text("needs a preparation session booked before the first dosing session")
    expect(page.locator('.kb-plan-item[data-position="1"]')).to_contain_text("Cannot be booked")
    assert booked_rows(stack, email) == []
    assert_accessible(page, "[data-kapbook-widget]")

    page.get_by_role("button", name="Book a preparation session first").click()
    expect(steps.heading("Choose a day and time")).to_be_focused()  # the screening just answered still counts
    expect(steps.alert()).to_contain_text("Your screening still counts")
    steps.later_week()
    steps.first_slot()[0].click()
    expect(steps.heading("Your details")).to_be_focused()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Confirm booking").click()
    expect(steps.heading("You are booked")).to_be_focused()
    expect(page.locator(".kb-done")).to_contain_text("Preparation session")


def test_a_kap_course_plan_says_by_when_each_doses_integration_session_is_offered(stack, page, widget):
    steps = widget(page).open_demo()
    steps.choose_type("Ketamine-assisted psychotherapy dosing session (IM/sublingual)")
    steps.screening().get_by_label("Full name").fill("Kai Course")
    steps.screening().get_by_label("Email").fill("kai.course@example.org")
    steps.answer(eligible_answers())
    steps.screening().get_by_role("button", name="Submit answers").click()
    steps.later_week()
    steps.first_slot()[0].click()
    expect(steps.heading("Your 3 sessions")).to_be_focused()
    items = page.locator(".kb-plan-item")
    expect(items).to_have_count(3)
    for n in range(3):
        expect(items.nth(n)).to_contain_text("Integration session offered by")
    assert_accessible(page, "[data-kapbook-widget]")
