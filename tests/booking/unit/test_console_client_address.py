"""The console names the staff member's browser address when it calls eligibility and reminders, so
their audit logs record the browser, not the booking server (they believe it on a delegate only)."""
from __future__ import annotations

from types import SimpleNamespace

from flask import Flask

from kapbook_booking.entrypoints.web.console.access import call_as_staff
from kapbook_platform.staff.principal import StaffPrincipal
from kapbook_platform.staff.web import CLIENT_ADDRESS_HEADER


class RecordingHttp:
    def __init__(self) -> None:
        self.headers: list[dict] = []

    def request(self, method, url, json=None, timeout=None, headers=None):
        self.headers.append(headers)
        return SimpleNamespace(status_code=200)


def test_console_calls_carry_the_browser_address_beside_the_credential():
    http = RecordingHttp()
    with Flask(__name__).test_request_context("/staff/screenings", environ_base={"REMOTE_ADDR": "198.51.100.7"}):
        call_as_staff(http, "GET", "http://eligibility.internal/api/eligibility/v1/reviews", "delegate-token")
    assert http.headers == [{"Authorization": "Bearer delegate-token", CLIENT_ADDRESS_HEADER: "198.51.100.7"}]


def test_only_a_console_delegate_credential_counts_as_the_console():
    assert StaffPrincipal("s", "Ana", "clinician", "console-5e1d").is_console_delegate
    assert not StaffPrincipal("s", "Ana", "clinician", "3f2a-api-token").is_console_delegate
