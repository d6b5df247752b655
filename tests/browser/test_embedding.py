"""The widget on another website: the CORS allowlist lets a listed clinic site book, and refuses others."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from support.screening_answers import eligible_answers

pytestmark = pytest.mark.integration


def test_the_widget_books_from_an_allowed_origin_and_is_refused_elsewhere(stack, new_page, widget, request):
    allowed, refused = stack.allowed_site, stack.refused_site
    page = new_page()
    page.goto(allowed.origin)
    steps = widget(page)
    expect(steps.heading("What would you like to book?")).to_be_visible()
    # The host page's styles stop at the widget's shadow root.
    heading = page.get_by_role("heading", name="What would you like to book?")
    assert heading.evaluate("node => getComputedStyle(node).textTransform") == "none"
    assert page.get_by_role("button", name="Free consultation").evaluate("node => getComputedStyle(node).fontSize") != "30px"

    steps.choose_type("IV ketamine infusion")  # the questionnaire comes from the eligibility service
    expect(steps.screening().get_by_role("heading", name="A few questions about your health")).to_be_visible()
    steps.screening().get_by_role("button", name="Back").click()
    steps.choose_type("Free consultation")
    steps.later_week()
    steps.first_slot()[0].click()
    steps.fill_details("Olu Origin", "olu.origin@example.org")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Confirm booking").click()
    expect(steps.heading("You are booked")).to_be_visible()
    stack.wait_for_mail("olu.origin@example.org")

    elsewhere = new_page()
    request.node.screenshot_page = elsewhere
    elsewhere.goto(refused.origin)
    expect(elsewhere.locator(".kb-alert")).to_contain_text("We could not reach the clinic's booking service")
    expect(elsewhere.get_by_role("button", name="Try again")).to_be_visible()
    expect(elsewhere.get_by_role("button", name="Free consultation")).to_have_count(0)

    for origin, service in ((allowed.origin, "booking"), (allowed.origin, "eligibility")):
        path = "/api/booking/v1/bookings" if service == "booking" else "/api/eligibility/v1/screenings"
        preflight = requests.options(f"{stack.base}{path}", timeout=10, headers={
            "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
        assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == origin
        assert "Access-Control-Allow-Credentials" not in preflight.headers
    refused_preflight = requests.options(f"{stack.base}/api/booking/v1/bookings", timeout=10, headers={
        "Origin": refused.origin, "Access-Control-Request-Method": "POST"})
    assert refused_preflight.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused_preflight.headers
    plain = requests.get(f"{stack.base}/api/booking/v1/catalog", headers={"Origin": refused.origin}, timeout=10)
    assert "Access-Control-Allow-Origin" not in plain.headers
    staff_preflight = requests.options(f"{stack.base}/api/booking/v1/calendar", timeout=10, headers={
        "Origin": allowed.origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"})
    assert "authorization" not in staff_preflight.headers.get("Access-Control-Allow-Headers", "").lower()


# --- the screening step on Kapbook's origin (issue 14 finding 8) --------------------------------------

# What a host page's own script (analytics, session replay) can reach: the widget's open shadow root,
# the frame's document if it were same-origin, and every message posted to the page.
SPY = """() => {
  window.__seen = {answers: [], frameDocument: false, messages: []};
  const root = document.querySelector('[data-kapbook-widget]').shadowRoot;
  const look = window.__look = () => {
    root.querySelectorAll('[data-link-id], input:checked, input[type=number], input[type=date]').forEach(node =>
      window.__seen.answers.push(node.getAttribute('data-link-id') || node.name + '=' + node.value));
    root.querySelectorAll('iframe').forEach(frame => {
      try {  // null once the frame is on Kapbook's origin (before that: its empty initial document)
        if (frame.contentDocument && frame.contentDocument.querySelector('[data-kapbook-widget]')) window.__seen.frameDocument = true;
      } catch (error) { /* cross-origin */ }
    });
  };
  new MutationObserver(look).observe(root, {subtree: true, childList: true, attributes: true});
  root.addEventListener('change', look, true);
  window.addEventListener('message', event => window.__seen.messages.push(JSON.stringify(event.data)));
}"""


def test_the_host_page_cannot_read_the_screening_answers_and_the_booking_still_completes(stack, page, widget):
    page.goto(stack.allowed_site.origin)
    steps = widget(page)
    expect(steps.heading("What would you like to book?")).to_be_visible()
    page.evaluate(SPY)
    steps.choose_type("IV ketamine infusion")
    frame = steps.screening()
    expect(frame.get_by_role("heading", name="A few questions about your health")).to_be_focused()  # announced
    # The page's own script forges the frame's "may book" message: the widget takes it from the frame alone.
    page.evaluate("""() => window.postMessage({kapbook: 'screening', next: 'book', screening_id: 'forged',
                                               patient: {name: 'Forged', email: 'forged@example.org'}}, '*')""")
    page.wait_for_timeout(300)
    expect(steps.heading("Choose a day and time")).to_have_count(0)
    frame.get_by_label("Full name").fill("Hana Host")
    frame.get_by_label("Email").fill("hana.host@example.org")
    steps.answer(eligible_answers())
    page.evaluate("window.__look()")  # every answer given, not yet sent
    frame.get_by_role("button", name="Submit answers").click()
    expect(steps.heading("Choose a day and time")).to_be_visible()

    seen = page.evaluate("window.__seen")
    assert seen["answers"] == [] and seen["frameDocument"] is False, seen
    answers = set(eligible_answers())
    for message in seen["messages"]:
        assert not any(link_id in message for link_id in answers), message
    assert any('"next":"book"' in message and "forged" not in message for message in seen["messages"]), seen["messages"]

    steps.later_week()
    steps.first_slot()[0].click()
    page.get_by_role("button", name="Book just this one session").click()
    expect(page.get_by_label("Email")).to_have_value("hana.host@example.org")  # what the widget shows, no more
    page.get_by_label("An adult will take me home after the appointment. I will not drive until the next day.").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Confirm booking").click()
    expect(steps.heading("You are booked")).to_be_visible()
    later = {entry.split("=")[0] for entry in page.evaluate("window.__seen.answers")}  # the details step's own fields
    assert not later & answers, later


def frame_loads(page, origin: str, frame_url: str) -> bool:
    """Whether a page on ``origin`` can show the screening frame (the browser enforces frame-ancestors)."""
    page.goto(origin)
    page.evaluate("url => { const f = document.createElement('iframe'); f.id = 'probe'; f.src = url; document.body.append(f); }", frame_url)
    page.wait_for_function("() => document.getElementById('probe').contentWindow !== null")
    page.wait_for_timeout(1500)  # long enough for the frame's script to start when it may
    return any(frame.url.startswith(frame_url.split("?")[0]) and frame.locator("[data-kapbook-screening]").count()
               for frame in page.frames[1:])


def test_the_screening_frame_is_framed_only_by_the_allowed_websites(stack, new_page):
    frame_url = f"{stack.base}/screening/frame?type=iv-infusion"
    policy = requests.get(frame_url, timeout=10).headers["Content-Security-Policy"]
    assert f"frame-ancestors 'self' {stack.allowed_site.origin};" in policy
    assert stack.refused_site.origin not in policy
    assert frame_loads(new_page(), stack.allowed_site.origin, frame_url)
    assert not frame_loads(new_page(), stack.refused_site.origin, frame_url)


def test_a_crisis_on_a_clinic_website_shows_the_resources_in_the_frame_and_tells_the_page_nothing(stack, page, widget):
    page.goto(stack.allowed_site.origin)
    steps = widget(page)
    expect(steps.heading("What would you like to book?")).to_be_visible()
    page.evaluate(SPY)
    steps.choose_type("Esketamine treatment")
    frame = steps.screening()
    frame.get_by_label("Full name").fill("Cleo Crisis")
    frame.get_by_label("Email").fill("cleo.crisis@example.org")
    # Suicidal thoughts with intent in the past month: high C-SSRS risk.
    steps.answer(eligible_answers(cssrs_1=True, cssrs_2=True, cssrs_3=True, cssrs_4=True, cssrs_5=False))
    frame.get_by_role("button", name="Submit answers").click()
    expect(frame.get_by_role("heading", name="Please reach out for support now")).to_be_visible()
    expect(frame.get_by_role("link", name="Call 988")).to_have_attribute("href", "tel:988")
    seen = page.evaluate("window.__seen")
    assert seen["answers"] == [] and seen["frameDocument"] is False, seen
    assert all('"height"' in message for message in seen["messages"]), seen["messages"]  # sizes only
    expect(page.locator("iframe.kb-screening-frame")).to_be_visible()
    expect(steps.slots()).to_have_count(0)
