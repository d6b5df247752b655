"""A SMART Scheduling Links consumer (a directory of open appointments) reads the published manifest,
picks a Slot, and sends a patient along its booking-deep-link: the widget opens with that exact slot
held, and the patient books it in Chromium."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests
from playwright.sync_api import expect

pytestmark = pytest.mark.integration

DEEP_LINK = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link"


def with_referral(link: str, **params: str) -> str:
    """Append the directory's own parameters the way the spec says: parse, then add."""
    parts = urlsplit(link)
    return urlunsplit(parts._replace(query=urlencode(parse_qsl(parts.query) + list(params.items()))))


def published_slot(base: str) -> tuple[dict, dict]:
    """A medical-evaluation Slot three or more days ahead (clear of any notice window), and its Schedule."""
    manifest = requests.get(f"{base}/api/booking/fhir/r4/$bulk-publish", timeout=10).json()
    files = {item["type"]: item["url"] for item in manifest["output"]}
    schedules = [json.loads(line) for line in requests.get(files["Schedule"], timeout=10).text.splitlines()]
    consult = {f"Schedule/{s['id']}": s for s in schedules
               if s["serviceType"][0]["coding"][0]["code"] == "medical-evaluation"}
    soon = datetime.now(timezone.utc) + timedelta(days=3)
    for line in requests.get(files["Slot"], timeout=30).text.splitlines():
        slot = json.loads(line)
        if slot["schedule"]["reference"] in consult and datetime.fromisoformat(slot["start"]) > soon:
            return slot, consult[slot["schedule"]["reference"]]
    raise AssertionError("no published medical-evaluation slot three days ahead")


def test_a_directory_deep_link_books_that_exact_slot(stack, new_page):
    slot, _ = published_slot(stack.base)
    link = next(e["valueUrl"] for e in slot["extension"] if e["url"] == DEEP_LINK)
    assert link.startswith(stack.base + "/")
    page = new_page(timezone="America/Chicago")
    page.goto(with_referral(link, source="directory-test", **{"booking-referral": "ref-1"}))

    # The widget skipped the type and time steps: the deep-linked slot is held, details come next.
    expect(page.get_by_role("heading", name="Your details")).to_be_focused()
    page.get_by_label("Full name").fill("Sam Directory")
    page.get_by_label("Email").fill("sam.directory@example.org")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("heading", name="You are booked")).to_be_focused()

    manage = page.get_by_role("link", name="Manage or cancel this booking").get_attribute("href")
    token = manage.rsplit("/", 1)[1]
    booking = requests.get(f"{stack.base}/api/booking/v1/manage/{token}", timeout=10).json()
    wanted = dict(parse_qsl(urlsplit(link).query))
    assert datetime.fromisoformat(booking["start"]) == datetime.fromisoformat(slot["start"])
    assert booking["clinician_id"] == wanted["kapbook-clinician"]
    assert booking["appointment_type"] == "medical-evaluation"
    # Republished, the booked slot is gone from the Slot file.
    files = {i["type"]: i["url"] for i in requests.get(f"{stack.base}/api/booking/fhir/r4/$bulk-publish", timeout=10).json()["output"]}
    assert slot["id"] not in requests.get(files["Slot"], timeout=30).text
