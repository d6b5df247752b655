"""The eligibility decision: answers + rule set + date -> outcome with reasons.

Precedence: crisis > ineligible > needs_review > eligible. Every applicable
reason is listed whatever the outcome, in the fixed order of ReasonCode, so a
clinician sees everything and the same inputs always give the same output.

Policy choices made here (documented because they are clinical):
- A low C-SSRS risk (wish to be dead or suicidal thoughts in the past month,
  nothing more) needs clinician review: any current ideation deserves a
  conversation before a psychoactive treatment, even though the published
  triage does not call it urgent.
- PHQ-9 item 9 above 0 is listed as a reason even when the C-SSRS risk is
  high; the outcome is then crisis, but the clinician still sees both signals.
- Behaviour (C-SSRS 6) is high risk when within the past 3 months.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from .answers import InvalidAnswers, enabled_answers
from .questionnaire import Questionnaire, load_questionnaire
from .rules import RuleSet, RuleSettings
from .scoring import (
    CssrsRisk,
    Gad7Band,
    Gad7Score,
    Phq9Band,
    Phq9Score,
    cssrs_from_answers,
    cssrs_risk,
    gad7_from_answers,
    is_treatment_resistant,
    phq9_from_answers,
)


class Outcome(StrEnum):
    ELIGIBLE = "eligible"
    NEEDS_REVIEW = "needs_review"
    INELIGIBLE = "ineligible"
    CRISIS = "crisis"

    @property
    def severity(self) -> int:
        """Higher wins when several reasons apply."""
        return _SEVERITY[self]


_SEVERITY = {
    Outcome.ELIGIBLE: 0,
    Outcome.NEEDS_REVIEW: 1,
    Outcome.INELIGIBLE: 2,
    Outcome.CRISIS: 3,
}


class ReasonCode(StrEnum):
    """Stable, machine-readable reasons; declaration order is report order."""

    # crisis
    CSSRS_HIGH_RISK = "cssrs_high_risk"
    # ineligible: absolute contraindications
    UNDER_MINIMUM_AGE = "under_minimum_age"
    PREGNANCY = "pregnancy"
    ANEURYSMAL_VASCULAR_DISEASE = "aneurysmal_vascular_disease"
    INTRACEREBRAL_HEMORRHAGE = "intracerebral_hemorrhage"
    KETAMINE_HYPERSENSITIVITY = "ketamine_hypersensitivity"
    # needs_review: a clinician decides
    CSSRS_MODERATE_RISK = "cssrs_moderate_risk"
    CSSRS_LOW_RISK = "cssrs_low_risk"
    PHQ9_ITEM9_POSITIVE = "phq9_item9_positive"
    PSYCHOSIS_HISTORY = "psychosis_history"
    PSYCHOSIS_FAMILY_HISTORY = "psychosis_family_history"
    BIPOLAR_HISTORY = "bipolar_history"
    SUBSTANCE_USE_DISORDER = "substance_use_disorder"
    HYPERTENSION = "hypertension"
    BLOOD_PRESSURE_HIGH = "blood_pressure_high"
    CARDIAC_DISEASE = "cardiac_disease"
    LIVER_DISEASE = "liver_disease"
    BREASTFEEDING = "breastfeeding"
    BENZODIAZEPINE_HIGH_DOSE = "benzodiazepine_high_dose"
    BENZODIAZEPINE = "benzodiazepine"
    LAMOTRIGINE = "lamotrigine"
    MAOI = "maoi"
    STIMULANT = "stimulant"
    OPIOID = "opioid"

    @property
    def outcome(self) -> Outcome:
        """The outcome this reason leads to on its own."""
        if self is ReasonCode.CSSRS_HIGH_RISK:
            return Outcome.CRISIS
        if self in _CONTRAINDICATIONS:
            return Outcome.INELIGIBLE
        return Outcome.NEEDS_REVIEW


_CONTRAINDICATIONS = frozenset(
    {
        ReasonCode.UNDER_MINIMUM_AGE,
        ReasonCode.PREGNANCY,
        ReasonCode.ANEURYSMAL_VASCULAR_DISEASE,
        ReasonCode.INTRACEREBRAL_HEMORRHAGE,
        ReasonCode.KETAMINE_HYPERSENSITIVITY,
    }
)


@dataclass(frozen=True)
class Reason:
    code: ReasonCode
    message: str

    @property
    def outcome(self) -> Outcome:
        return self.code.outcome

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code.value, "outcome": self.outcome.value, "message": self.message}


@dataclass(frozen=True)
class Scores:
    phq9: Phq9Score
    gad7: Gad7Score
    cssrs_risk: CssrsRisk

    def to_dict(self) -> dict[str, Any]:
        return {
            "phq9": self.phq9.to_dict(),
            "gad7": self.gad7.to_dict(),
            "cssrs_risk": self.cssrs_risk.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scores:
        phq9, gad7 = data["phq9"], data["gad7"]
        return cls(
            phq9=Phq9Score(total=phq9["total"], band=Phq9Band(phq9["band"]), item9=phq9["item9"]),
            gad7=Gad7Score(total=gad7["total"], band=Gad7Band(gad7["band"])),
            cssrs_risk=CssrsRisk(data["cssrs_risk"]),
        )


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: tuple[Reason, ...]
    scores: Scores
    treatment_resistant: bool
    failed_trials: int
    ruleset_version: str
    questionnaire_version: str
    decided_on: date
    # Treatment may be booked on this decision until this date (inclusive).
    valid_until: date

    @property
    def reason_codes(self) -> tuple[ReasonCode, ...]:
        return tuple(reason.code for reason in self.reasons)

    @property
    def is_crisis(self) -> bool:
        """Show crisis resources at once and alert staff."""
        return self.outcome is Outcome.CRISIS

    @property
    def needs_clinician(self) -> bool:
        """A clinician must review before any treatment booking."""
        return self.outcome in (Outcome.NEEDS_REVIEW, Outcome.CRISIS)

    @property
    def allows_treatment_booking(self) -> bool:
        return self.outcome is Outcome.ELIGIBLE

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "reasons": [reason.to_dict() for reason in self.reasons],
            "scores": self.scores.to_dict(),
            "treatment_resistant": self.treatment_resistant,
            "failed_trials": self.failed_trials,
            "ruleset_version": self.ruleset_version,
            "questionnaire_version": self.questionnaire_version,
            "decided_on": self.decided_on.isoformat(),
            "valid_until": self.valid_until.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        """Rebuild a stored decision (as produced by to_dict)."""
        return cls(
            outcome=Outcome(data["outcome"]),
            reasons=tuple(
                Reason(code=ReasonCode(reason["code"]), message=reason["message"])
                for reason in data["reasons"]
            ),
            scores=Scores.from_dict(data["scores"]),
            treatment_resistant=data["treatment_resistant"],
            failed_trials=data["failed_trials"],
            ruleset_version=data["ruleset_version"],
            questionnaire_version=data["questionnaire_version"],
            decided_on=date.fromisoformat(data["decided_on"]),
            valid_until=date.fromisoformat(data["valid_until"]),
        )


def age_on(date_of_birth: date, today: date) -> int:
    """Age in whole years on `today`.

    Someone born on 29 February turns a year older on 1 March in common years
    (the later of the usual conventions, and so the cautious one for a minimum
    age).
    """
    before_birthday = (today.month, today.day) < (date_of_birth.month, date_of_birth.day)
    return today.year - date_of_birth.year - int(before_birthday)


def decide(
    answers: Mapping[str, Any],
    ruleset: RuleSet,
    today: date,
    *,
    questionnaire: Questionnaire | None = None,
) -> Decision:
    """Decide eligibility from answers.

    Answers are validated first (against the current questionnaire unless one
    is given); invalid answers raise InvalidAnswers rather than being guessed.
    """
    if isinstance(today, datetime) or not isinstance(today, date):
        raise TypeError("today must be a date (not a datetime).")
    if questionnaire is None:
        questionnaire = load_questionnaire()
    valid = enabled_answers(questionnaire, answers, today=today)
    settings = ruleset.settings
    facts = _Facts(
        answers=valid,
        settings=settings,
        age=age_on(valid["date_of_birth"], today),
        scores=Scores(
            phq9=phq9_from_answers(valid),
            gad7=gad7_from_answers(valid),
            cssrs_risk=cssrs_risk(cssrs_from_answers(valid)),
        ),
    )
    reasons = tuple(
        Reason(code=code, message=_message(code, settings))
        for code, applies in _RULES
        if applies(facts)
    )
    failed_trials = valid["failed_antidepressant_trials"]
    return Decision(
        outcome=max((reason.outcome for reason in reasons), key=_by_severity, default=Outcome.ELIGIBLE),
        reasons=reasons,
        scores=facts.scores,
        treatment_resistant=is_treatment_resistant(
            failed_trials, settings.treatment_resistant_min_trials
        ),
        failed_trials=failed_trials,
        ruleset_version=ruleset.version,
        questionnaire_version=questionnaire.version,
        decided_on=today,
        valid_until=today + timedelta(days=settings.screening_valid_days),
    )


def signals_crisis(answers: object, today: date, *, questionnaire: Questionnaire | None = None) -> bool:
    """Whether valid ``answers`` lead to the crisis outcome under any rule set (invalid answers: False).

    Only the C-SSRS high-risk rule leads to a crisis and no rule-set setting changes it, so this
    needs no database: the screening route asks it to serve a patient in crisis even over a rate limit.
    """
    if questionnaire is None:
        questionnaire = load_questionnaire()
    try:
        valid = enabled_answers(questionnaire, answers, today=today)
    except InvalidAnswers:
        return False
    return cssrs_risk(cssrs_from_answers(valid)) is CssrsRisk.HIGH


def _by_severity(outcome: Outcome) -> int:
    return outcome.severity


# --- rules -------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    """Validated answers plus everything derived from them."""

    answers: Mapping[str, Any]
    settings: RuleSettings
    age: int
    scores: Scores

    def said_yes(self, link_id: str) -> bool:
        return self.answers.get(link_id) is True

    def takes(self, medication: str) -> bool:
        return medication in self.answers.get("medications", ())


def _yes(link_id: str) -> Callable[[_Facts], bool]:
    return lambda facts: facts.said_yes(link_id)


def _takes(medication: str) -> Callable[[_Facts], bool]:
    return lambda facts: facts.takes(medication)


def _risk(level: CssrsRisk) -> Callable[[_Facts], bool]:
    return lambda facts: facts.scores.cssrs_risk is level


def _under_minimum_age(facts: _Facts) -> bool:
    return facts.age < facts.settings.minimum_age


def _blood_pressure_high(facts: _Facts) -> bool:
    systolic = facts.answers.get("bp_systolic")
    diastolic = facts.answers.get("bp_diastolic")
    return (systolic is not None and systolic >= facts.settings.bp_systolic_review_at) or (
        diastolic is not None and diastolic >= facts.settings.bp_diastolic_review_at
    )


def _benzodiazepine_dose_above_threshold(facts: _Facts) -> bool:
    # The dose question is required whenever benzodiazepines are listed.
    return facts.answers["benzodiazepine_diazepam_mg"] > facts.settings.benzodiazepine_review_mg


def _benzodiazepine_high_dose(facts: _Facts) -> bool:
    return facts.takes("benzodiazepine") and _benzodiazepine_dose_above_threshold(facts)


def _benzodiazepine_usual_dose(facts: _Facts) -> bool:
    return facts.takes("benzodiazepine") and not _benzodiazepine_dose_above_threshold(facts)


def _phq9_item9_positive(facts: _Facts) -> bool:
    return facts.scores.phq9.item9 > 0


_RULES: tuple[tuple[ReasonCode, Callable[[_Facts], bool]], ...] = (
    (ReasonCode.CSSRS_HIGH_RISK, _risk(CssrsRisk.HIGH)),
    (ReasonCode.UNDER_MINIMUM_AGE, _under_minimum_age),
    (ReasonCode.PREGNANCY, _yes("pregnant")),
    (ReasonCode.ANEURYSMAL_VASCULAR_DISEASE, _yes("aneurysmal_vascular_disease")),
    (ReasonCode.INTRACEREBRAL_HEMORRHAGE, _yes("intracerebral_hemorrhage")),
    (ReasonCode.KETAMINE_HYPERSENSITIVITY, _yes("ketamine_hypersensitivity")),
    (ReasonCode.CSSRS_MODERATE_RISK, _risk(CssrsRisk.MODERATE)),
    (ReasonCode.CSSRS_LOW_RISK, _risk(CssrsRisk.LOW)),
    (ReasonCode.PHQ9_ITEM9_POSITIVE, _phq9_item9_positive),
    (ReasonCode.PSYCHOSIS_HISTORY, _yes("psychosis_history")),
    (ReasonCode.PSYCHOSIS_FAMILY_HISTORY, _yes("psychosis_family_history")),
    (ReasonCode.BIPOLAR_HISTORY, _yes("bipolar_history")),
    (ReasonCode.SUBSTANCE_USE_DISORDER, _yes("substance_use_disorder")),
    (ReasonCode.HYPERTENSION, _yes("hypertension")),
    (ReasonCode.BLOOD_PRESSURE_HIGH, _blood_pressure_high),
    (ReasonCode.CARDIAC_DISEASE, _yes("cardiac_disease")),
    (ReasonCode.LIVER_DISEASE, _yes("liver_disease")),
    (ReasonCode.BREASTFEEDING, _yes("breastfeeding")),
    (ReasonCode.BENZODIAZEPINE_HIGH_DOSE, _benzodiazepine_high_dose),
    (ReasonCode.BENZODIAZEPINE, _benzodiazepine_usual_dose),
    (ReasonCode.LAMOTRIGINE, _takes("lamotrigine")),
    (ReasonCode.MAOI, _takes("maoi")),
    (ReasonCode.STIMULANT, _takes("stimulant")),
    (ReasonCode.OPIOID, _takes("opioid")),
)


def _message(code: ReasonCode, settings: RuleSettings) -> str:
    # Messages quote rule-set thresholds, never the patient's own answers.
    template = _MESSAGES[code]
    return template.format(
        minimum_age=settings.minimum_age,
        systolic=settings.bp_systolic_review_at,
        diastolic=settings.bp_diastolic_review_at,
        benzodiazepine_mg=f"{settings.benzodiazepine_review_mg:g}",
    )


_MESSAGES: Mapping[ReasonCode, str] = {
    ReasonCode.CSSRS_HIGH_RISK: (
        "High suicide risk on the C-SSRS screener: intent or a plan in the past month, "
        "or suicidal behaviour in the past 3 months."
    ),
    ReasonCode.UNDER_MINIMUM_AGE: "Younger than the minimum age of {minimum_age}.",
    ReasonCode.PREGNANCY: "Pregnant or possibly pregnant.",
    ReasonCode.ANEURYSMAL_VASCULAR_DISEASE: (
        "Aneurysmal vascular disease or arteriovenous malformation."
    ),
    ReasonCode.INTRACEREBRAL_HEMORRHAGE: "History of intracerebral hemorrhage.",
    ReasonCode.KETAMINE_HYPERSENSITIVITY: "Hypersensitivity to ketamine or esketamine.",
    ReasonCode.CSSRS_MODERATE_RISK: (
        "Moderate suicide risk on the C-SSRS screener: thoughts of a method in the past "
        "month, or suicidal behaviour more than 3 months ago."
    ),
    ReasonCode.CSSRS_LOW_RISK: (
        "Low suicide risk on the C-SSRS screener: a wish to be dead or suicidal thoughts "
        "in the past month."
    ),
    ReasonCode.PHQ9_ITEM9_POSITIVE: (
        "PHQ-9 item 9 is positive: thoughts of being better off dead or of self-harm."
    ),
    ReasonCode.PSYCHOSIS_HISTORY: "Personal history of psychosis.",
    ReasonCode.PSYCHOSIS_FAMILY_HISTORY: "Psychosis in a first-degree relative.",
    ReasonCode.BIPOLAR_HISTORY: "History of bipolar disorder or mania.",
    ReasonCode.SUBSTANCE_USE_DISORDER: "Substance use disorder.",
    ReasonCode.HYPERTENSION: "Hypertension.",
    ReasonCode.BLOOD_PRESSURE_HIGH: (
        "A blood pressure reading at or above {systolic}/{diastolic} mmHg."
    ),
    ReasonCode.CARDIAC_DISEASE: "Cardiac disease.",
    ReasonCode.LIVER_DISEASE: "Liver disease.",
    ReasonCode.BREASTFEEDING: "Breastfeeding.",
    ReasonCode.BENZODIAZEPINE_HIGH_DOSE: (
        "Takes a benzodiazepine above {benzodiazepine_mg} mg diazepam-equivalent per day."
    ),
    ReasonCode.BENZODIAZEPINE: (
        "Takes a benzodiazepine (at most {benzodiazepine_mg} mg diazepam-equivalent per day)."
    ),
    ReasonCode.LAMOTRIGINE: "Takes lamotrigine.",
    ReasonCode.MAOI: "Takes an MAO inhibitor.",
    ReasonCode.STIMULANT: "Takes a stimulant.",
    ReasonCode.OPIOID: "Takes an opioid.",
}
