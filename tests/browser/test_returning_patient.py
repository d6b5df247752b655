"""A returning patient (issue 12 §2): signs in on /my with a link read from the captured email, sees
upcoming and past bookings and how long their screening is valid, then books a treatment in the
widget without answering the questionnaire again, on Kapbook's own page and on a clinic's website."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine

from kapbook_booking.adapters import tables as t

from support.screening_answers import eligible_answers
from support.waiting import wait_for

pytestmark = pytest.mark.integration

SIGN_IN_LINK = re.compile(r"https?://\S+/my/sign-in/[A-Za-z0-9_-]{40,}")
LINK_SENT = "If that address has appointments with us, a link is on its way."


def returning_patient(stack, name: str, email: str) -> None:
    """Earlier visits: a consultation kept, one cancelled, an eligible screening and a preparation session
    booked with it (so the booking service holds the decision at once, not when its event arrives)."""
    kept = stack.book(stack.free_slot("free-consultation", days_ahead=9), "free-consultation", name, email.upper())
    cancelled = stack.book(stack.free_slot("free-consultation", days_ahead=12), "free-consultation", name, email)
    token = cancelled["manage_url"].rsplit("/", 1)[1]
    assert requests.post(f"{stack.base}/api/booking/v1/manage/{token}/cancel", timeout=10).status_code == 200
    screening = requests.post(f"{stack.base}/api/eligibility/v1/screenings", timeout=10,
                              json={"patient": {"name": name, "email": email}, "answers": eligible_answers()})
    assert screening.status_code == 201 and screening.json()["outcome"] == "eligible", screening.text
    assert kept["status"] == "booked"
    slot = stack.free_slot("preparation-session", days_ahead=20)
    prepared = requests.post(f"{stack.base}/api/booking/v1/bookings", timeout=10, json={
        "appointment_type": "preparation-session", "start": slot["start"], "clinician_id": slot["clinician_id"],
        "screening_id": screening.json()["id"], "patient": {"name": name, "email": email, "timezone": "America/New_York"}})
    assert prepared.status_code == 201, prepared.text


def sign_in_link(stack, email: str, already: int = 0) -> str:
    """The newest sign-in link emailed to ``email`` (after ``already`` earlier ones)."""
    def links():
        found = [SIGN_IN_LINK.search(mail.get_body(preferencelist=("plain",)).get_content()) for mail in stack.mail_to(email)]
        found = [match.group(0) for match in found if match]
        return found if len(found) > already else None
    return wait_for(links, timeout=30, interval=0.25)[-1]


WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, "resultTypes": ["violations"]}


def no_accessibility_violations(page: Page) -> None:
    """axe-core finds no WCAG 2.1 A/AA violation on the page (the widget's shadow root included)."""
    violations = Axe().run(page, options=WCAG).response["violations"]
    assert violations == [], [(v["id"], v["help"], [node["target"] for node in v["nodes"]]) for v in violations]


def book_infusion_without_questions(page: Page, steps, email: str) -> None:
    expect(steps.heading("Choose a day and time")).to_be_focused()
    expect(steps.alert()).to_contain_text("Your screening is valid until")
    steps.later_week()
    slot, _name = steps.first_slot()
    slot.click()
    # IV infusions have a protocol (tests/browser/test_series.py books the whole course); one session here.
    expect(steps.heading("Your 6 sessions")).to_be_focused()
    page.get_by_role("button", name="Book just this one session").click()
    expect(steps.heading("Your details")).to_be_focused()
    expect(page.get_by_label("Email")).to_have_value(email)
    page.get_by_label("An adult will take me home after the appointment. I will not drive until the next day.").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Confirm booking").click()
    expect(steps.heading("You are booked")).to_be_focused()
    expect(page.locator(".kb-done")).to_contain_text("IV ketamine infusion")


def test_a_returning_patient_signs_in_by_email_link_and_books_treatment_without_rescreening(stack, page, widget):
    email = "rae.return@example.org"
    returning_patient(stack, "Rae Return", email)

    page.goto(f"{stack.base}/my")
    expect(page.get_by_role("heading", name="My appointments")).to_be_visible()
    no_accessibility_violations(page)
    page.get_by_label("Your email address").fill("  Rae.Return@Example.ORG")
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("status")).to_have_text(LINK_SENT)

    link = sign_in_link(stack, email)
    page.goto(link)
    no_accessibility_violations(page)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {email}.")).to_be_visible()
    upcoming = page.locator("ul[aria-labelledby=upcoming-heading] > li")
    past = page.locator("ul[aria-labelledby=past-heading] > li")
    expect(upcoming).to_have_count(2)
    expect(upcoming.first).to_contain_text("Free consultation")
    expect(upcoming.nth(1)).to_contain_text("Preparation session")
    expect(upcoming.first.get_by_role("link", name=re.compile("^Reschedule Free consultation"))).to_be_visible()
    expect(past).to_have_count(1)
    expect(past.first).to_contain_text("Cancelled")
    expect(page.locator(".screening.valid")).to_contain_text(re.compile(r"Screening approved, valid until \w+ \d+ \w+ \d{4}"))
    no_accessibility_violations(page)

    page.goto(link)  # the link worked once
    expect(page.get_by_role("alert")).to_have_text("This link has expired or was already used — ask for a new one.")
    expect(page.get_by_label("Your email address")).to_be_visible()

    steps = widget(page).open_demo()
    steps.choose_type("IV ketamine infusion")
    book_infusion_without_questions(page, steps, email)
    expect(page.locator("iframe.kb-screening-frame")).to_have_count(0)  # no questionnaire at all


def test_a_patient_on_a_clinic_website_proves_their_email_with_a_link_and_skips_the_questionnaire(stack, page, widget):
    email = "sol.site@example.org"
    returning_patient(stack, "Sol Site", email)
    site = stack.allowed_site.origin + "/book"
    page.goto(site)
    steps = widget(page)
    steps.choose_type("IV ketamine infusion")
    expect(steps.screening().get_by_role("heading", name="A few questions about your health")).to_be_focused()
    offer = page.get_by_role("region", name="Booked with us before? Get a link to skip the questionnaire")
    expect(offer).to_be_visible()
    no_accessibility_violations(page)
    offer.get_by_label("Address you booked with").fill(email)
    offer.get_by_role("button", name="Email me a link").click()
    expect(offer).to_contain_text(LINK_SENT)

    page.goto(sign_in_link(stack, email))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(site) + "$"))  # back on the clinic's page, the proof taken from the address
    book_infusion_without_questions(page, steps, email)


def test_an_expired_screening_is_named_on_my_and_the_widget_asks_the_questions_again(stack, page, widget):
    email = "eli.expired@example.org"
    stack.book(stack.free_slot("free-consultation", days_ahead=10), "free-consultation", "Eli Expired", email)
    # A decision from long ago, as the booking service's projection would hold it (no clock to travel here).
    decided = datetime.now(timezone.utc) - timedelta(days=120)
    engine = create_engine(f"sqlite:///{stack.var_dir / 'booking.db'}")
    with engine.begin() as connection:
        connection.execute(t.eligibility_decisions.insert().values(
            screening_id="old-screening-eli", patient_email=email, allowed=True, decided_at=decided,
            valid_until=decided + timedelta(days=90)))
    engine.dispose()

    page.goto(f"{stack.base}/my")
    page.get_by_label("Your email address").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.goto(sign_in_link(stack, email))
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".screening.expired")).to_contain_text("has expired — you'll be asked again")

    steps = widget(page).open_demo()
    steps.choose_type("IV ketamine infusion")
    expect(steps.screening().get_by_role("heading", name="A few questions about your health")).to_be_focused()
    expect(steps.alert()).to_contain_text(re.compile(r"Your screening from \w+,? \d+ \w+ \d{4} has expired; please answer it again\."))
    no_accessibility_violations(page)
