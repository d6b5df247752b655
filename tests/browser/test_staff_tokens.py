"""An administrator revokes an integration's API token in the console, and within seconds every
service refuses it (finding 1: tokens used to live for ever)."""
from __future__ import annotations

import requests
from playwright.sync_api import expect

from support.waiting import wait_for

APIS = ("/api/booking/v1/locations", "/api/eligibility/v1/reviews", "/api/reminders/v1/notifications?limit=1")


def status(stack, path: str, token: str) -> int:
    return requests.get(f"{stack.base}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code


def test_an_admin_revokes_a_token_and_every_service_refuses_it(stack, page, console):
    admin = stack.staff_token("admin", "Ada Tokens", "ada.tokens@clinic.example")
    integration = stack.staff_token("clinician", "EHR Integration", "ehr.integration@clinic.example")
    assert [status(stack, path, integration) for path in APIS] == [200, 200, 200]
    console(page, admin)
    page.get_by_role("link", name="API tokens").click()
    row = page.locator("tr", has_text="EHR Integration").filter(has_text="Active")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("Token revoked")
    expect(page.locator("tr", has_text="EHR Integration").locator(".badge")).to_have_text("Revoked")
    assert status(stack, APIS[0], integration) == 401, "booking refuses it at once"
    wait_for(lambda: [status(stack, path, integration) for path in APIS] == [401, 401, 401], timeout=15, interval=0.25)
    assert [status(stack, path, admin) for path in APIS] == [200, 200, 200], "only that token"
