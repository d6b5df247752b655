"""The eligibility gate's decisions, with a fake eligibility client: no database, no HTTP."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from kapbook_booking.adapters.eligibility_client import EligibilityAnswer, EligibilityDecision, EligibilityServiceDown
from kapbook_booking.entrypoints.errors import http_status
from kapbook_booking.service_layer.eligibility import EligibilityGate, decision_from, is_approved
from kapbook_booking.service_layer.errors import EligibilityUnavailable, NotEligible, ScreeningRequired

NOW = datetime(2027, 3, 9, 15, 30, tzinfo=UTC)
VALID_DAYS = 90


def answer(outcome: str = "eligible", *, clinician: str | None = None, email: str = "pat@example.org",
           age: timedelta = timedelta(days=1), valid_for: timedelta = timedelta(days=89)) -> EligibilityAnswer:
    """The eligibility service's answer over HTTP, with its outcome word."""
    decided = NOW - age
    return EligibilityAnswer("scr-1", email, outcome, clinician, decided_at=decided, valid_until=NOW + valid_for)


def decision(outcome: str = "eligible", **changes) -> EligibilityDecision:
    """What the booking service keeps of that answer: the flag, no outcome."""
    return decision_from(answer(outcome, **changes))


@dataclass
class FakeEligibilityClient:
    """Answers from a dict; ``down`` makes every call fail as a timeout would."""

    decisions: dict[str, EligibilityAnswer] = field(default_factory=dict)
    down: bool = False
    asked: list[str] = field(default_factory=list)

    def decision(self, screening_id: str) -> EligibilityAnswer | None:
        self.asked.append(screening_id)
        if self.down:
            raise EligibilityServiceDown("timed out")
        return self.decisions.get(screening_id)


def gate(client: FakeEligibilityClient | None = None) -> EligibilityGate:
    return EligibilityGate(client or FakeEligibilityClient(), VALID_DAYS)


@pytest.mark.parametrize(("outcome", "clinician", "approved"), [
    ("eligible", None, True),
    ("needs_review", None, False),
    ("needs_review", "approved", True),
    ("eligible", "declined", False),
    ("ineligible", None, False),
    ("crisis", None, False),
])
def test_only_eligible_or_clinician_approved_screenings_allow_treatment(outcome, clinician, approved):
    assert is_approved(decision(outcome, clinician=clinician)) is approved


def test_an_approved_recent_screening_for_the_same_email_passes_whatever_its_case():
    gate().check(decision(email="Pat@Example.org"), "pat@EXAMPLE.org", NOW)


@pytest.mark.parametrize(("found", "reason"), [
    (None, "could not find an eligibility screening"),
    (decision(email="someone.else@example.org"), "could not find an eligibility screening"),
    (decision("needs_review"), "once a clinician has approved"),
    (decision(age=timedelta(days=VALID_DAYS, seconds=1)), "older than 90 days"),
    (decision(valid_for=timedelta(seconds=-1)), "older than 90 days"),
])
def test_a_missing_foreign_unapproved_or_stale_screening_is_refused_with_the_reason(found, reason):
    with pytest.raises(NotEligible) as refused:
        gate().check(found, "pat@example.org", NOW)
    assert reason in refused.value.message
    assert (http_status(refused.value), refused.value.code) == (403, "not_eligible")


def test_a_screening_exactly_at_the_age_limit_still_counts():
    gate().check(decision(age=timedelta(days=VALID_DAYS)), "pat@example.org", NOW)


def test_no_screening_id_asks_for_the_screening():
    with pytest.raises(ScreeningRequired) as refused:
        EligibilityGate.require_screening(None)
    assert (http_status(refused.value), refused.value.code) == (422, "screening_required")


def test_asking_returns_the_services_answer_marked_as_fetched():
    client = FakeEligibilityClient({"scr-1": answer()})
    lookup = gate(client).ask("scr-1")
    assert lookup.decision == decision() and lookup.from_service and client.asked == ["scr-1"]


@pytest.mark.parametrize("outcome", ["crisis", "ineligible", "needs_review"])
def test_an_answer_is_kept_as_a_blocked_flag_without_the_outcome_word(outcome):
    client = FakeEligibilityClient({"scr-1": answer(outcome)})
    kept = gate(client).ask("scr-1").decision
    assert kept.allowed is False
    assert outcome not in repr(kept) and not hasattr(kept, "outcome")


def test_an_unreachable_eligibility_service_is_a_retryable_503_not_a_refusal():
    with pytest.raises(EligibilityUnavailable) as unavailable:
        gate(FakeEligibilityClient(down=True)).ask("scr-1")
    assert http_status(unavailable.value) == 503 and unavailable.value.retry_after_seconds == 30
