"""Staff sign-in in a real browser: email and password, the session cookie, automatic logoff after
idle time, signing out everywhere (finding 1: the console cookie used to be the API token), and
two-step verification set up from the page."""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

import pyotp
import requests
from playwright.sync_api import expect
from sqlalchemy import create_engine, select, update

from kapbook_booking.adapters import tables as t
from kapbook_platform.staff.web import STAFF_COOKIE


def age_sessions(stack, email: str, idle: timedelta) -> int:
    """Make the staff member's console sessions look ``idle`` old, as if nobody had used them since
    (the running stack's clock is the wall clock; the session row travels instead)."""
    engine = create_engine(f"sqlite:///{stack.var_dir / 'booking.db'}")
    try:
        with engine.begin() as connection:
            staff_id = connection.execute(select(t.staff_members.c.id).where(t.staff_members.c.email == email)).scalar_one()
            return connection.execute(update(t.staff_sessions).where(t.staff_sessions.c.staff_id == staff_id)
                                      .values(last_seen_at=datetime.now(timezone.utc) - idle)).rowcount
    finally:
        engine.dispose()


def session_cookie(page):
    return next(cookie for cookie in page.context.cookies() if cookie["name"] == STAFF_COOKIE)


def test_sign_in_with_email_and_password_and_the_cookie_is_no_api_credential(stack, page, console):
    token = stack.staff_token("admin", "Ada Admin", "ada.signin@clinic.example")
    email, password = stack.console_logins[token]
    page.goto(f"{stack.base}/staff/clinicians")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password + "-wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match a staff account")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/staff/clinicians"))
    cookie = session_cookie(page)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/staff/"
    assert cookie["value"] != token
    for service, path in (("booking", "locations"), ("eligibility", "reviews"), ("reminders", "notifications")):
        answer = requests.get(f"{stack.base}/api/{service}/v1/{path}", timeout=10,
                              headers={"Authorization": f"Bearer {cookie['value']}"}, cookies={STAFF_COOKIE: cookie["value"]})
        assert answer.status_code == 401, (service, answer.status_code)


def test_an_idle_console_signs_itself_out(stack, page, console):
    token = stack.staff_token("front_desk", "Idle Ida", "idle.ida@clinic.example")
    console(page, token)
    page.goto(f"{stack.base}/staff/clinicians")
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    assert age_sessions(stack, "idle.ida@clinic.example", timedelta(minutes=14)) == 1
    page.reload()
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    assert age_sessions(stack, "idle.ida@clinic.example", timedelta(minutes=16)) == 1
    page.reload()
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/staff/sign-in\?next="))


def test_end_all_my_sessions_signs_out_every_browser_of_that_person(stack, new_page, console):
    laptop, phone = new_page(), new_page()
    token = stack.staff_token("clinician", "Dr Everywhere", "everywhere@clinic.example")
    console(laptop, token)
    console(phone, token)
    laptop.get_by_role("button", name="End all my sessions").click()
    expect(laptop.get_by_role("status")).to_have_text("You are signed out on every device.")
    phone.goto(f"{stack.base}/staff/calendar")
    expect(phone.get_by_label("Password")).to_be_visible()


def test_enrol_two_step_verification_from_the_page_and_sign_in_with_a_code(stack, page, console):
    token = stack.staff_token("clinician", "Dr Two Step", "two.step@clinic.example")
    email, password = stack.console_logins[token]
    console(page, token)
    page.get_by_role("link", name="Two-step verification").click()
    expect(page.locator("figure.qr svg")).to_be_visible()
    secret = page.locator("[data-totp-secret]").text_content()
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.locator("[data-recovery-codes] li")).to_have_count(10)
    page.get_by_role("button", name="Sign out", exact=True).click()

    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match a staff account")
    page.get_by_label("Password").fill(password)
    # The next time step's code: the enrolment spent this one, and one step of drift is allowed.
    page.get_by_label("Code from your authenticator app").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    page.goto(f"{stack.base}/staff/two-step")
    expect(page.get_by_text("Two-step verification is on")).to_be_visible()


def test_five_wrong_passwords_lock_the_account_and_say_so(stack, page):
    token = stack.staff_token("front_desk", "Locked Lou", "locked.lou@clinic.example")
    email, password = stack.console_logins[token]
    page.goto(f"{stack.base}/staff/")
    for attempt in range(5):
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(f"Wrong-Guess-{attempt}-xyz")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("do not match a staff account")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_have_count(0)


def test_reset_a_forgotten_password_by_the_emailed_link(stack, page):
    token = stack.staff_token("front_desk", "Forgetful Fran", "forgetful.fran@clinic.example")
    email, old_password = stack.console_logins[token]
    page.goto(f"{stack.base}/staff/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("status")).to_contain_text("If that email belongs to a staff account")
    (mail,) = stack.wait_for_mail(email)
    link = re.search(r"https?://\S+/staff/reset-password/\S+", mail.get_body(("plain",)).get_content()).group(0)
    page.goto(link)
    page.get_by_label("New password").fill("password1234")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.locator(".field-error")).to_contain_text("most common passwords")
    page.get_by_label("New password").fill("Harbour-Quince-Falcon-42")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_role("status")).to_have_text("Your new password is saved. Sign in with it.")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("Harbour-Quince-Falcon-42")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out", exact=True)).to_be_visible()
    page.goto(link)
    expect(page.get_by_text("expired or was used already")).to_be_visible()
    assert old_password != "Harbour-Quince-Falcon-42"
