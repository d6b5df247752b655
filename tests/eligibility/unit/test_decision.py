"""The eligibility decision: outcomes, reasons, precedence, thresholds, ages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapbook_eligibility.domain.answers import InvalidAnswers
from kapbook_eligibility.domain.decision import Decision, Outcome, ReasonCode, age_on, decide, signals_crisis
from kapbook_eligibility.domain.questionnaire import load_questionnaire
from kapbook_eligibility.domain.rules import RuleSet, load_default_ruleset
from kapbook_eligibility.domain.scoring import CssrsRisk, Gad7Band, Phq9Band
from support.screening_answers import CRISIS_CHANGES, eligible_answers

R = ReasonCode

HIGH_RISK = {"cssrs_1": True, "cssrs_2": True, "cssrs_3": True, "cssrs_4": True, "cssrs_5": False}
BENZO = ["benzodiazepine"]

CONTRAINDICATIONS = [
    pytest.param({"pregnant": True}, R.PREGNANCY, id="pregnancy"),
    pytest.param({"aneurysmal_vascular_disease": True}, R.ANEURYSMAL_VASCULAR_DISEASE, id="aneurysm or AVM"),
    pytest.param({"intracerebral_hemorrhage": True}, R.INTRACEREBRAL_HEMORRHAGE, id="brain bleed"),
    pytest.param({"ketamine_hypersensitivity": True}, R.KETAMINE_HYPERSENSITIVITY, id="hypersensitivity"),
    pytest.param({"date_of_birth": "2008-11-21"}, R.UNDER_MINIMUM_AGE, id="under 18"),
]

CAUTIONS = [
    pytest.param({"psychosis_history": True}, R.PSYCHOSIS_HISTORY, id="psychosis"),
    pytest.param({"psychosis_family_history": True}, R.PSYCHOSIS_FAMILY_HISTORY, id="family psychosis"),
    pytest.param({"bipolar_history": True}, R.BIPOLAR_HISTORY, id="bipolar"),
    pytest.param({"substance_use_disorder": True}, R.SUBSTANCE_USE_DISORDER, id="substance use"),
    pytest.param({"hypertension": True}, R.HYPERTENSION, id="hypertension"),
    pytest.param({"bp_systolic": 160}, R.BLOOD_PRESSURE_HIGH, id="high systolic"),
    pytest.param({"bp_diastolic": 100}, R.BLOOD_PRESSURE_HIGH, id="high diastolic"),
    pytest.param({"cardiac_disease": True}, R.CARDIAC_DISEASE, id="cardiac"),
    pytest.param({"liver_disease": True}, R.LIVER_DISEASE, id="liver"),
    pytest.param({"breastfeeding": True}, R.BREASTFEEDING, id="breastfeeding"),
    pytest.param({"medications": BENZO, "benzodiazepine_diazepam_mg": 5}, R.BENZODIAZEPINE, id="benzo"),
    pytest.param(
        {"medications": BENZO, "benzodiazepine_diazepam_mg": 20}, R.BENZODIAZEPINE_HIGH_DOSE, id="benzo high dose"
    ),
    pytest.param({"medications": ["lamotrigine"]}, R.LAMOTRIGINE, id="lamotrigine"),
    pytest.param({"medications": ["maoi"]}, R.MAOI, id="maoi"),
    pytest.param({"medications": ["stimulant"]}, R.STIMULANT, id="stimulant"),
    pytest.param({"medications": ["opioid"]}, R.OPIOID, id="opioid"),
    pytest.param({"phq9_9": 1}, R.PHQ9_ITEM9_POSITIVE, id="phq9 item 9"),
    pytest.param({"cssrs_1": True}, R.CSSRS_LOW_RISK, id="cssrs low: wish"),
    pytest.param({"cssrs_2": True, "cssrs_3": False, "cssrs_4": False, "cssrs_5": False}, R.CSSRS_LOW_RISK, id="cssrs low: thoughts"),
    pytest.param({"cssrs_2": True, "cssrs_3": True, "cssrs_4": False, "cssrs_5": False}, R.CSSRS_MODERATE_RISK, id="cssrs moderate: method"),
    pytest.param({"cssrs_6": True, "cssrs_6_recent": False}, R.CSSRS_MODERATE_RISK, id="cssrs moderate: old behaviour"),
]

CRISES = [
    pytest.param({"cssrs_2": True, "cssrs_3": False, "cssrs_4": True, "cssrs_5": False}, id="intent"),
    pytest.param({"cssrs_2": True, "cssrs_3": False, "cssrs_4": False, "cssrs_5": True}, id="plan"),
    pytest.param({"cssrs_6": True, "cssrs_6_recent": True}, id="recent behaviour"),
]

BENIGN = [
    pytest.param({"medications": ["ssri", "snri", "tca", "other"]}, id="antidepressants and other"),
    pytest.param({"bp_systolic": 139, "bp_diastolic": 89}, id="blood pressure below thresholds"),
    pytest.param({f"phq9_{n}": 3 for n in range(1, 9)}, id="severe depression without item 9"),
    pytest.param({f"gad7_{n}": 3 for n in range(1, 8)}, id="severe anxiety"),
    pytest.param({"failed_antidepressant_trials": 5}, id="treatment resistant"),
    pytest.param({"cssrs_2": False, "cssrs_6": False}, id="no ideation"),
]


def decide_with(answers: dict[str, Any], changes: dict[str, Any], ruleset: RuleSet, today: date) -> Decision:
    return decide(answers | changes, ruleset, today)


def test_eligible_baseline(answers: dict[str, Any], ruleset: RuleSet, today: date) -> None:
    decision = decide(answers, ruleset, today)
    assert decision.outcome is Outcome.ELIGIBLE
    assert decision.reasons == ()
    assert decision.allows_treatment_booking and not decision.needs_clinician and not decision.is_crisis


@pytest.mark.parametrize("changes", BENIGN)
def test_benign_answers_stay_eligible(
    answers: dict[str, Any], ruleset: RuleSet, today: date, changes: dict[str, Any]
) -> None:
    assert decide_with(answers, changes, ruleset, today).outcome is Outcome.ELIGIBLE


@pytest.mark.parametrize(("changes", "code"), CONTRAINDICATIONS)
def test_each_contraindication_is_ineligible(
    answers: dict[str, Any], ruleset: RuleSet, today: date, changes: dict[str, Any], code: ReasonCode
) -> None:
    decision = decide_with(answers, changes, ruleset, today)
    assert decision.outcome is Outcome.INELIGIBLE
    assert decision.reason_codes == (code,)
    assert not decision.allows_treatment_booking


@pytest.mark.parametrize(("changes", "code"), CAUTIONS)
def test_each_caution_needs_review(
    answers: dict[str, Any], ruleset: RuleSet, today: date, changes: dict[str, Any], code: ReasonCode
) -> None:
    decision = decide_with(answers, changes, ruleset, today)
    assert decision.outcome is Outcome.NEEDS_REVIEW
    assert decision.reason_codes == (code,)
    assert decision.needs_clinician and not decision.allows_treatment_booking


@pytest.mark.parametrize("changes", CRISES)
def test_high_cssrs_risk_is_a_crisis(
    answers: dict[str, Any], ruleset: RuleSet, today: date, changes: dict[str, Any]
) -> None:
    decision = decide_with(answers, changes, ruleset, today)
    assert decision.outcome is Outcome.CRISIS
    assert decision.reason_codes == (R.CSSRS_HIGH_RISK,)
    assert decision.scores.cssrs_risk is CssrsRisk.HIGH
    assert decision.is_crisis and decision.needs_clinician


def test_every_reason_code_is_covered_by_the_tables() -> None:
    covered = {param.values[1] for param in CONTRAINDICATIONS + CAUTIONS} | {R.CSSRS_HIGH_RISK}
    assert covered == set(ReasonCode)


@pytest.mark.parametrize(
    ("changes", "outcome", "codes"),
    [
        pytest.param(
            HIGH_RISK | {"pregnant": True}, Outcome.CRISIS, (R.CSSRS_HIGH_RISK, R.PREGNANCY), id="crisis beats ineligible"
        ),
        pytest.param(
            HIGH_RISK | {"phq9_9": 2, "bipolar_history": True},
            Outcome.CRISIS,
            (R.CSSRS_HIGH_RISK, R.PHQ9_ITEM9_POSITIVE, R.BIPOLAR_HISTORY),
            id="crisis beats review and still lists item 9",
        ),
        pytest.param(
            {"pregnant": True, "liver_disease": True, "medications": ["maoi"]},
            Outcome.INELIGIBLE,
            (R.PREGNANCY, R.LIVER_DISEASE, R.MAOI),
            id="ineligible beats review",
        ),
        pytest.param(
            {"ketamine_hypersensitivity": True, "date_of_birth": "2010-01-01", "pregnant": True},
            Outcome.INELIGIBLE,
            (R.UNDER_MINIMUM_AGE, R.PREGNANCY, R.KETAMINE_HYPERSENSITIVITY),
            id="all contraindications in stable order",
        ),
        pytest.param(
            {"medications": ["opioid", "lamotrigine", "benzodiazepine"], "benzodiazepine_diazepam_mg": 2},
            Outcome.NEEDS_REVIEW,
            (R.BENZODIAZEPINE, R.LAMOTRIGINE, R.OPIOID),
            id="medications in stable order whatever the answer order",
        ),
        pytest.param(
            {"hypertension": True, "bp_systolic": 150, "phq9_9": 1, "cssrs_1": True},
            Outcome.NEEDS_REVIEW,
            (R.CSSRS_LOW_RISK, R.PHQ9_ITEM9_POSITIVE, R.HYPERTENSION, R.BLOOD_PRESSURE_HIGH),
            id="several cautions",
        ),
    ],
)
def test_precedence_and_all_reasons_listed(
    answers: dict[str, Any],
    ruleset: RuleSet,
    today: date,
    changes: dict[str, Any],
    outcome: Outcome,
    codes: tuple[ReasonCode, ...],
) -> None:
    decision = decide_with(answers, changes, ruleset, today)
    assert decision.outcome is outcome
    assert decision.reason_codes == codes


def test_everything_at_once_lists_every_reason_in_code_order(
    answers: dict[str, Any], ruleset: RuleSet, today: date
) -> None:
    answers |= {flag: True for flag in answers if answers[flag] is False and not flag.startswith("cssrs")}
    answers |= HIGH_RISK | {"phq9_9": 3, "bp_systolic": 200, "date_of_birth": "2015-01-01"}
    answers |= {"medications": ["benzodiazepine", "lamotrigine", "maoi", "stimulant", "opioid"]}
    answers["benzodiazepine_diazepam_mg"] = 30
    decision = decide(answers, ruleset, today)
    expected = [code for code in ReasonCode if code not in (R.CSSRS_MODERATE_RISK, R.CSSRS_LOW_RISK, R.BENZODIAZEPINE)]
    assert list(decision.reason_codes) == expected
    assert decision.outcome is Outcome.CRISIS


@pytest.mark.parametrize(
    ("changes", "settings_changes", "blood_pressure_high"),
    [
        ({"bp_systolic": 139}, {}, False),
        ({"bp_systolic": 140}, {}, True),
        ({"bp_diastolic": 89}, {}, False),
        ({"bp_diastolic": 90}, {}, True),
        ({"bp_systolic": 139, "bp_diastolic": 89}, {}, False),
        ({"bp_systolic": 120, "bp_diastolic": 95}, {}, True),
        ({"bp_systolic": 140}, {"bp_systolic_review_at": 141}, False),
        ({"bp_systolic": 149}, {"bp_systolic_review_at": 150}, False),
        ({"bp_systolic": 150}, {"bp_systolic_review_at": 150}, True),
        ({"bp_systolic": 135}, {"bp_systolic_review_at": 130, "bp_diastolic_review_at": 80}, True),
        ({"bp_diastolic": 90}, {"bp_diastolic_review_at": 95}, False),
        ({"bp_diastolic": 80}, {"bp_diastolic_review_at": 80}, True),
    ],
)
def test_blood_pressure_thresholds_come_from_settings(
    answers: dict[str, Any],
    today: date,
    with_settings: Callable[..., RuleSet],
    changes: dict[str, Any],
    settings_changes: dict[str, Any],
    blood_pressure_high: bool,
) -> None:
    decision = decide_with(answers, changes, with_settings(**settings_changes), today)
    assert (R.BLOOD_PRESSURE_HIGH in decision.reason_codes) is blood_pressure_high
    assert decision.outcome is (Outcome.NEEDS_REVIEW if blood_pressure_high else Outcome.ELIGIBLE)


@pytest.mark.parametrize(
    ("dose", "settings_changes", "code"),
    [
        (0, {}, R.BENZODIAZEPINE),
        (7.99, {}, R.BENZODIAZEPINE),
        (8, {}, R.BENZODIAZEPINE),
        (8.01, {}, R.BENZODIAZEPINE_HIGH_DOSE),
        (40, {}, R.BENZODIAZEPINE_HIGH_DOSE),
        (9, {"benzodiazepine_review_mg": 10}, R.BENZODIAZEPINE),
        (10.5, {"benzodiazepine_review_mg": 10}, R.BENZODIAZEPINE_HIGH_DOSE),
        (0.5, {"benzodiazepine_review_mg": 0}, R.BENZODIAZEPINE_HIGH_DOSE),
    ],
)
def test_benzodiazepine_dose_edge(
    answers: dict[str, Any],
    today: date,
    with_settings: Callable[..., RuleSet],
    dose: float,
    settings_changes: dict[str, Any],
    code: ReasonCode,
) -> None:
    changes = {"medications": BENZO, "benzodiazepine_diazepam_mg": dose}
    decision = decide_with(answers, changes, with_settings(**settings_changes), today)
    assert decision.reason_codes == (code,)


@pytest.mark.parametrize(
    ("birth", "today", "age"),
    [
        (date(2008, 11, 20), date(2026, 11, 20), 18),
        (date(2008, 11, 21), date(2026, 11, 20), 17),
        (date(2008, 11, 19), date(2026, 11, 20), 18),
        (date(2008, 12, 31), date(2026, 1, 1), 17),
        (date(2008, 1, 1), date(2026, 12, 31), 18),
        (date(2008, 2, 29), date(2026, 2, 28), 17),
        (date(2008, 2, 29), date(2026, 3, 1), 18),
        (date(2012, 2, 29), date(2030, 2, 28), 17),
        (date(2012, 2, 29), date(2030, 3, 1), 18),
        (date(2010, 2, 28), date(2028, 2, 28), 18),
        (date(2010, 3, 1), date(2028, 2, 29), 17),
        (date(2012, 2, 29), date(2032, 2, 29), 20),
        (date(2026, 11, 20), date(2026, 11, 20), 0),
    ],
)
def test_age_on(birth: date, today: date, age: int) -> None:
    assert age_on(birth, today) == age


@pytest.mark.parametrize(
    ("date_of_birth", "today", "minimum_age", "under_age"),
    [
        ("2008-11-20", date(2026, 11, 20), 18, False),  # 18th birthday today
        ("2008-11-21", date(2026, 11, 20), 18, True),  # birthday tomorrow
        ("2008-02-29", date(2026, 2, 28), 18, True),  # leap-day birthday not yet reached
        ("2008-02-29", date(2026, 3, 1), 18, False),
        ("2005-11-20", date(2026, 11, 20), 21, False),
        ("2005-11-21", date(2026, 11, 20), 21, True),
        ("1950-01-01", date(2026, 11, 20), 18, False),
    ],
)
def test_minimum_age_edges(
    answers: dict[str, Any],
    with_settings: Callable[..., RuleSet],
    date_of_birth: str,
    today: date,
    minimum_age: int,
    under_age: bool,
) -> None:
    decision = decide_with(answers, {"date_of_birth": date_of_birth}, with_settings(minimum_age=minimum_age), today)
    assert (decision.outcome is Outcome.INELIGIBLE) is under_age
    assert (R.UNDER_MINIMUM_AGE in decision.reason_codes) is under_age


@pytest.mark.parametrize(
    ("failed", "min_trials", "resistant"),
    [(0, 2, False), (1, 2, False), (2, 2, True), (3, 2, True), (2, 3, False), (3, 3, True)],
)
def test_treatment_resistance_uses_the_rule_set(
    answers: dict[str, Any],
    today: date,
    with_settings: Callable[..., RuleSet],
    failed: int,
    min_trials: int,
    resistant: bool,
) -> None:
    ruleset = with_settings(treatment_resistant_min_trials=min_trials)
    decision = decide_with(answers, {"failed_antidepressant_trials": failed}, ruleset, today)
    assert (decision.treatment_resistant, decision.failed_trials) == (resistant, failed)
    assert decision.outcome is Outcome.ELIGIBLE


def test_scores_are_reported(answers: dict[str, Any], ruleset: RuleSet, today: date) -> None:
    answers |= {f"phq9_{n}": 2 for n in range(1, 10)} | {f"gad7_{n}": 1 for n in range(1, 8)}
    scores = decide(answers, ruleset, today).scores
    assert (scores.phq9.total, scores.phq9.band, scores.phq9.item9) == (18, Phq9Band.MODERATELY_SEVERE, 2)
    assert (scores.gad7.total, scores.gad7.band) == (7, Gad7Band.MILD)
    assert scores.cssrs_risk is CssrsRisk.NONE


def test_decision_records_versions_and_validity(answers: dict[str, Any], today: date) -> None:
    decision = decide(answers, load_default_ruleset(), today)
    assert decision.ruleset_version == "default-2026-11-1"
    assert decision.questionnaire_version == "2026-11-1"
    assert (decision.decided_on, decision.valid_until) == (today, date(2027, 2, 18))


def test_messages_quote_thresholds_not_answers(
    answers: dict[str, Any], today: date, with_settings: Callable[..., RuleSet]
) -> None:
    changes = {"bp_systolic": 173, "medications": BENZO, "benzodiazepine_diazepam_mg": 12.5, "date_of_birth": "2010-01-01"}
    decision = decide_with(answers, changes, with_settings(minimum_age=19, benzodiazepine_review_mg=7.5), today)
    messages = {reason.code: reason.message for reason in decision.reasons}
    assert messages[R.BLOOD_PRESSURE_HIGH] == "A blood pressure reading at or above 140/90 mmHg."
    assert messages[R.BENZODIAZEPINE_HIGH_DOSE] == "Takes a benzodiazepine above 7.5 mg diazepam-equivalent per day."
    assert messages[R.UNDER_MINIMUM_AGE] == "Younger than the minimum age of 19."
    assert not any(secret in str(decision.to_dict()) for secret in ("173", "12.5", "2010-01-01"))


def test_decision_round_trips_through_its_dict(answers: dict[str, Any], ruleset: RuleSet, today: date) -> None:
    answers |= HIGH_RISK | {"phq9_9": 1, "pregnant": True, "failed_antidepressant_trials": 4}
    decision = decide(answers, ruleset, today)
    assert Decision.from_dict(decision.to_dict()) == decision
    assert decision.to_dict()["reasons"][0] == {
        "code": "cssrs_high_risk",
        "outcome": "crisis",
        "message": decision.reasons[0].message,
    }


def test_invalid_answers_are_refused_not_guessed(answers: dict[str, Any], ruleset: RuleSet, today: date) -> None:
    del answers["pregnant"]
    with pytest.raises(InvalidAnswers) as raised:
        decide(answers, ruleset, today)
    assert raised.value.errors == {"pregnant": ["This question is required."]}


def test_future_birth_date_relative_to_today_is_refused(answers: dict[str, Any], ruleset: RuleSet) -> None:
    with pytest.raises(InvalidAnswers):
        decide(answers | {"date_of_birth": "2026-11-21"}, ruleset, date(2026, 11, 20))


def test_today_must_be_a_date(answers: dict[str, Any], ruleset: RuleSet) -> None:
    with pytest.raises(TypeError):
        decide(answers, ruleset, datetime(2026, 11, 20, 12, 0))  # type: ignore[arg-type]


def test_reason_outcomes_by_group() -> None:
    assert R.CSSRS_HIGH_RISK.outcome is Outcome.CRISIS
    ineligible = {code for code in ReasonCode if code.outcome is Outcome.INELIGIBLE}
    assert ineligible == {
        R.UNDER_MINIMUM_AGE, R.PREGNANCY, R.ANEURYSMAL_VASCULAR_DISEASE, R.INTRACEREBRAL_HEMORRHAGE,
        R.KETAMINE_HYPERSENSITIVITY,
    }
    assert len([code for code in ReasonCode if code.outcome is Outcome.NEEDS_REVIEW]) == len(ReasonCode) - 6


# --- any valid answer set yields a decision ----------------------------------------------

QUESTIONNAIRE = load_questionnaire()
RULESET = load_default_ruleset()
TODAY = date(2026, 11, 20)
MEDICATIONS = [option.code for option in QUESTIONNAIRE.item("medications").options]
FLAGS = [
    "pregnant", "breastfeeding", "aneurysmal_vascular_disease", "intracerebral_hemorrhage",
    "ketamine_hypersensitivity", "psychosis_history", "psychosis_family_history", "bipolar_history",
    "substance_use_disorder", "hypertension", "cardiac_disease", "liver_disease",
]


@st.composite
def valid_answers(draw: st.DrawFn) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "date_of_birth": draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY)).isoformat()
    }
    for link_id in [f"phq9_{n}" for n in range(1, 10)] + [f"gad7_{n}" for n in range(1, 8)]:
        answers[link_id] = draw(st.integers(0, 3))
    for link_id in ["cssrs_1", "cssrs_2", "cssrs_6", *FLAGS]:
        answers[link_id] = draw(st.booleans())
    if answers["cssrs_2"]:
        answers |= {link_id: draw(st.booleans()) for link_id in ("cssrs_3", "cssrs_4", "cssrs_5")}
    if answers["cssrs_6"]:
        answers["cssrs_6_recent"] = draw(st.booleans())
    for link_id, low, high in (("bp_systolic", 50, 300), ("bp_diastolic", 30, 200)):
        reading = draw(st.none() | st.integers(low, high))
        if reading is not None or draw(st.booleans()):
            answers[link_id] = reading  # sometimes an explicit null, sometimes absent
    answers["medications"] = draw(st.lists(st.sampled_from(MEDICATIONS), unique=True))
    if "benzodiazepine" in answers["medications"]:
        answers["benzodiazepine_diazepam_mg"] = draw(
            st.integers(0, 1000) | st.floats(0, 1000, allow_nan=False, allow_infinity=False)
        )
    answers["failed_antidepressant_trials"] = draw(st.integers(0, 50))
    return answers


@settings(max_examples=400, deadline=None)
@given(answers=valid_answers())
def test_any_valid_answer_set_yields_a_consistent_decision(answers: dict[str, Any]) -> None:
    decision = decide(answers, RULESET, TODAY)
    codes = list(decision.reason_codes)
    assert codes == sorted(codes, key=list(ReasonCode).index)
    assert len(codes) == len(set(codes))
    worst = max((code.outcome for code in codes), key=lambda outcome: outcome.severity, default=Outcome.ELIGIBLE)
    assert decision.outcome is worst
    assert decision.is_crisis is (decision.scores.cssrs_risk is CssrsRisk.HIGH)
    assert (R.PHQ9_ITEM9_POSITIVE in codes) is (answers["phq9_9"] > 0)
    assert decision.scores.phq9.total == sum(answers[f"phq9_{n}"] for n in range(1, 10))
    assert decision.scores.gad7.total == sum(answers[f"gad7_{n}"] for n in range(1, 8))
    assert not (R.BENZODIAZEPINE in codes and R.BENZODIAZEPINE_HIGH_DOSE in codes)
    assert Decision.from_dict(decision.to_dict()) == decision


JSON_SCALARS = st.none() | st.booleans() | st.integers(-5, 400) | st.floats() | st.text(max_size=10)


@settings(max_examples=300, deadline=None)
@given(answers=valid_answers(), link_id=st.sampled_from(QUESTIONNAIRE.link_ids), value=JSON_SCALARS)
def test_decide_decides_or_refuses_but_never_crashes(answers: dict[str, Any], link_id: str, value: object) -> None:
    answers[link_id] = value
    try:
        decision = decide(answers, RULESET, TODAY)
    except InvalidAnswers as refused:
        assert refused.errors
    else:
        assert isinstance(decision.outcome, Outcome)



# --- the rate limit's crisis check (no database) ------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(answers=valid_answers())
def test_signals_crisis_agrees_with_the_decision_on_any_valid_answers(answers: dict[str, Any]) -> None:
    assert signals_crisis(answers, TODAY) == decide(answers, RULESET, TODAY).is_crisis


def test_signals_crisis_is_true_for_high_risk_and_false_for_invalid_answers():
    assert signals_crisis(eligible_answers(**CRISIS_CHANGES), TODAY)
    assert not signals_crisis(eligible_answers(), TODAY)
    assert not signals_crisis({}, TODAY) and not signals_crisis(None, TODAY) and not signals_crisis([1], TODAY)
