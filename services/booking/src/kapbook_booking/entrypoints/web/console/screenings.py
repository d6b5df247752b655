"""The screening review queue in the console. Screenings live in the eligibility service: these
pages call its staff API server-side, as the signed-in staff member (their session's delegate credential), so the
eligibility service authorises and audits every opening and decision itself."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests
from flask import redirect, request, url_for

from kapbook_booking.entrypoints.http.staff_access import catalog
from kapbook_booking.entrypoints.web.console.access import REVIEWERS, bp, call_as_staff, console_view, page, service_credential
from kapbook_booking.entrypoints.wiring import container

# Long enough for a slow answer, short enough that a page never hangs.
TIMEOUT_SECONDS = 5.0
NOTICES = {"reviewed": "Decision saved. The booking service and the patient's reminders follow it."}
TIMESTAMPS = ("submitted_at", "valid_until", "reviewed_at")
OUTCOME_NAMES = {"eligible": "Eligible", "needs_review": "Needs review", "ineligible": "Not eligible", "crisis": "Crisis"}


class EligibilityProblem(Exception):
    """The eligibility service refused or did not answer; ``message`` says so for people."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class ReviewClient:
    """The eligibility service's review API, called as the signed-in staff member."""

    base_url: str
    token: str
    http: requests.Session = field(default_factory=requests.Session)

    def queue(self, status: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/reviews?status={status}")

    def screening(self, screening_id: str) -> dict[str, Any]:
        return self._call("GET", f"/screenings/{quote(screening_id, safe='')}")

    def questionnaire(self) -> dict[str, Any]:
        return self._call("GET", "/questionnaire")

    def review(self, screening_id: str, decision: str, note: str) -> dict[str, Any]:
        return self._call("POST", f"/screenings/{quote(screening_id, safe='')}/review", {"decision": decision, "note": note})

    def trend(self, record_id: str) -> dict[str, Any]:
        return self._call("GET", f"/trends/{quote(record_id, safe='')}")

    def pending_check_ins(self) -> list[dict[str, Any]]:
        return self._call("GET", "/check-ins?status=pending")

    def follow_up_check_in(self, check_in_id: str) -> dict[str, Any]:
        return self._call("POST", f"/check-ins/{quote(check_in_id, safe='')}/review")

    def _call(self, method: str, path: str, body: dict | None = None) -> Any:
        url = f"{self.base_url.rstrip('/')}/api/eligibility/v1{path}"
        try:
            response = call_as_staff(self.http, method, url, self.token, body, timeout=TIMEOUT_SECONDS)
        except requests.RequestException:
            raise EligibilityProblem(503, "The eligibility service is not answering. Please try again in a minute.") from None
        if response.status_code >= 400:
            raise EligibilityProblem(response.status_code, _explain(response))
        return response.json()


def _explain(response: requests.Response) -> str:
    if response.status_code == 401:
        return ("The eligibility service does not know your sign-in yet (new tokens reach it within seconds). "
                "Please try again shortly.")
    try:
        return response.json().get("message") or response.reason
    except ValueError:
        return f"The eligibility service answered {response.status_code}."


def clinic_zone() -> str:
    """Times on these pages read in the first location's zone."""
    locations = catalog().locations()
    return locations[0]["timezone"] if locations else "UTC"


def with_local_times(record: dict[str, Any], zone: str) -> dict[str, Any]:
    """The record with its ISO timestamps (its review's too) as datetimes in ``zone``."""
    local = dict(record)
    for key in TIMESTAMPS:
        if isinstance(local.get(key), str):
            local[key] = datetime.fromisoformat(local[key]).astimezone(ZoneInfo(zone))
    if isinstance(local.get("review"), dict):
        local["review"] = with_local_times(local["review"], zone)
    return local


def _client() -> ReviewClient:
    return ReviewClient(container().config.eligibility_url, service_credential())


def answer_rows(questionnaire: dict[str, Any], answers: dict[str, Any]) -> list[dict[str, Any]]:
    """Each answered question with its section, its text and the answer as the patient saw it."""
    rows = []
    for section in questionnaire.get("sections", []):
        for item in section["items"]:
            if item["link_id"] not in answers:
                continue
            rows.append({"section": section["title"], "question": item["text"],
                         "answer": _answer_text(item, answers[item["link_id"]])})
    return rows


def _answer_text(item: dict[str, Any], value: Any) -> str:
    labels = {option["code"]: option["label"] for option in item.get("options", [])}
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(labels.get(code, code)) for code in value) or "None of these"
    if value in labels:
        return f"{labels[value]} ({value})"
    unit = (item.get("unit") or {}).get("display")
    return f"{value} {unit}" if unit else str(value)


@bp.get("/screenings")
@console_view(*REVIEWERS)
def screenings():
    """Screenings waiting for a clinician (crises first), or the latest reviewed ones."""
    queue = "reviewed" if request.args.get("status") == "reviewed" else "pending"
    zone = clinic_zone()
    client = _client()
    try:
        rows, problem = [with_local_times(row, zone) for row in client.queue(queue)], None
        check_ins = [with_local_times(row, zone) for row in client.pending_check_ins()] if queue == "pending" else []
    except EligibilityProblem as error:
        rows, check_ins, problem = [], [], error.message
    return page("console/screenings.html", 503 if problem else 200, rows=rows, queue=queue, problem=problem,
                outcome_names=OUTCOME_NAMES, zone=zone, check_ins=check_ins)


@bp.get("/screenings/<string:screening_id>")
@console_view(*REVIEWERS)
def screening(screening_id: str):
    """One screening with its scores, reasons and answers (the eligibility service audits the opening)."""
    return _screening_page(screening_id, notice=NOTICES.get(request.args.get("notice", "")))


def _screening_page(screening_id: str, status: int = 200, notice: str | None = None, error: str | None = None):
    client = _client()
    try:
        detail = client.screening(screening_id)
        rows = answer_rows(client.questionnaire(), detail.get("answers", {}))
    except EligibilityProblem as problem:
        heading = "No such screening" if problem.status == 404 else "The screening cannot be shown"
        return page("console/problem.html", problem.status, heading=heading, message=problem.message)
    zone = clinic_zone()
    return page("console/screening.html", status, screening=with_local_times(detail, zone), rows=rows, notice=notice,
                error=error, outcome_names=OUTCOME_NAMES, form=request.form, zone=zone)


@bp.post("/screenings/<string:screening_id>/review")
@console_view(*REVIEWERS)
def review_screening(screening_id: str):
    decision, note = request.form.get("decision", ""), request.form.get("note", "").strip()
    if decision not in ("approved", "declined") or not note:
        return _screening_page(screening_id, 422, error="Choose approve or decline, and write a note for the record.")
    try:
        _client().review(screening_id, decision, note)
    except EligibilityProblem as problem:
        return _screening_page(screening_id, problem.status, error=problem.message)
    return redirect(url_for("console.screening", screening_id=screening_id, notice="reviewed"), code=303)
