"""A telehealth consultation booked in the widget: its join link is on the widget's confirmation, in
the email, the invite and on the manage page (a Join link), the same link in all four."""
from __future__ import annotations

import re

import pytest
from icalendar import Calendar
from playwright.sync_api import expect

pytestmark = pytest.mark.integration

JOIN_URL = re.compile(r"https://meet\.example\.org/kapbook-[A-Za-z0-9_-]{22,}")


def test_a_telehealth_consultation_can_be_joined_from_the_email_the_invite_and_the_manage_page(stack, new_page, widget):
    page = new_page(timezone="America/New_York")
    steps = widget(page).open_demo()
    steps.choose_type("Free consultation")
    expect(steps.heading("Choose a day and time")).to_be_focused()
    steps.later_week()
    slot, _name = steps.first_slot()
    slot.click()
    expect(steps.heading("Your details")).to_be_focused()
    steps.fill_details("Jo Join", "jo.join@example.org")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Confirm booking").click()
    expect(steps.heading("You are booked")).to_be_focused()
    manage_url = page.get_by_role("link", name="Manage or cancel this booking").get_attribute("href")
    confirmation_join = page.get_by_role("link", name="Join the video call")
    expect(confirmation_join).to_be_visible()
    expect(confirmation_join).to_have_attribute("href", JOIN_URL)
    expect(confirmation_join).to_have_attribute("target", "_blank")
    expect(confirmation_join).to_have_attribute("rel", "noopener noreferrer")
    expect(confirmation_join).to_have_accessible_description(re.compile("also in your confirmation email and on your appointment page"))
    expect(page.locator(".kb-done")).not_to_contain_text("we email you the link")
    expect(page.locator(".kb-status")).to_contain_text("The link to join the video call is on this page")
    widget_join_url = confirmation_join.get_attribute("href")

    [email] = stack.wait_for_mail("jo.join@example.org")
    text = email.get_body(preferencelist=("plain",)).get_content()
    found = JOIN_URL.search(text)
    assert found, text
    join_url = found.group(0)
    assert widget_join_url == join_url
    assert join_url not in email["Subject"]
    invite = next(part for part in email.walk() if part.get_content_type() == "text/calendar")
    event = next(iter(Calendar.from_ical(invite.get_payload(decode=True)).walk("VEVENT")))
    assert str(event["LOCATION"]) == join_url and str(event["CONFERENCE"]) == join_url

    page.goto(manage_url)
    expect(page.get_by_role("heading", name="Your appointment", exact=True)).to_be_visible()
    join = page.get_by_role("link", name="Join the video call")
    expect(join).to_be_visible()
    expect(join).to_have_attribute("href", join_url)
    expect(page.locator(".summary-card")).not_to_contain_text("the link comes by email")
