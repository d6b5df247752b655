"""Answer validation: every error kind, skip logic, and robustness on any input."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapbook_eligibility.domain.answers import (
    ANSWERS_ERROR_KEY,
    DUPLICATE_CHOICE,
    FUTURE_DATE,
    NOT_AN_OBJECT,
    NOT_ASKED,
    NOT_BOOLEAN,
    NOT_CHOICE_LIST,
    NOT_DATE,
    NOT_INTEGER,
    NOT_NUMBER,
    REQUIRED,
    UNKNOWN_CHOICE,
    UNKNOWN_QUESTION,
    InvalidAnswers,
    enabled_answers,
    is_enabled,
    validate_answers,
)
from kapbook_eligibility.domain.questionnaire import Questionnaire, load_questionnaire

ABSENT = object()  # marks a key to delete from the baseline answers


def apply(answers: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if value is ABSENT:
            answers.pop(key, None)
        else:
            answers[key] = value
    return answers


def test_eligible_baseline_is_valid(questionnaire: Questionnaire, answers: dict[str, Any], today: date) -> None:
    assert validate_answers(questionnaire, answers, today=today) == {}


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"bp_systolic": 120, "bp_diastolic": 80}, id="blood pressure given"),
        pytest.param({"bp_systolic": None, "bp_diastolic": None}, id="blood pressure null"),
        pytest.param({"bp_systolic": 50, "bp_diastolic": 30}, id="blood pressure lowest"),
        pytest.param({"bp_systolic": 300, "bp_diastolic": 200}, id="blood pressure highest"),
        pytest.param({"failed_antidepressant_trials": 50}, id="most trials"),
        pytest.param({"cssrs_2": True, "cssrs_3": False, "cssrs_4": False, "cssrs_5": False}, id="thoughts asked 3-5"),
        pytest.param({"cssrs_6": True, "cssrs_6_recent": False}, id="behaviour asked recent"),
        pytest.param({"medications": ["benzodiazepine"], "benzodiazepine_diazepam_mg": 0}, id="benzo zero dose"),
        pytest.param({"medications": ["benzodiazepine"], "benzodiazepine_diazepam_mg": 7.5}, id="benzo decimal dose"),
        pytest.param({"medications": ["benzodiazepine"], "benzodiazepine_diazepam_mg": 1000}, id="benzo highest dose"),
        pytest.param({"medications": ["ssri", "other", "tca"]}, id="several medications"),
        pytest.param({"cssrs_3": None, "cssrs_6_recent": None, "benzodiazepine_diazepam_mg": None}, id="null for skipped"),
        pytest.param({"date_of_birth": "2026-11-20"}, id="born today"),
        pytest.param({"date_of_birth": "1900-01-01"}, id="earliest date"),
        pytest.param({"date_of_birth": "2000-02-29"}, id="leap day"),
    ],
)
def test_valid_variations(
    questionnaire: Questionnaire, answers: dict[str, Any], today: date, changes: dict[str, Any]
) -> None:
    assert validate_answers(questionnaire, apply(answers, changes), today=today) == {}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # missing required items (only those the skip logic asks)
        pytest.param({"pregnant": ABSENT}, {"pregnant": [REQUIRED]}, id="missing"),
        pytest.param({"pregnant": None}, {"pregnant": [REQUIRED]}, id="null"),
        pytest.param({"medications": ABSENT}, {"medications": [REQUIRED]}, id="missing medications"),
        pytest.param({"date_of_birth": ABSENT}, {"date_of_birth": [REQUIRED]}, id="missing date"),
        pytest.param(
            {"cssrs_2": True},
            {"cssrs_3": [REQUIRED], "cssrs_4": [REQUIRED], "cssrs_5": [REQUIRED]},
            id="thoughts without 3-5",
        ),
        pytest.param({"cssrs_6": True}, {"cssrs_6_recent": [REQUIRED]}, id="behaviour without recent"),
        pytest.param(
            {"medications": ["benzodiazepine"]},
            {"benzodiazepine_diazepam_mg": [REQUIRED]},
            id="benzo without dose",
        ),
        # answers to questions the skip logic did not ask
        pytest.param({"cssrs_3": False}, {"cssrs_3": [NOT_ASKED]}, id="cssrs_3 not asked"),
        pytest.param({"cssrs_4": True}, {"cssrs_4": [NOT_ASKED]}, id="cssrs_4 not asked"),
        pytest.param({"cssrs_5": True}, {"cssrs_5": [NOT_ASKED]}, id="cssrs_5 not asked"),
        pytest.param({"cssrs_6_recent": True}, {"cssrs_6_recent": [NOT_ASKED]}, id="recent not asked"),
        pytest.param(
            {"medications": ["ssri"], "benzodiazepine_diazepam_mg": 5},
            {"benzodiazepine_diazepam_mg": [NOT_ASKED]},
            id="dose without benzo",
        ),
        # out of range
        pytest.param({"phq9_1": 4}, {"phq9_1": ["Must be between 0 and 3."]}, id="phq9 above 3"),
        pytest.param({"phq9_9": -1}, {"phq9_9": ["Must be between 0 and 3."]}, id="phq9 below 0"),
        pytest.param({"gad7_7": 4}, {"gad7_7": ["Must be between 0 and 3."]}, id="gad7 above 3"),
        pytest.param({"bp_systolic": 49}, {"bp_systolic": ["Must be between 50 and 300."]}, id="systolic low"),
        pytest.param({"bp_systolic": 301}, {"bp_systolic": ["Must be between 50 and 300."]}, id="systolic high"),
        pytest.param({"bp_diastolic": 29}, {"bp_diastolic": ["Must be between 30 and 200."]}, id="diastolic low"),
        pytest.param({"bp_diastolic": 201}, {"bp_diastolic": ["Must be between 30 and 200."]}, id="diastolic high"),
        pytest.param(
            {"failed_antidepressant_trials": -1},
            {"failed_antidepressant_trials": ["Must be between 0 and 50."]},
            id="trials negative",
        ),
        pytest.param(
            {"failed_antidepressant_trials": 51},
            {"failed_antidepressant_trials": ["Must be between 0 and 50."]},
            id="trials too many",
        ),
        pytest.param(
            {"medications": ["benzodiazepine"], "benzodiazepine_diazepam_mg": -0.5},
            {"benzodiazepine_diazepam_mg": ["Must be between 0 and 1000."]},
            id="dose negative",
        ),
        pytest.param(
            {"medications": ["benzodiazepine"], "benzodiazepine_diazepam_mg": 1000.5},
            {"benzodiazepine_diazepam_mg": ["Must be between 0 and 1000."]},
            id="dose too high",
        ),
        # unknown link ids
        pytest.param({"phq9_10": 1}, {"phq9_10": [UNKNOWN_QUESTION]}, id="unknown item"),
        pytest.param({"phq9": 1}, {"phq9": [UNKNOWN_QUESTION]}, id="section id is not an item"),
        # wrong types, strictly
        pytest.param({"phq9_1": True}, {"phq9_1": [NOT_INTEGER]}, id="bool is not int"),
        pytest.param({"phq9_1": 1.0}, {"phq9_1": [NOT_INTEGER]}, id="float is not int"),
        pytest.param({"phq9_1": "3"}, {"phq9_1": [NOT_INTEGER]}, id="string is not int"),
        pytest.param({"bp_systolic": 120.5}, {"bp_systolic": [NOT_INTEGER]}, id="fractional bp"),
        pytest.param({"failed_antidepressant_trials": 2.0}, {"failed_antidepressant_trials": [NOT_INTEGER]}, id="float trials"),
        pytest.param({"pregnant": 1}, {"pregnant": [NOT_BOOLEAN]}, id="int is not bool"),
        pytest.param({"pregnant": 0}, {"pregnant": [NOT_BOOLEAN]}, id="zero is not bool"),
        pytest.param({"pregnant": "yes"}, {"pregnant": [NOT_BOOLEAN]}, id="string is not bool"),
        pytest.param(
            {"medications": ["benzodiazepine"], "benzodiazepine_diazepam_mg": True},
            {"benzodiazepine_diazepam_mg": [NOT_NUMBER]},
            id="bool is not a dose",
        ),
        pytest.param(
            {"medications": ["benzodiazepine"], "benzodiazepine_diazepam_mg": "8"},
            {"benzodiazepine_diazepam_mg": [NOT_NUMBER]},
            id="string is not a dose",
        ),
        pytest.param(
            {"medications": ["benzodiazepine"], "benzodiazepine_diazepam_mg": float("nan")},
            {"benzodiazepine_diazepam_mg": [NOT_NUMBER]},
            id="nan dose",
        ),
        pytest.param(
            {"medications": ["benzodiazepine"], "benzodiazepine_diazepam_mg": float("inf")},
            {"benzodiazepine_diazepam_mg": [NOT_NUMBER]},
            id="infinite dose",
        ),
        pytest.param({"medications": "ssri"}, {"medications": [NOT_CHOICE_LIST]}, id="medications not a list"),
        pytest.param({"medications": {"ssri": True}}, {"medications": [NOT_CHOICE_LIST]}, id="medications object"),
        # medication codes
        pytest.param({"medications": ["ketamine"]}, {"medications": [UNKNOWN_CHOICE]}, id="unknown medication"),
        pytest.param({"medications": [1]}, {"medications": [UNKNOWN_CHOICE]}, id="number as medication"),
        pytest.param({"medications": [["ssri"]]}, {"medications": [UNKNOWN_CHOICE]}, id="nested list"),
        pytest.param({"medications": ["SSRI"]}, {"medications": [UNKNOWN_CHOICE]}, id="codes are case sensitive"),
        pytest.param({"medications": ["ssri", "ssri"]}, {"medications": [DUPLICATE_CHOICE]}, id="duplicate medication"),
        # dates
        pytest.param({"date_of_birth": "1990-02-30"}, {"date_of_birth": [NOT_DATE]}, id="impossible date"),
        pytest.param({"date_of_birth": "2001-02-29"}, {"date_of_birth": [NOT_DATE]}, id="not a leap year"),
        pytest.param({"date_of_birth": "1990-1-1"}, {"date_of_birth": [NOT_DATE]}, id="unpadded date"),
        pytest.param({"date_of_birth": "19900101"}, {"date_of_birth": [NOT_DATE]}, id="basic format"),
        pytest.param({"date_of_birth": "01/02/1990"}, {"date_of_birth": [NOT_DATE]}, id="slashes"),
        pytest.param({"date_of_birth": "1990-01-01T00:00"}, {"date_of_birth": [NOT_DATE]}, id="datetime"),
        pytest.param({"date_of_birth": "１９９０-01-01"}, {"date_of_birth": [NOT_DATE]}, id="non-ascii digits"),
        pytest.param({"date_of_birth": ""}, {"date_of_birth": [NOT_DATE]}, id="empty string"),
        pytest.param({"date_of_birth": 19900101}, {"date_of_birth": [NOT_DATE]}, id="number"),
        pytest.param({"date_of_birth": "2026-11-21"}, {"date_of_birth": [FUTURE_DATE]}, id="tomorrow"),
        pytest.param(
            {"date_of_birth": "1899-12-31"},
            {"date_of_birth": ["Must be on or after 1900-01-01."]},
            id="too long ago",
        ),
    ],
)
def test_each_error_kind(
    questionnaire: Questionnaire,
    answers: dict[str, Any],
    today: date,
    changes: dict[str, Any],
    expected: dict[str, list[str]],
) -> None:
    assert validate_answers(questionnaire, apply(answers, changes), today=today) == expected


@pytest.mark.parametrize("answers_object", [None, [], "answers", 3, [("pregnant", False)]])
def test_answers_must_be_an_object(questionnaire: Questionnaire, answers_object: object) -> None:
    assert validate_answers(questionnaire, answers_object) == {ANSWERS_ERROR_KEY: [NOT_AN_OBJECT]}


@pytest.mark.parametrize("today", [datetime(2026, 11, 20, 9, 30), "2026-11-20"])
def test_today_must_be_a_date(questionnaire: Questionnaire, answers: dict[str, Any], today: object) -> None:
    with pytest.raises(TypeError):
        validate_answers(questionnaire, answers, today=today)  # type: ignore[arg-type]


def test_every_missing_required_item_is_reported(questionnaire: Questionnaire, today: date) -> None:
    errors = validate_answers(questionnaire, {}, today=today)
    always_asked = {
        item.link_id for item in questionnaire.items if item.required and not item.is_conditional
    }
    assert errors == {link_id: [REQUIRED] for link_id in always_asked}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # The controller's own error is reported; dependents are not second-guessed.
        pytest.param({"cssrs_2": "yes", "cssrs_3": True}, {"cssrs_2": [NOT_BOOLEAN]}, id="invalid controller"),
        pytest.param({"cssrs_2": ABSENT, "cssrs_3": True}, {"cssrs_2": [REQUIRED]}, id="missing controller"),
        pytest.param(
            {"cssrs_2": "yes", "cssrs_3": "no"},
            {"cssrs_2": [NOT_BOOLEAN], "cssrs_3": [NOT_BOOLEAN]},
            id="dependent still type checked",
        ),
        pytest.param(
            {"medications": ["nope"], "benzodiazepine_diazepam_mg": 4},
            {"medications": [UNKNOWN_CHOICE]},
            id="invalid medications",
        ),
    ],
)
def test_skip_logic_with_invalid_controllers(
    questionnaire: Questionnaire,
    answers: dict[str, Any],
    today: date,
    changes: dict[str, Any],
    expected: dict[str, list[str]],
) -> None:
    assert validate_answers(questionnaire, apply(answers, changes), today=today) == expected


@pytest.mark.parametrize(
    ("link_id", "answers", "asked"),
    [
        ("cssrs_1", {}, True),
        ("cssrs_2", {}, True),
        ("cssrs_6", {}, True),
        ("cssrs_3", {"cssrs_2": True}, True),
        ("cssrs_4", {"cssrs_2": True}, True),
        ("cssrs_5", {"cssrs_2": True}, True),
        ("cssrs_3", {"cssrs_2": False}, False),
        ("cssrs_5", {"cssrs_1": True, "cssrs_2": False}, False),
        ("cssrs_6_recent", {"cssrs_6": True}, True),
        ("cssrs_6_recent", {"cssrs_6": False}, False),
        ("benzodiazepine_diazepam_mg", {"medications": ["ssri", "benzodiazepine"]}, True),
        ("benzodiazepine_diazepam_mg", {"medications": ["ssri"]}, False),
        ("benzodiazepine_diazepam_mg", {"medications": []}, False),
    ],
)
def test_is_enabled(questionnaire: Questionnaire, link_id: str, answers: dict[str, Any], asked: bool) -> None:
    assert is_enabled(questionnaire.item(link_id), answers) is asked


def test_enabled_answers_parses_dates_and_keeps_only_asked_items(
    questionnaire: Questionnaire, answers: dict[str, Any], today: date
) -> None:
    answers |= {"medications": ["ssri"], "cssrs_3": None}
    valid = enabled_answers(questionnaire, answers, today=today)
    assert valid["date_of_birth"] == date(1990, 6, 15)
    assert valid["medications"] == ("ssri",)
    assert "cssrs_3" not in valid


def test_enabled_answers_raises_without_echoing_values(questionnaire: Questionnaire, today: date) -> None:
    with pytest.raises(InvalidAnswers) as raised:
        enabled_answers(questionnaire, {"date_of_birth": "1234-99-99", "medications": ["secret-drug"]}, today=today)
    assert raised.value.errors["date_of_birth"] == [NOT_DATE]
    assert "secret-drug" not in str(raised.value)
    assert "1234" not in str(raised.value)
    assert all("secret-drug" not in message for messages in raised.value.errors.values() for message in messages)


# --- never raises, whatever arrives --------------------------------------------------------

QUESTIONNAIRE = load_questionnaire()
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
LINK_IDS = st.sampled_from(QUESTIONNAIRE.link_ids)
ANSWER_OBJECTS = st.dictionaries(LINK_IDS | st.text(max_size=16), JSON_VALUES, max_size=45)


def _assert_error_shape(errors: object) -> None:
    assert isinstance(errors, dict)
    for key, messages in errors.items():
        assert isinstance(key, str)
        assert isinstance(messages, list) and messages
        assert all(isinstance(message, str) and message.endswith(".") for message in messages)


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES)
def test_validation_never_raises_on_any_json(value: object) -> None:
    _assert_error_shape(validate_answers(QUESTIONNAIRE, value, today=date(2026, 11, 20)))


@settings(max_examples=300, deadline=None)
@given(value=ANSWER_OBJECTS)
def test_validation_never_raises_on_objects_with_real_link_ids(value: dict[str, Any]) -> None:
    errors = validate_answers(QUESTIONNAIRE, value, today=date(2026, 11, 20))
    _assert_error_shape(errors)
    unknown = {key for key in value if not QUESTIONNAIRE.has_item(key)}
    assert {key for key, messages in errors.items() if messages == [UNKNOWN_QUESTION]} == unknown
