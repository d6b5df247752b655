"""Patients book from the demo clinic page in a real browser: a consultation, a screened dosing
session, the crisis path, the keyboard alone, a race for one slot, and failures that keep their input."""
from __future__ import annotations

import re
import time

import pytest
import requests
from playwright.sync_api import expect

from support.screening_answers import eligible_answers
from support.waiting import wait_for

pytestmark = pytest.mark.integration

# The widget writes hours as numbers ("9:00", "14:30"): which hour comes first depends on when the test runs.
SLOT_NAME = re.compile(r"^\w+day,? \d{1,2} \w+ 20\d\d, \d{1,2}:\d\d to \d{1,2}:\d\d, .+$")
def crisis_answers() -> dict:
    # Suicidal thoughts with intent in the past month: high C-SSRS risk.
    return eligible_answers(cssrs_1=True, cssrs_2=True, cssrs_3=True, cssrs_4=True, cssrs_5=False)


def deep_focus(page) -> dict:
    """The focused element, looking inside shadow roots."""
    return page.evaluate("""() => {
        let node = document.activeElement;
        while (node && node.shadowRoot && node.shadowRoot.activeElement) node = node.shadowRoot.activeElement;
        return {tag: node.tagName, text: (node.getAttribute('aria-label') || node.textContent || '').trim(),
                label: node.labels && node.labels.length ? node.labels[0].textContent.trim() : '',
                classes: node.className || ''};
    }""")


def tab_to(page, matches, limit: int = 80) -> dict:
    """Press Tab until the focused element matches; fail if it never does."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = deep_focus(page)
        if matches(focused):
            return focused
    raise AssertionError(f"Tab never reached the element; last focus: {focused}")


def test_a_consultation_booked_from_the_demo_page_sends_the_confirmation_email(stack, new_page, widget):
    page = new_page(timezone="Europe/Berlin")
    steps = widget(page).open_demo()
    steps.choose_type("Free consultation")

    expect(steps.heading("Choose a day and time")).to_be_focused()
    expect(page.get_by_label("Times shown in this time zone")).to_have_value("Europe/Berlin")
    steps.later_week()
    slot, slot_name = steps.first_slot()
    assert SLOT_NAME.match(slot_name), slot_name
    slot.click()

    expect(steps.heading("Your details")).to_be_focused()
    steps.fill_details("Pat Example", "pat.consult@example.org", phone="+1 212 555 0100")
    page.get_by_role("button", name="Continue").click()
    expect(steps.heading("Check and confirm")).to_be_focused()
    summary = page.locator(".kb-summary")
    expect(summary).to_contain_text("Free consultation")
    expect(summary).to_contain_text("Europe/Berlin")
    page.get_by_role("button", name="Confirm booking").click()

    expect(steps.heading("You are booked")).to_be_focused()
    manage = page.get_by_role("link", name="Manage or cancel this booking")
    expect(manage).to_have_attribute("href", re.compile(re.escape(stack.base) + r"/manage/.+"))
    [email] = stack.wait_for_mail("pat.consult@example.org")
    assert email["Subject"].startswith("Your appointment on "), email["Subject"]
    assert manage.get_attribute("href") in email.get_body(preferencelist=("plain",)).get_content()


def test_a_dosing_session_is_booked_after_an_eligible_screening_with_the_driver_confirmed(stack, page, widget):
    steps = widget(page).open_demo()
    steps.choose_type("IV ketamine infusion")
    expect(steps.screening().get_by_role("heading", name="A few questions about your health")).to_be_focused()

    steps.screening().get_by_label("Full name").fill("Dana Lee")
    steps.screening().get_by_label("Email").fill("dana.lee@example.org")
    follow_up = steps.screening().locator('[data-link-id="cssrs_3"]')
    expect(follow_up).to_be_hidden()
    steps.answer({"cssrs_2": True})
    expect(follow_up).to_be_visible()
    steps.answer(eligible_answers())
    expect(follow_up).to_be_hidden()
    steps.screening().get_by_role("button", name="Submit answers").click()

    expect(steps.heading("Choose a day and time")).to_be_focused()
    expect(steps.alert()).to_contain_text("you can book iv ketamine infusion")
    steps.later_week()
    slot, _name = steps.first_slot()
    slot.click()
    # IV infusions have a protocol: the widget proposes the whole course; one session alone is a choice.
    expect(steps.heading("Your 6 sessions")).to_be_focused()
    page.get_by_role("button", name="Book just this one session").click()

    expect(steps.heading("Your details")).to_be_focused()
    expect(page.get_by_label("Email")).to_have_value("dana.lee@example.org")
    page.get_by_role("button", name="Continue").click()
    driver = page.get_by_label("An adult will take me home after the appointment. I will not drive until the next day.")
    expect(steps.alert()).to_contain_text("Please confirm that an adult will take you home")
    expect(driver).to_be_focused()
    driver.check()
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".kb-summary")).to_contain_text("Confirmed: an adult takes you home")
    page.get_by_role("button", name="Confirm booking").click()

    expect(steps.heading("You are booked")).to_be_focused()
    expect(page.locator(".kb-done")).to_contain_text("IV ketamine infusion")
    expect(page.get_by_role("link", name="Join the video call")).to_have_count(0)  # in person: no video call
    expect(page.locator(".kb-join")).to_have_count(0)
    stack.wait_for_mail("dana.lee@example.org")


def test_a_crisis_screening_shows_crisis_resources_at_once_and_no_booking_form(stack, page, widget):
    steps = widget(page).open_demo()
    steps.choose_type("Esketamine treatment")
    steps.screening().get_by_label("Full name").fill("Casey Morgan")
    steps.screening().get_by_label("Email").fill("casey.morgan@example.org")
    steps.answer(crisis_answers())
    with page.expect_response(lambda answer: answer.url.endswith("/screenings") and answer.request.method == "POST") as sent:
        steps.screening().get_by_role("button", name="Submit answers").click()
    screening_link = f"{stack.base}/staff/screenings/{sent.value.json()['id']}"

    # The resources show at once inside the frame; the clinic's page never learns of the crisis.
    frame = steps.screening()
    expect(frame.get_by_role("heading", name="Please reach out for support now")).to_be_focused()
    expect(frame.get_by_role("link", name="Call 988")).to_have_attribute("href", "tel:988")
    expect(frame.get_by_role("link", name="Text 988")).to_have_attribute("href", "sms:988")
    expect(frame.get_by_role("link", name="Call 911")).to_be_visible()
    for booking_control in (frame.get_by_label("Full name"), frame.get_by_label("Email"), steps.slots(),
                            page.get_by_role("button", name="Confirm booking")):
        expect(booking_control).to_have_count(0)
    # The stack is shared, so other tests' crisis alerts are in the same box: exactly one names this screening.
    wait_for(lambda: alerts_naming(stack, screening_link), timeout=30, interval=0.25)
    time.sleep(1)  # a second alert for the same screening would be a doubled email
    assert len(alerts_naming(stack, screening_link)) == 1


def alerts_naming(stack, screening_link: str) -> list:
    return [mail for mail in stack.mail_to("oncall@clinic.example")
            if screening_link in mail.get_body(preferencelist=("plain",)).get_content()]


def test_a_booking_can_be_made_with_the_keyboard_alone_on_a_360_pixel_screen(stack, new_page, widget):
    page = new_page(width=360, height=780)
    steps = widget(page).open_demo()
    page.locator("body").focus()

    tab_to(page, lambda f: f["text"].startswith("Free consultation"))
    page.keyboard.press("Enter")
    expect(steps.heading("Choose a day and time")).to_be_focused()
    steps.first_slot()
    week = page.locator(".kb-week-range")
    shown = week.text_content()
    tab_to(page, lambda f: f["text"] == "Later week")  # days clear of the notice window (WidgetDriver.later_week)
    page.keyboard.press("Enter")
    expect(week).not_to_have_text(shown)
    slot = tab_to(page, lambda f: "kb-slot" in f["classes"])
    assert SLOT_NAME.match(slot["text"]), slot
    page.keyboard.press("Enter")

    expect(steps.heading("Your details")).to_be_focused()
    tab_to(page, lambda f: f["label"] == "Full name")
    page.keyboard.type("Kim Keyboard")
    page.keyboard.press("Tab")
    page.keyboard.type("kim.keyboard@example.org")
    tab_to(page, lambda f: f["text"] == "Continue")
    page.keyboard.press("Enter")
    expect(steps.heading("Check and confirm")).to_be_focused()
    tab_to(page, lambda f: f["text"] == "Confirm booking")
    page.keyboard.press("Enter")

    expect(steps.heading("You are booked")).to_be_focused()
    expect(page.locator(".kb-done")).to_contain_text(slot["text"].split(", ")[0])
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "the page scrolls sideways at 360 px"
    stack.wait_for_mail("kim.keyboard@example.org")


def test_two_pages_racing_for_one_slot_one_wins_and_the_other_sees_fresh_times(stack, new_page, widget, request):
    winner, loser = new_page(), new_page()
    request.node.screenshot_page = loser
    first, second = widget(winner).open_demo(), widget(loser).open_demo()
    for steps in (first, second):
        steps.choose_type("Free consultation")
        steps.later_week()
    _slot, name = first.first_slot()
    _slot, same = second.first_slot()
    assert name == same

    winner.get_by_role("button", name=name, exact=True).click()
    expect(first.heading("Your details")).to_be_visible()
    loser.get_by_role("button", name=name, exact=True).click()

    expect(second.heading("Choose a day and time")).to_be_focused()
    expect(second.alert()).to_contain_text("was just taken by someone else")
    expect(second.alert()).to_contain_text("The times below are up to date")
    second.first_slot()
    expect(loser.get_by_role("button", name=name, exact=True)).to_have_count(0)

    first.fill_details("Wren Winner", "wren.winner@example.org")
    winner.get_by_role("button", name="Continue").click()
    winner.get_by_role("button", name="Confirm booking").click()
    expect(first.heading("You are booked")).to_be_visible()


def test_a_slot_taken_while_the_patient_types_sends_them_back_to_fresh_times_with_their_details_kept(stack, page, widget):
    steps = widget(page).open_demo()
    steps.choose_type("Free consultation")
    steps.later_week()
    slot, name = steps.first_slot()
    with page.expect_response(re.compile(r"/api/booking/v1/holds$")) as held:
        slot.click()
    hold = held.value.json()
    steps.fill_details("Terry Typing", "terry.typing@example.org")
    page.get_by_role("button", name="Continue").click()
    # Meanwhile the hold lapses and someone else books the time.
    requests.delete(f"{stack.base}/api/booking/v1/holds/{hold['id']}", timeout=10)
    stack.book({"start": hold["start"], "clinician_id": hold["clinician_id"]}, "free-consultation", "Other", "other.patient@example.org")

    page.get_by_role("button", name="Confirm booking").click()
    expect(steps.heading("Choose a day and time")).to_be_focused()
    expect(steps.alert()).to_contain_text("that time is no longer available")
    expect(steps.alert()).to_contain_text("Your details are kept")
    steps.first_slot()
    expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    steps.first_slot()[0].click()
    expect(page.get_by_label("Full name")).to_have_value("Terry Typing")
    expect(page.get_by_label("Email")).to_have_value("terry.typing@example.org")


def test_network_and_server_errors_say_what_happened_and_keep_what_was_typed(stack, page, widget):
    steps = widget(page).open_demo()
    steps.choose_type("Free consultation")
    steps.later_week()
    steps.first_slot()[0].click()
    steps.fill_details("Nia Network", "nia.network@example.org", phone="+1 646 555 0199")
    page.get_by_role("button", name="Continue").click()

    page.route("**/api/booking/v1/bookings", lambda route: route.abort("internetdisconnected"))
    page.get_by_role("button", name="Confirm booking").click()
    expect(steps.alert()).to_contain_text("We could not reach the clinic's booking service")
    expect(steps.alert()).to_contain_text("What you entered is kept")
    expect(page.locator(".kb-summary")).to_contain_text("nia.network@example.org")

    page.unroute("**/api/booking/v1/bookings")
    page.route("**/api/booking/v1/bookings", lambda route: route.fulfill(
        status=500, json={"code": "internal_error", "message": "Something went wrong on our side; nothing was changed."}))
    page.get_by_role("button", name="Confirm booking").click()
    expect(steps.alert()).to_contain_text("Something went wrong on our side")
    expect(steps.alert()).to_contain_text("What you entered is kept")

    page.unroute("**/api/booking/v1/bookings")
    page.get_by_role("button", name="Change details").click()
    expect(page.get_by_label("Phone (optional)")).to_have_value("+1 646 555 0199")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Confirm booking").click()
    expect(steps.heading("You are booked")).to_be_focused()


def test_a_booking_whose_answer_was_lost_is_not_made_twice_when_the_patient_retries(stack, page, widget):
    steps = widget(page).open_demo()
    steps.choose_type("Free consultation")
    steps.later_week()
    steps.first_slot()[0].click()
    steps.fill_details("Lou Lost", "lou.lost@example.org")
    page.get_by_role("button", name="Continue").click()

    def book_then_lose_the_answer(route):
        route.fetch()  # the booking reaches the server and is made...
        route.abort("connectionreset")  # ...but its answer never reaches the browser

    page.route("**/api/booking/v1/bookings", book_then_lose_the_answer)
    page.get_by_role("button", name="Confirm booking").click()
    expect(steps.alert()).to_contain_text("We could not reach the clinic's booking service")
    page.unroute("**/api/booking/v1/bookings")
    page.get_by_role("button", name="Confirm booking").click()

    expect(steps.heading("You are booked")).to_be_focused()
    stack.wait_for_mail("lou.lost@example.org")
    time.sleep(2)  # give a second confirmation, if there were a second booking, time to arrive
    assert len(stack.mail_to("lou.lost@example.org")) == 1
