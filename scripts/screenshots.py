#!/usr/bin/env python3
"""Screenshots of the patient journey for the README: ``make screenshots`` (or this script [OUT_DIR]).

Starts the whole system with ``make run`` on free ports and a throwaway data folder (embedded
defaults, the demo clinic from seed-demo), as the browser tests do, then drives headless Chromium
through a demo patient's course of care and writes one PNG per step of ``JOURNEY`` (default
``docs/images/``). Times are picked the way the browser tests pick them (a week on, past every
notice window), so it runs at any hour.
"""
from __future__ import annotations

import mailbox
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from html import escape
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # reuse the test answers, never copy them

from support.screening_answers import eligible_answers  # noqa: E402

OUT_DIR = ROOT / "docs" / "images"
API = "/api/booking/v1"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1100, "height": 800}
NARROW = {"width": 800, "height": 800}  # the widget's shots: its column fills the picture
ZONE = "America/New_York"
OUR_PREFIXES = ("KAPBOOK_", "BOOKING_", "ELIGIBILITY_", "REMINDERS_", "SMTP_", "GATEWAY_")
# A demo patient (no real person); example.org never receives mail.
NAME, EMAIL = "Sam Sample", "sam.sample@example.org"
DRIVER = "An adult will take me home after the appointment. I will not drive until the next day."
SIGN_IN_LINK = re.compile(r"https?://\S+/my/sign-in/[A-Za-z0-9_-]{40,}")
MAX_BYTES = 150_000

# The steps in the order they are taken: (file name in docs/images, what it shows). The README shows each.
JOURNEY = (
    ("1-widget-consultation.png", "the widget on the clinic's page: choosing a time for a free telehealth consultation"),
    ("2-confirmation-email.png", "the confirmation email, with the link to join the video call"),
    ("3-manage-page.png", "the appointment's own page (the manage link): join, reschedule or cancel"),
    ("4-my-sign-in.png", "My appointments: asking for a sign-in link by email"),
    ("5-widget-series-plan.png", "the widget's plan of a whole IV induction, confirmed once"),
    ("6-my-appointments.png", "My appointments: the course's progress and how long the screening is valid"),
    ("7-console-series.png", "the staff console's page of the series"),
    ("8-console-trend.png", "a clinician's view of the course: PHQ-9 and GAD-7 over time, the doses marked"),
    ("9-director-report.png", "the director's report: utilisation per clinician and chair, week by week"),
)

T = TypeVar("T")


def wait_for(probe: Callable[[], T], timeout: float = 30, interval: float = 0.25) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := probe():
            return found
        time.sleep(interval)
    raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {probe}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class System:
    base: str
    var_dir: Path
    env: dict[str, str]

    def mail_to(self, address: str) -> list[EmailMessage]:
        box = mailbox.Maildir(self.var_dir / "mail", create=False)
        messages = [message_from_bytes(box.get_bytes(key), policy=policy.default) for key in box.keys()]
        return sorted((m for m in messages if address in str(m["To"]).lower()), key=lambda m: m["Date"].datetime)

    def api(self, method: str, path: str, **kwargs) -> dict | list:
        response = requests.request(method, f"{self.base}{path}", timeout=15, **kwargs)
        assert response.status_code in (200, 201), f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def staff_account(self, role: str = "front_desk", name: str = "Demo Front Desk") -> tuple[str, str]:
        """A staff member's console email and password (the console signs in with them)."""
        email, password = f"{role.replace('_', '-')}@clinic.example", f"Journey-{uuid.uuid4().hex[:12]}"
        subprocess.run([str(ROOT / ".venv/bin/kapbook-booking"), "create-staff", "--name", name,
                        "--email", email, "--role", role, "--password-stdin"],
                       cwd=ROOT, env=self.env, input=password + "\n", capture_output=True, text=True, check=True,
                       timeout=60)
        return email, password


def _ready(base: str) -> bool:
    try:
        return all(requests.get(f"{base}/api/{s}/readyz", timeout=2).status_code == 200
                   for s in ("booking", "eligibility", "reminders"))
    except requests.RequestException:
        return False


@contextmanager
def running_system() -> Iterator[System]:
    """``make run`` on free ports and a fresh var folder; stopped with Ctrl-C's signal afterwards."""
    with tempfile.TemporaryDirectory(prefix="kapbook-shots-") as folder:
        var_dir = Path(folder) / "var"
        ports = {name: str(free_port()) for name in ("PORT", "BOOKING_PORT", "ELIGIBILITY_PORT", "REMINDERS_PORT", "SMTP_PORT")}
        base = f"http://127.0.0.1:{ports['PORT']}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(OUR_PREFIXES)} | ports | {
            "KAPBOOK_VAR_DIR": str(var_dir), "KAPBOOK_PUBLIC_URL": base}
        log = open(Path(folder) / "make-run.log", "wb")
        process = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            wait_for(lambda: _ready(base) or process.poll() is not None, timeout=180, interval=0.5)
            if process.poll() is not None:
                raise RuntimeError("make run exited early:\n" + (Path(folder) / "make-run.log").read_text()[-3000:])
            yield System(base, var_dir, env)
        finally:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            log.close()


# -- the journey --------------------------------------------------------------------------------


class Journey:
    def __init__(self, system: System, browser, out_dir: Path) -> None:
        self.system, self.out_dir = system, out_dir
        self.context = browser.new_context(timezone_id=ZONE, locale="en-US", viewport=VIEWPORT)
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()

    def shot(self, name: str, locator=None, **options) -> None:
        """One PNG, of ``locator`` or of the page (``options`` as Playwright's: full_page, clip)."""
        assert name in dict(JOURNEY), name
        target = locator if locator is not None else self.page
        target.screenshot(path=str(self.out_dir / name), type="png", animations="disabled", **options)
        print(f"  {name}: {(self.out_dir / name).stat().st_size // 1024} KB")

    def heading(self, name: str):
        return self.page.get_by_role("heading", name=name)

    def widget(self):
        """The clinic page's booking section: its heading and the widget in it."""
        return self.page.locator("#book")

    def open_widget(self, appointment_type: str) -> None:
        self.page.set_viewport_size(NARROW)
        self.page.goto(f"{self.system.base}/")
        self.heading("What would you like to book?").wait_for()
        self.page.get_by_role("button", name=appointment_type).click()
        self.heading("Choose a day and time").wait_for()

    def later_week(self) -> None:
        """Next week's times: this week's first one may slip inside the minimum notice meanwhile."""
        slots, week = self.page.locator(".kb-slot"), self.page.locator(".kb-week-range")
        slots.first.wait_for()
        shown = week.text_content()
        self.page.get_by_role("button", name="Later week").click()
        wait_for(lambda: week.text_content() != shown, timeout=15)
        slots.first.wait_for()

    def consultation(self) -> str:
        """Books a free consultation in the widget; returns its manage link."""
        self.open_widget("Free consultation")
        self.later_week()
        self.shot("1-widget-consultation.png", self.widget())
        self.page.locator(".kb-slot").nth(2).click()
        self.heading("Your details").wait_for()
        self.page.get_by_label("Full name").fill(NAME)
        self.page.get_by_label("Email").fill(EMAIL)
        self.page.get_by_role("button", name="Continue").click()
        self.page.get_by_role("button", name="Confirm booking").click()
        self.heading("You are booked").wait_for()
        self.page.set_viewport_size(VIEWPORT)
        return self.page.get_by_role("link", name="Manage or cancel this booking").get_attribute("href")

    def confirmation_email(self) -> None:
        """The HTML email as a mail program shows it, with a plain header line above."""
        [email] = wait_for(lambda: self.system.mail_to(EMAIL))
        html = email.get_body(preferencelist=("html",)).get_content()
        assert "meet.example.org" in html, "the confirmation carries the join link"
        header = (f'<div style="font:14px sans-serif;padding:12px 16px;background:#f1f3f5;border-bottom:1px solid #ccd">'
                  f'<b>{escape(email["Subject"])}</b><br>From: {escape(email["From"])} &nbsp; To: {escape(email["To"])}</div>')
        self.page.goto("about:blank")
        self.page.set_viewport_size({"width": 640, "height": 600})
        self.page.set_content(html)
        self.page.evaluate("header => document.body.insertAdjacentHTML('afterbegin', header)", header)
        self.shot("2-confirmation-email.png", full_page=True)
        self.page.set_viewport_size(VIEWPORT)

    def manage_page(self, manage_url: str) -> None:
        self.page.goto(manage_url)
        self.page.get_by_role("link", name="Join the video call").wait_for()
        self.shot("3-manage-page.png")

    def prepared_patient(self) -> None:
        """Between visits: the screening is approved and a preparation session booked with it (an IV
        induction needs one first), as the clinic's staff and earlier widget visits would leave it."""
        screening = self.system.api("POST", "/api/eligibility/v1/screenings",
                                    json={"patient": {"name": NAME, "email": EMAIL}, "answers": eligible_answers()})
        assert screening["outcome"] == "eligible", screening
        self.screening_id = screening["id"]
        first = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=2)).date()
        slots = self.system.api("GET", f"{API}/availability", params={
            "appointment_type": "preparation-session", "start": first.isoformat(),
            "end": (first + timedelta(days=3)).isoformat(), "timezone": ZONE})["slots"]
        assert slots, f"no preparation session free from {first}"
        self.system.api("POST", f"{API}/bookings", json={
            "appointment_type": "preparation-session", "start": slots[0]["start"], "clinician_id": slots[0]["clinician_id"],
            "screening_id": screening["id"], "patient": {"name": NAME, "email": EMAIL, "timezone": ZONE}})

    def sign_in(self) -> None:
        self.page.goto(f"{self.system.base}/my")
        self.page.get_by_label("Your email address").fill(EMAIL)
        self.shot("4-my-sign-in.png", clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": 480})  # the form, not the blank below
        self.page.get_by_role("button", name="Email me a sign-in link").click()
        self.page.get_by_role("status").wait_for()
        link = wait_for(lambda: self._sign_in_link())
        self.page.goto(link)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.get_by_text(f"Signed in as {EMAIL}.").wait_for()

    def _sign_in_link(self) -> str | None:
        bodies = [mail.get_body(preferencelist=("plain",)).get_content() for mail in self.system.mail_to(EMAIL)]
        return next((found.group(0) for body in bodies if (found := SIGN_IN_LINK.search(body))), None)

    def series(self) -> None:
        """A signed-in patient books a whole IV induction: no questionnaire, one plan, one confirmation."""
        self.open_widget("IV ketamine infusion")
        self.page.locator(".kb-alert").filter(has_text="screening is valid until").wait_for()
        self.later_week()
        self.page.locator(".kb-slot").first.click()
        self.page.locator(".kb-plan-item").first.wait_for()
        self.shot("5-widget-series-plan.png", self.widget())
        self.page.get_by_role("button", name="Continue with these sessions").click()
        self.heading("Your details").wait_for()
        if not self.page.get_by_label("Full name").input_value():
            self.page.get_by_label("Full name").fill(NAME)
        self.page.get_by_label(DRIVER).check()
        self.page.get_by_role("button", name="Continue").click()
        self.page.get_by_role("button", name=re.compile(r"^Confirm all \d+ sessions$")).click()
        self.heading("You are booked").wait_for()
        self.series_manage_url = self.page.get_by_role("link", name="Manage session 1").get_attribute("href")
        self.page.set_viewport_size(VIEWPORT)

    def my_appointments(self) -> None:
        self.page.goto(f"{self.system.base}/my")
        self.page.locator(".screening.valid").wait_for()
        # From the heading to the end of the first session of the course: the progress is on it.
        top = self.page.get_by_role("heading", name="My appointments").bounding_box()
        course = self.page.locator("ul[aria-labelledby=upcoming-heading] > li").filter(has_text=" of 6").first
        bottom = course.bounding_box()
        clip = {"x": bottom["x"] - 24, "y": top["y"] - 24, "width": bottom["width"] + 48,
                "height": bottom["y"] + bottom["height"] - top["y"] + 36}
        self.shot("6-my-appointments.png", full_page=True, clip=clip)

    def console_series(self) -> None:
        """Front desk opens a session of the series in the console and follows it to the series page."""
        token = self.series_manage_url.rsplit("/", 1)[1]
        rows = self.system.api("GET", f"{API}/manage/{token}/series")
        email, password = self.system.staff_account()
        staff = self.context.browser.new_context(timezone_id=ZONE, locale="en-US", viewport=VIEWPORT)
        page = staff.new_page()
        page.goto(f"{self.system.base}/staff/bookings/{rows['sessions'][1]['id']}")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("link", name="View the series").click()
        page.locator("tbody tr").first.wait_for()
        self.page, keep = page, self.page
        self.shot("7-console-series.png")
        self.page = keep
        staff.close()

    def check_in(self) -> None:
        """Before the first dose the patient answers the check-in from their email's link (sealed ids
        under the key the stack derives from its service token, as the reminders service makes it)."""
        from kapbook_platform.config import DEVELOPMENT_SERVICE_TOKEN
        from kapbook_platform.contracts.check_in_links import (
            CheckInLink, CheckInOccasion, check_in_link_keys, make_check_in_token,
        )

        keys = check_in_link_keys((), self.system.env.get("KAPBOOK_SERVICE_TOKEN") or DEVELOPMENT_SERVICE_TOKEN)
        dose = datetime.now(ZoneInfo(ZONE)) + timedelta(days=1)
        token = make_check_in_token(CheckInLink(str(uuid.uuid4()), CheckInOccasion.BEFORE_DOSE, EMAIL, NAME, dose, dose), keys)
        url = f"{self.system.base}/api/eligibility/v1/check-in"
        form = requests.get(url, params={"token": token}, timeout=15)
        names = dict.fromkeys(re.findall(r'type="radio" name="([a-z0-9_]+)"', form.text))
        # Better than at the screening: most answers "not at all", a few "several days", no risk.
        answers = {name: "1" if name in ("phq9_1", "phq9_3", "phq9_4", "gad7_2") else "false" if name.startswith("cssrs") else "0"
                   for name in names}
        sent = requests.post(url, params={"token": token}, data=answers, timeout=15)
        assert sent.status_code == 200, sent.text[:300]

    def console_page(self, role: str, name: str, path: str):
        """A new browser context signed in to the console as a new staff member of ``role``, on ``path``."""
        email, password = self.system.staff_account(role, name)
        staff = self.context.browser.new_context(timezone_id=ZONE, locale="en-US", viewport=VIEWPORT)
        page = staff.new_page()
        page.goto(f"{self.system.base}{path}")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        return staff, page

    def console_trend(self) -> None:
        staff, page = self.console_page("clinician", "Dr. Demo Clinician", f"/staff/trends/{self.screening_id}")
        page.locator("#trend-values tbody tr").nth(1).wait_for()
        self.page, keep = page, self.page
        self.shot("8-console-trend.png", full_page=True, clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": 1250})
        self.page = keep
        staff.close()

    def director_report(self) -> None:
        # The demo clinic has no past: the coming four weeks, which the journey has booked into.
        first = datetime.now(ZoneInfo(ZONE)).date()
        path = f"/staff/reports/director?from={first}&until={first + timedelta(days=27)}&tz={ZONE}"
        staff, page = self.console_page("admin", "Demo Director", path)
        page.locator("svg").first.wait_for()
        self.page, keep = page, self.page
        self.shot("9-director-report.png", full_page=True, clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": 1100})
        self.page = keep
        staff.close()

    def run(self) -> None:
        manage_url = self.consultation()
        self.confirmation_email()
        self.manage_page(manage_url)
        self.prepared_patient()
        self.sign_in()
        self.series()
        self.my_appointments()
        self.console_series()
        self.check_in()
        self.console_trend()
        self.director_report()
        self.context.close()


def main(out_dir: Path = OUT_DIR) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"==> Starting Kapbook (make run) and taking the patient journey into {out_dir}")
    with running_system() as system, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            Journey(system, browser, out_dir).run()
        finally:
            browser.close()
    written = [out_dir / name for name, _what in JOURNEY]
    too_big = [f"{path.name} ({path.stat().st_size} B)" for path in written if path.stat().st_size > MAX_BYTES]
    if too_big:
        raise SystemExit(f"screenshots over {MAX_BYTES // 1000} KB: {', '.join(too_big)}")
    return written


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT_DIR)
