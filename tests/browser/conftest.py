"""Real-browser tests: the whole system started once with ``make run``, driven by Debian's Chromium.

The stack runs on free ports with its own data folder; two small static websites on other
origins embed the widget, one of them allowed by the CORS allowlist and one not. Every test's
``page`` leaves a screenshot of its last screen in ``test-artifacts/screenshots/<test>.png``.
"""
from __future__ import annotations

import mailbox
import os
import re
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from support.marks import mark_folder_integration
from support.pipeline import free_port
from support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SERVICES = ("booking", "eligibility", "reminders")
OUR_PREFIXES = ("KAPBOOK_", "BOOKING_", "ELIGIBILITY_", "REMINDERS_", "SMTP_", "GATEWAY_")

HOST_PAGE = """<!doctype html>
<html lang="en-GB">
<head>
  <meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Partner clinic website</title>
  <style>
    /* A host page with aggressive styles of its own: none of them may leak into the widget. */
    body {{ font-family: "Comic Sans MS", cursive; background: #fdf6e3; color: #5b2333; margin: 2rem; }}
    button {{ background: hotpink !important; border-radius: 0 !important; font-size: 30px !important; }}
    h3 {{ color: red; text-transform: uppercase; }}
  </style>
</head>
<body>
  <h1>Lakeside Wellness (a clinic's own website)</h1>
  <p>Book with us below.</p>
  <div data-kapbook-widget></div>
  <script src="{api}/widget.js" data-kapbook-api="{api}" defer></script>
</body>
</html>
"""


class HostSite:
    """A static website on its own origin that embeds the widget from ``api``."""

    def __init__(self) -> None:
        self.api = ""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                body = HOST_PAGE.format(api=site.api).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        # "localhost", not 127.0.0.1: another site entirely, as a clinic's own domain would be.
        return f"http://localhost:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Stack:
    base: str
    var_dir: Path
    env: dict[str, str]
    allowed_site: HostSite
    refused_site: HostSite
    # Each staff token's owner's console sign-in (email, password), for ``sign_in``.
    console_logins: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def maildir(self) -> Path:
        return self.var_dir / "mail"

    def mail_to(self, address: str) -> list[EmailMessage]:
        box = mailbox.Maildir(self.maildir, create=False)
        messages = [message_from_bytes(box.get_bytes(key), policy=policy.default) for key in box.keys()]
        return [message for message in messages if address.lower() in str(message["To"]).lower()]

    def wait_for_mail(self, address: str, count: int = 1, timeout: float = 30) -> list[EmailMessage]:
        return wait_for(lambda: (found := self.mail_to(address)) and len(found) >= count and found, timeout=timeout, interval=0.25)

    def free_slot(self, appointment_type: str, days_ahead: int = 7, zone: str = "America/New_York", **filters) -> dict:
        """The first free slot of a type from ``days_ahead`` days on."""
        first = (datetime.now(ZoneInfo(zone)) + timedelta(days=days_ahead)).date()
        params = {"appointment_type": appointment_type, "start": first.isoformat(),
                  "end": (first + timedelta(days=13)).isoformat(), "timezone": zone} | filters
        slots = requests.get(f"{self.base}/api/booking/v1/availability", params=params, timeout=10).json()["slots"]
        assert slots, f"no free {appointment_type} slots from {first}"
        return slots[0]

    def book(self, slot: dict, appointment_type: str, name: str, email: str, timezone: str = "America/New_York") -> dict:
        """Book ``slot`` through the public API, as another patient's browser would."""
        body = {"appointment_type": appointment_type, "start": slot["start"], "clinician_id": slot["clinician_id"],
                "patient": {"name": name, "email": email, "timezone": timezone}}
        response = requests.post(f"{self.base}/api/booking/v1/bookings", json=body, timeout=10)
        assert response.status_code == 201, response.text
        return response.json()

    def staff_token(self, role: str, name: str, email: str, clinician_id: str | None = None) -> str:
        """A new staff token, once every service has learnt it (credentials travel as events). The staff
        member gets a console password too (``console_logins``), so ``sign_in`` can take the token;
        a clinician is linked to the clinician record ``clinician_id`` when given."""
        password = f"Browser-{uuid.uuid4().hex[:12]}"
        link = ["--clinician-id", clinician_id] if clinician_id else []
        result = subprocess.run(
            [str(ROOT / ".venv/bin/kapbook-booking"), "create-staff", "--name", name, "--email", email, "--role", role,
             "--password-stdin", *link],
            cwd=ROOT, env=self.env, input=password + "\n", capture_output=True, text=True, check=True, timeout=60,
        )
        token = re.search(r"^(kbs_\S+)$", result.stdout, re.MULTILINE).group(1)
        # create-staff reuses a member by email and sets the new password: every token of theirs signs in with it.
        self.console_logins.update({known: (email, password) for known, (owner, _) in self.console_logins.items() if owner == email})
        self.console_logins[token] = (email, password)
        headers = {"Authorization": f"Bearer {token}"}
        wait_for(lambda: requests.get(f"{self.base}/api/reminders/v1/notifications?limit=1", headers=headers, timeout=5).status_code == 200,
                 timeout=30, interval=0.25)
        if role in ("clinician", "admin"):
            wait_for(lambda: requests.get(f"{self.base}/api/eligibility/v1/reviews", headers=headers, timeout=5).status_code == 200,
                     timeout=30, interval=0.25)
        return token


def _ready(base: str) -> bool:
    try:
        return all(requests.get(f"{base}/api/{service}/readyz", timeout=2).status_code == 200 for service in SERVICES)
    except requests.RequestException:
        return False


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    allowed, refused = HostSite(), HostSite()
    var_dir = tmp_path_factory.mktemp("browser") / "var"
    ports = {name: str(free_port()) for name in ("PORT", "BOOKING_PORT", "ELIGIBILITY_PORT", "REMINDERS_PORT", "SMTP_PORT")}
    base = f"http://127.0.0.1:{ports['PORT']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(OUR_PREFIXES)} | ports | {
        "KAPBOOK_VAR_DIR": str(var_dir), "KAPBOOK_PUBLIC_URL": base,
        "BOOKING_CORS_ORIGINS": allowed.origin, "ELIGIBILITY_CORS_ORIGINS": allowed.origin,
        # Several tests make crisis screenings on one stack: each must alert at once rather than be
        # gathered into the follow-up at the window's end (the gathering has its own tests).
        "CRISIS_ALERT_WINDOW": "0",
    }
    allowed.api = refused.api = base
    process = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        wait_for(lambda: _ready(base) or process.poll() is not None, timeout=180, interval=0.5)
        assert process.poll() is None, "make run exited early; see test-artifacts/browser-make-run.log"
        yield Stack(base, var_dir, env, allowed, refused)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "browser-make-run.log").write_bytes(output or b"")
        allowed.close()
        refused.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"The browser tests need Debian's Chromium at {CHROMIUM}: apt-get install chromium "
                    "(.ci/system-packages.sh does it in CI).", pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, request):
    """Open pages in fresh browser contexts (own cookies, zone, size); the screen the first one (or the
    test's ``request.node.screenshot_page``) ends on is saved as the test's screenshot."""
    contexts, pages = [], []

    def open_page(timezone: str = "America/New_York", width: int = 1280, height: int = 900) -> Page:
        context = browser.new_context(timezone_id=timezone, locale="en-GB", viewport={"width": width, "height": height})
        context.set_default_timeout(15_000)
        contexts.append(context)
        pages.append(context.new_page())
        return pages[-1]

    yield open_page
    if pages:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = getattr(request.node, "screenshot_page", None) or pages[0]
        shot.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"))
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page) -> Page:
    return new_page()


class WidgetDriver:
    """Steps through the booking widget the way a patient does (locators pierce its shadow root)."""

    def __init__(self, page: Page, stack: Stack) -> None:
        self.page, self.stack = page, stack

    def open_demo(self) -> WidgetDriver:
        self.page.goto(f"{self.stack.base}/")
        self.page.get_by_role("heading", name="What would you like to book?").wait_for()
        return self

    def choose_type(self, name: str) -> None:
        self.page.get_by_role("button", name=name).click()

    def slots(self):
        return self.page.locator(".kb-slot")

    def first_slot(self):
        """The first offered time once the times have loaded, and its accessible name."""
        slot = self.slots().first
        slot.wait_for()
        return slot, slot.get_attribute("aria-label")

    def later_week(self) -> None:
        """Show the next week's times. The first week starts today, and its first time lies just past
        the minimum notice: by the time the patient books, it may have slipped inside it. A week on,
        every time is days clear of any notice window, whatever the hour the test runs at."""
        self.slots().first.wait_for()
        week = self.page.locator(".kb-week-range")
        shown = week.text_content()
        self.page.get_by_role("button", name="Later week").click()
        expect(week).not_to_have_text(shown)
        self.slots().first.wait_for()

    def fill_details(self, name: str, email: str, phone: str | None = None) -> None:
        self.page.get_by_label("Full name").fill(name)
        self.page.get_by_label("Email").fill(email)
        if phone:
            self.page.get_by_label("Phone (optional)").fill(phone)

    def screening(self):
        """The screening step: a frame on Kapbook's origin, so its questions never enter the host page."""
        return self.page.frame_locator("iframe.kb-screening-frame")

    def answer(self, answers: dict) -> None:
        """Answer screening questions by link id: booleans, option codes, dates, numbers, lists of codes."""
        for link_id, value in answers.items():
            question = self.screening().locator(f'[data-link-id="{link_id}"]')
            if isinstance(value, bool):
                question.get_by_label("Yes" if value else "No", exact=True).check()
            elif isinstance(value, list):
                for code in value or ["__none__"]:
                    question.locator(f'input[value="{code}"]').check()
            elif isinstance(value, int) and question.locator("input[type=radio]").count():
                question.locator(f'input[value="{value}"]').check()
            else:
                question.locator("input").fill(str(value))

    def heading(self, name: str):
        return self.page.get_by_role("heading", name=name)

    def alert(self):
        return self.page.locator(".kb-alert")


@pytest.fixture
def widget(stack):
    return lambda page: WidgetDriver(page, stack)


def sign_in(page: Page, stack: Stack, token: str, start: str = "/staff/") -> None:
    """Sign in to the console through its form (redirected there from ``start``) with the email and
    password of the staff member ``token`` was made for (``Stack.staff_token``), signing out a
    session that is still open on this computer first, as staff at a shared desk do."""
    email, password = stack.console_logins[token]
    page.goto(f"{stack.base}{start}")
    if page.get_by_role("button", name="Sign out", exact=True).count():
        page.get_by_role("button", name="Sign out", exact=True).click()
        page.goto(f"{stack.base}{start}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out", exact=True).wait_for()


@pytest.fixture
def console(stack):
    return lambda page, token, start="/staff/": sign_in(page, stack, token, start)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every test in this folder is an integration test, whether its file says so or not."""
    mark_folder_integration(items, __file__)
