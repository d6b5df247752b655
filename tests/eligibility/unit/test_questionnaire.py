"""The questionnaire as versioned data: link ids, wording, skip logic, loading."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import pytest

from kapbook_eligibility.domain.questionnaire import (
    AnswerType,
    EnableWhen,
    InvalidQuestionnaire,
    Questionnaire,
    load_questionnaire,
)
from support.screening_answers import MEDICAL_FLAGS

EXPECTED_LINK_IDS = (
    ["date_of_birth"]
    + [f"phq9_{n}" for n in range(1, 10)]
    + [f"gad7_{n}" for n in range(1, 8)]
    + [f"cssrs_{n}" for n in range(1, 7)]
    + ["cssrs_6_recent"]
    + list(MEDICAL_FLAGS)
    + [
        "bp_systolic",
        "bp_diastolic",
        "medications",
        "benzodiazepine_diazepam_mg",
        "failed_antidepressant_trials",
    ]
)

FREQUENCY_LABELS = ["Not at all", "Several days", "More than half the days", "Nearly every day"]


def packaged_data() -> dict[str, Any]:
    package = "kapbook_eligibility.domain"
    return json.loads(resources.files(package).joinpath("questionnaire_v1.json").read_text())


def test_link_ids_are_exactly_the_public_api(questionnaire: Questionnaire) -> None:
    assert set(questionnaire.link_ids) == set(EXPECTED_LINK_IDS)
    assert len(questionnaire.link_ids) == len(EXPECTED_LINK_IDS)


def test_version_and_sections(questionnaire: Questionnaire) -> None:
    assert questionnaire.version == "2026-11-1"
    assert [section.link_id for section in questionnaire.sections] == [
        "about_you",
        "phq9",
        "gad7",
        "cssrs",
        "medical_history",
        "medicines",
    ]


@pytest.mark.parametrize(
    ("link_id", "answer_type", "required"),
    [
        ("date_of_birth", AnswerType.DATE, True),
        ("phq9_1", AnswerType.INTEGER, True),
        ("gad7_7", AnswerType.INTEGER, True),
        ("cssrs_1", AnswerType.BOOLEAN, True),
        ("cssrs_3", AnswerType.BOOLEAN, True),
        ("cssrs_6_recent", AnswerType.BOOLEAN, True),
        ("liver_disease", AnswerType.BOOLEAN, True),
        ("bp_systolic", AnswerType.INTEGER, False),
        ("bp_diastolic", AnswerType.INTEGER, False),
        ("medications", AnswerType.CHOICE, True),
        ("benzodiazepine_diazepam_mg", AnswerType.DECIMAL, True),
        ("failed_antidepressant_trials", AnswerType.INTEGER, True),
    ],
)
def test_item_types_and_required(
    questionnaire: Questionnaire, link_id: str, answer_type: AnswerType, required: bool
) -> None:
    item = questionnaire.item(link_id)
    assert (item.answer_type, item.required) == (answer_type, required)


@pytest.mark.parametrize(
    ("link_id", "conditions"),
    [
        ("cssrs_3", (EnableWhen("cssrs_2", True),)),
        ("cssrs_4", (EnableWhen("cssrs_2", True),)),
        ("cssrs_5", (EnableWhen("cssrs_2", True),)),
        ("cssrs_6_recent", (EnableWhen("cssrs_6", True),)),
        ("benzodiazepine_diazepam_mg", (EnableWhen("medications", "benzodiazepine"),)),
    ],
)
def test_conditional_items(questionnaire: Questionnaire, link_id: str, conditions: tuple[EnableWhen, ...]) -> None:
    assert questionnaire.item(link_id).enable_when == conditions


def test_only_the_skip_logic_items_are_conditional(questionnaire: Questionnaire) -> None:
    conditional = {item.link_id for item in questionnaire.items if item.is_conditional}
    assert conditional == {"cssrs_3", "cssrs_4", "cssrs_5", "cssrs_6_recent", "benzodiazepine_diazepam_mg"}


@pytest.mark.parametrize("link_id", [f"phq9_{n}" for n in range(1, 10)] + [f"gad7_{n}" for n in range(1, 8)])
def test_frequency_items_use_published_answer_labels(questionnaire: Questionnaire, link_id: str) -> None:
    item = questionnaire.item(link_id)
    assert [option.code for option in item.options] == [0, 1, 2, 3]
    assert [option.label for option in item.options] == FREQUENCY_LABELS
    assert [option.coding.code for option in item.options] == ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]


@pytest.mark.parametrize(
    ("link_id", "wording"),
    [
        ("phq9_1", "Little interest or pleasure in doing things"),
        ("phq9_9", "Thoughts that you would be better off dead or of hurting yourself in some way"),
        ("gad7_1", "Feeling nervous, anxious or on edge"),
        ("gad7_7", "Feeling afraid as if something awful might happen"),
    ],
)
def test_published_item_wording(questionnaire: Questionnaire, link_id: str, wording: str) -> None:
    assert questionnaire.item(link_id).text == wording


def test_instrument_sections_give_the_two_week_frame(questionnaire: Questionnaire) -> None:
    texts = {section.link_id: section.text or "" for section in questionnaire.sections}
    assert "Over the last 2 weeks" in texts["phq9"]
    assert "Over the last 2 weeks" in texts["gad7"]


def test_medication_codes(questionnaire: Questionnaire) -> None:
    item = questionnaire.item("medications")
    assert [option.code for option in item.options] == [
        "benzodiazepine", "lamotrigine", "maoi", "stimulant", "opioid", "ssri", "snri", "tca", "other",
    ]
    assert item.repeats and item.allow_empty


def test_numeric_ranges(questionnaire: Questionnaire) -> None:
    ranges = {
        link_id: (questionnaire.item(link_id).min_value, questionnaire.item(link_id).max_value)
        for link_id in ("bp_systolic", "bp_diastolic", "failed_antidepressant_trials", "benzodiazepine_diazepam_mg")
    }
    assert ranges == {
        "bp_systolic": (50, 300),
        "bp_diastolic": (30, 200),
        "failed_antidepressant_trials": (0, 50),
        "benzodiazepine_diazepam_mg": (0, 1000),
    }


def test_loading_is_cached_and_unknown_versions_fail() -> None:
    assert load_questionnaire("2026-11-1") is load_questionnaire()
    with pytest.raises(LookupError):
        load_questionnaire("1999-1-1")


def test_from_dict_round_trips_the_packaged_file(questionnaire: Questionnaire) -> None:
    assert Questionnaire.from_dict(packaged_data()) == questionnaire


def _items(data: dict[str, Any], section: str) -> list[dict[str, Any]]:
    return next(s for s in data["sections"] if s["link_id"] == section)["items"]


def _duplicate_link_id(data: dict[str, Any]) -> None:
    _items(data, "about_you").append(copy.deepcopy(_items(data, "about_you")[0]))


def _forward_reference(data: dict[str, Any]) -> None:
    _items(data, "phq9")[0]["enable_when"] = [{"question": "cssrs_2", "answer": True}]


def _unknown_controller(data: dict[str, Any]) -> None:
    _items(data, "cssrs")[2]["enable_when"] = [{"question": "nope", "answer": True}]


def _impossible_answer(data: dict[str, Any]) -> None:
    _items(data, "medicines")[1]["enable_when"] = [{"question": "medications", "answer": "ketamine"}]


def _wrong_answer_type(data: dict[str, Any]) -> None:
    _items(data, "cssrs")[2]["enable_when"] = [{"question": "cssrs_2", "answer": 1}]


def _unknown_type(data: dict[str, Any]) -> None:
    _items(data, "about_you")[0]["type"] = "datetime"


def _choice_without_options(data: dict[str, Any]) -> None:
    del _items(data, "medicines")[0]["options"]


def _unknown_option_set(data: dict[str, Any]) -> None:
    _items(data, "phq9")[0]["options"] = "nope"


def _bad_link_id(data: dict[str, Any]) -> None:
    _items(data, "about_you")[0]["link_id"] = "_date"


def _missing_version(data: dict[str, Any]) -> None:
    del data["version"]


def _sections_not_a_list(data: dict[str, Any]) -> None:
    data["sections"] = {}


def _boolean_option_code(data: dict[str, Any]) -> None:
    data["option_sets"]["frequency_2_weeks"]["options"][0]["code"] = False


def _repeating_boolean(data: dict[str, Any]) -> None:
    _items(data, "cssrs")[0]["repeats"] = True


@pytest.mark.parametrize(
    ("corrupt", "match"),
    [
        (_duplicate_link_id, "Duplicate link id"),
        (_forward_reference, "not an earlier item"),
        (_unknown_controller, "not an earlier item"),
        (_impossible_answer, "cannot have"),
        (_wrong_answer_type, "cannot have"),
        (_unknown_type, "unknown type"),
        (_choice_without_options, "no options"),
        (_unknown_option_set, "unknown option set"),
        (_bad_link_id, "Invalid link id"),
        (_missing_version, "'version'"),
        (_sections_not_a_list, "'sections'"),
        (_boolean_option_code, "integers or strings"),
        (_repeating_boolean, "may repeat"),
    ],
)
def test_from_dict_rejects_malformed_questionnaires(corrupt: Any, match: str) -> None:
    data = packaged_data()
    corrupt(data)
    with pytest.raises(InvalidQuestionnaire, match=match):
        Questionnaire.from_dict(data)


def test_from_dict_rejects_non_objects() -> None:
    with pytest.raises(InvalidQuestionnaire):
        Questionnaire.from_dict([])  # type: ignore[arg-type]
