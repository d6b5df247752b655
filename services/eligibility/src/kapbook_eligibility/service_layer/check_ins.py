"""Check-ins between doses: the patient's page from an emailed link, the scores, the alert, the trend.

Answers and scores are sealed with the same cipher as a screening's; events carry ids only.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from kapbook_eligibility.adapters import repository as repo
from kapbook_eligibility.adapters.encryption import FieldCipher
from kapbook_eligibility.domain import (
    CheckInScores,
    CrisisResource,
    Decision,
    Measurement,
    Questionnaire,
    check_in_questionnaire,
    course_outcome,
    is_enabled,
    load_questionnaire,
    score_check_in,
    validate_answers,
)
from kapbook_eligibility.service_layer.errors import (
    AlreadyReviewed,
    AnswersRejected,
    CheckInAlreadyDone,
    CheckInLinkInvalid,
    ScreeningNotFound,
)
from kapbook_eligibility.service_layer.screenings import result_context
from kapbook_platform.clock import Clock, utc_now
from kapbook_platform.contracts import EventType
from kapbook_platform.contracts.check_in_links import CheckInLink, open_check_in_token
from kapbook_platform.messaging.outbox import Outbox
from kapbook_platform.staff.audit import record_audit
from kapbook_platform.staff.principal import StaffPrincipal

log = logging.getLogger(__name__)
TREND_OPENED = "trend.opened"
CHECK_IN_REVIEWED = "check_in.reviewed"


def check_in_answers_context(check_in_id: str) -> str:
    return f"check_in:{check_in_id}:answers"


def check_in_result_context(check_in_id: str) -> str:
    return f"check_in:{check_in_id}:result"


@dataclass(frozen=True)
class CheckInForm:
    link: CheckInLink
    questionnaire: Questionnaire


@dataclass(frozen=True)
class CheckInReceived:
    check_in_id: str
    alert: bool
    # Shown to the patient at once when the check-in raised an alert; empty otherwise.
    crisis_resources: tuple[CrisisResource, ...]


@dataclass
class CheckInService:
    sessions: sessionmaker[Session]
    outbox: Outbox
    cipher: FieldCipher
    audit_log: Table
    link_keys: tuple[str, ...]
    with_cssrs: bool
    crisis_resources: tuple[CrisisResource, ...]
    public_base_url: str
    clock: Clock = utc_now

    def questionnaire(self) -> Questionnaire:
        return check_in_questionnaire(load_questionnaire(), with_cssrs=self.with_cssrs)

    def open(self, token: str) -> CheckInForm:
        """The form behind a link, unless the link is not genuine, has expired or was used already."""
        link = self._link(token)
        with self.sessions() as session:
            if repo.check_in_exists(session, link.booking_id, link.occasion.value):
                raise CheckInAlreadyDone("This check-in has been received already. Thank you.")
        return CheckInForm(link, self.questionnaire())

    def submit(self, token: str, answers: Mapping[str, Any]) -> CheckInReceived:
        """Score, store sealed, and publish (the alert first when there is one) in one transaction."""
        link = self._link(token)
        questionnaire = self.questionnaire()
        answers = asked_answers(questionnaire, answers)
        now = self.clock()
        errors = validate_answers(questionnaire, answers, today=now.date())
        if errors:
            raise AnswersRejected("Some answers are missing or invalid; see errors.", errors)
        scores = score_check_in(answers, with_cssrs=self.with_cssrs)
        check_in_id = str(uuid.uuid4())
        try:
            with self.sessions.begin() as session:
                if repo.check_in_exists(session, link.booking_id, link.occasion.value):
                    raise CheckInAlreadyDone("This check-in has been received already. Thank you.")
                repo.insert_check_in(session, self._row(check_in_id, link, questionnaire, answers, scores, now))
                self._publish(session, check_in_id, link, scores, now)
        except IntegrityError:  # the same link submitted twice at the same moment
            raise CheckInAlreadyDone("This check-in has been received already. Thank you.") from None
        log.info("check-in received", extra={"check_in_id": check_in_id, "booking_id": link.booking_id})
        return CheckInReceived(check_in_id, scores.needs_alert, self.crisis_resources if scores.needs_alert else ())

    def trend(self, record_id: str, viewer: StaffPrincipal, ip: str | None) -> dict[str, Any]:
        """A patient's PHQ-9 and GAD-7 totals over time (screenings and check-ins), with response and remission.

        ``record_id`` is any screening or check-in of the patient. The read is audited.
        """
        with self.sessions.begin() as session:
            email = repo.patient_email_of(session, record_id)
            if email is None:
                raise ScreeningNotFound("There is no such screening or check-in.")
            screenings, check_ins = repo.screenings_of(session, email), repo.check_ins_of(session, email)
            record_audit(session, self.audit_log, viewer.staff_id, TREND_OPENED, f"patient-of:{record_id}",
                         {"staff_name": viewer.name, "role": viewer.role, "credential_id": viewer.credential_id, "ip": ip})
        points = sorted([self._screening_point(row) for row in screenings] + [self._check_in_point(row) for row in check_ins],
                        key=lambda point: (point.taken_at, point.record_id))
        names = [row["patient_name"] for row in [*screenings, *check_ins]]
        outcome = course_outcome(points)
        return {
            "patient": {"name": names[-1] if names else "", "email": email},
            "points": [_point_view(point) for point in points],
            "check_ins": [_check_in_view(row) for row in check_ins],
            "outcome": {
                "baseline_id": outcome.baseline.record_id if outcome.baseline else None,
                "latest_id": outcome.latest.record_id if outcome.latest else None,
                "phq9_change_percent": outcome.phq9_change_percent,
                "gad7_change_percent": outcome.gad7_change_percent,
                "phq9_response": outcome.phq9_response,
                "gad7_response": outcome.gad7_response,
                "remission": outcome.remission,
            },
        }

    def pending(self) -> list[dict[str, Any]]:
        """Check-ins whose alert waits for a clinician's follow-up (no scores)."""
        with self.sessions() as session:
            return [dict(row) for row in repo.pending_check_ins(session)]

    def mark_reviewed(self, check_in_id: str, reviewer: StaffPrincipal) -> dict[str, Any]:
        """A clinician has followed the alert up: the review item closes (audited)."""
        now = self.clock()
        with self.sessions.begin() as session:
            if not repo.mark_check_in_reviewed(session, check_in_id, reviewer.name, now):
                if repo.check_in_by_id(session, check_in_id) is None:
                    raise ScreeningNotFound("There is no such check-in.")
                raise AlreadyReviewed("This check-in needs no follow-up, or has had it already.")
            record_audit(session, self.audit_log, reviewer.staff_id, CHECK_IN_REVIEWED, f"check_in:{check_in_id}",
                         {"staff_name": reviewer.name, "role": reviewer.role, "credential_id": reviewer.credential_id})
        return {"check_in_id": check_in_id, "reviewer_name": reviewer.name, "reviewed_at": now}

    def review_url(self, check_in_id: str) -> str:
        return f"{self.public_base_url.rstrip('/')}/staff/trends/{check_in_id}"

    def _link(self, token: str) -> CheckInLink:
        link = open_check_in_token(token, self.link_keys, self.clock())
        if link is None:
            raise CheckInLinkInvalid("This check-in link is not valid or has expired.")
        return link

    def _row(self, check_in_id: str, link: CheckInLink, questionnaire: Questionnaire, answers: Mapping[str, Any],
             scores: CheckInScores, now: datetime) -> dict[str, Any]:
        return {
            "id": check_in_id,
            "booking_id": link.booking_id,
            "occasion": link.occasion.value,
            "patient_name": link.patient_name,
            "patient_email": link.patient_email.lower(),
            "session_start": link.session_start,
            "questionnaire_version": questionnaire.version,
            "answers_encrypted": self.cipher.seal(check_in_answers_context(check_in_id), dict(answers)),
            "result_encrypted": self.cipher.seal(check_in_result_context(check_in_id), scores.to_dict()),
            "status": repo.PENDING_REVIEW if scores.needs_alert else repo.DECIDED,
            "submitted_at": now,
        }

    def _publish(self, session: Session, check_in_id: str, link: CheckInLink, scores: CheckInScores, now: datetime) -> None:
        # The alert goes first, as a crisis screening's does: the relay publishes in insertion order.
        if scores.needs_alert:
            self.outbox.add(session, EventType.CHECK_IN_ALERT,
                            {"check_in_id": check_in_id, "review_url": self.review_url(check_in_id),
                             "decided_at": now.isoformat()})
        self.outbox.add(session, EventType.CHECK_IN_COMPLETED,
                        {"check_in_id": check_in_id, "booking_id": link.booking_id, "occasion": link.occasion.value,
                         "completed_at": now.isoformat()})

    def _screening_point(self, row: Any) -> Measurement:
        scores = Decision.from_dict(self.cipher.open(result_context(row["id"]), row["result_encrypted"])).scores
        return Measurement(row["id"], "screening", row["submitted_at"], scores.phq9.total, scores.gad7.total,
                           scores.phq9.band, scores.gad7.band)

    def _check_in_point(self, row: Any) -> Measurement:
        scores = CheckInScores.from_dict(self.cipher.open(check_in_result_context(row["id"]), row["result_encrypted"]))
        return Measurement(row["id"], "check_in", row["submitted_at"], scores.phq9.total, scores.gad7.total,
                           scores.phq9.band, scores.gad7.band, alert=scores.needs_alert)


def asked_answers(questionnaire: Questionnaire, answers: Mapping[str, Any]) -> dict[str, Any]:
    """The answers to questions the skip logic asks; a page without script may send the others too."""
    kept: dict[str, Any] = {}
    for item in questionnaire.items:
        if item.link_id in answers and is_enabled(item, kept):
            kept[item.link_id] = answers[item.link_id]
    unknown = {key: value for key, value in answers.items() if not questionnaire.has_item(key)}
    return kept | unknown  # unknown keys stay, so validation names them


def _point_view(point: Measurement) -> dict[str, Any]:
    return {"id": point.record_id, "source": point.source, "taken_at": point.taken_at, "phq9": point.phq9,
            "gad7": point.gad7, "phq9_band": point.phq9_band.value, "gad7_band": point.gad7_band.value,
            "alert": point.alert}


def _check_in_view(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "booking_id": row["booking_id"], "occasion": row["occasion"],
            "session_start": row["session_start"], "status": row["status"], "submitted_at": row["submitted_at"],
            "reviewed_at": row["reviewed_at"], "reviewer_name": row["reviewer_name"]}
