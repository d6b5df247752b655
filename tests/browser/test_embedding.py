"""The widget on another website: the CORS allowlist lets a listed clinic site book, and refuses others."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

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
    expect(steps.heading("A few questions about your health")).to_be_visible()
    page.get_by_role("button", name="Back").click()
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
