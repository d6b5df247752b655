"""FHIR R4 Questionnaire / QuestionnaireResponse export.

fhir.resources 8 ships R5 at the top level; its R4B package is structurally the
same as R4 for Questionnaire and QuestionnaireResponse, so it validates R4.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from datetime import date
from importlib import resources
from typing import Any

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse as FhirQuestionnaireResponse

from kapbook_eligibility.domain.answers import enabled_answers
from kapbook_eligibility.domain.fhir import to_fhir_questionnaire, to_fhir_questionnaire_response
from kapbook_eligibility.domain.questionnaire import Questionnaire, load_questionnaire

LOINC = "http://loinc.org"
SCORE_ITEMS = {"phq9_total", "gad7_total"}


def walk(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from walk(item.get("item", []))


def questions(resource: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Items that take an answer from the patient, by linkId."""
    return {
        item["linkId"]: item
        for item in walk(resource["item"])
        if item["type"] not in ("group", "display") and not item.get("readOnly")
    }


@pytest.fixture(scope="module")
def resource() -> dict[str, Any]:
    return to_fhir_questionnaire(load_questionnaire())


def test_validates_as_fhir_r4_questionnaire(resource: dict[str, Any]) -> None:
    model = FhirQuestionnaire.model_validate(resource)
    assert model.status == "active"
    assert model.version == "2026-11-1"
    assert model.url == "https://kapbook.org/fhir/Questionnaire/kapbook-eligibility"


# fhir.resources checks structure but not code values, so check the R4 value
# sets and the invariants that apply to this questionnaire here.
R4_ITEM_TYPES = {
    "group", "display", "boolean", "decimal", "integer", "date", "dateTime", "time", "string", "text",
    "url", "choice", "open-choice", "attachment", "reference", "quantity",
}
R4_OPERATORS = {"exists", "=", "!=", ">", "<", ">=", "<="}
R4_ANSWER_OPTION_TYPES = {"choice", "open-choice", "integer", "date", "time", "string"}


def test_r4_code_values_and_invariants(resource: dict[str, Any]) -> None:
    assert resource["status"] in {"draft", "active", "retired", "unknown"}
    items = {item["linkId"]: item for item in walk(resource["item"])}
    position = {link_id: index for index, link_id in enumerate(items)}
    for link_id, item in items.items():
        assert item["type"] in R4_ITEM_TYPES
        # que-1: groups have items, display items have none
        assert bool(item.get("item")) is (item["type"] == "group")
        # que-5: only selection-capable items have answer options
        assert "answerOption" not in item or item["type"] in R4_ANSWER_OPTION_TYPES
        # que-12: several conditions would need enableBehavior
        assert len(item.get("enableWhen", [])) <= 1 or "enableBehavior" in item
        for condition in item.get("enableWhen", []):
            assert condition["operator"] in R4_OPERATORS
            controller = items[condition["question"]]
            assert position[condition["question"]] < position[link_id]
            if "answerBoolean" in condition:
                assert controller["type"] == "boolean"
            else:
                offered = [option["valueCoding"] for option in controller["answerOption"]]
                assert condition["answerCoding"] in offered


def test_link_ids_are_unique(resource: dict[str, Any]) -> None:
    link_ids = [item["linkId"] for item in walk(resource["item"])]
    assert len(link_ids) == len(set(link_ids))


def test_questions_match_the_domain_in_order(resource: dict[str, Any], questionnaire: Questionnaire) -> None:
    assert list(questions(resource)) == list(questionnaire.link_ids)
    for link_id, item in questions(resource).items():
        assert item["text"] == questionnaire.item(link_id).text


def test_groups_match_sections(resource: dict[str, Any], questionnaire: Questionnaire) -> None:
    assert [(group["linkId"], group["type"]) for group in resource["item"]] == [
        (section.link_id, "group") for section in questionnaire.sections
    ]


def test_enable_when_matches_the_domain(resource: dict[str, Any], questionnaire: Questionnaire) -> None:
    exported = {
        link_id: [
            (condition["question"], condition.get("answerBoolean", condition.get("answerCoding", {}).get("code")))
            for condition in item.get("enableWhen", [])
        ]
        for link_id, item in questions(resource).items()
    }
    expected = {
        item.link_id: [(condition.question, condition.answer) for condition in item.enable_when]
        for item in questionnaire.items
    }
    assert exported == expected
    assert all(
        condition["operator"] == "="
        for item in questions(resource).values()
        for condition in item.get("enableWhen", [])
    )


def test_benzodiazepine_dose_is_enabled_by_a_coding(resource: dict[str, Any]) -> None:
    (condition,) = questions(resource)["benzodiazepine_diazepam_mg"]["enableWhen"]
    assert condition["answerCoding"]["system"] == "https://kapbook.org/fhir/CodeSystem/medication-class"
    assert condition["answerCoding"]["code"] == "benzodiazepine"


@pytest.mark.parametrize(
    ("link_id", "fhir_type", "required"),
    [
        ("date_of_birth", "date", True),
        ("phq9_1", "choice", True),
        ("gad7_7", "choice", True),
        ("cssrs_1", "boolean", True),
        ("cssrs_4", "boolean", True),
        ("pregnant", "boolean", True),
        ("bp_systolic", "integer", False),
        ("medications", "choice", False),  # may be empty: FHIR "required" would forbid that
        ("benzodiazepine_diazepam_mg", "decimal", True),
        ("failed_antidepressant_trials", "integer", True),
    ],
)
def test_item_types(resource: dict[str, Any], link_id: str, fhir_type: str, required: bool) -> None:
    item = questions(resource)[link_id]
    assert (item["type"], item["required"]) == (fhir_type, required)


def test_only_medications_repeat(resource: dict[str, Any]) -> None:
    assert [link_id for link_id, item in questions(resource).items() if item.get("repeats")] == ["medications"]


def test_frequency_answers_are_loinc_codes_with_scores(resource: dict[str, Any]) -> None:
    options = questions(resource)["phq9_9"]["answerOption"]
    assert [(o["valueCoding"]["system"], o["valueCoding"]["code"], o["valueCoding"]["display"]) for o in options] == [
        (LOINC, "LA6568-5", "Not at all"),
        (LOINC, "LA6569-3", "Several days"),
        (LOINC, "LA6570-1", "More than half the days"),
        (LOINC, "LA6571-9", "Nearly every day"),
    ]
    assert [o["extension"][0]["valueDecimal"] for o in options] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("link_id", "code"),
    [
        ("phq9", "44249-1"),
        ("phq9_9", "44260-8"),
        ("phq9_1", "44250-9"),
        ("phq9_total", "44261-6"),
        ("gad7", "69737-5"),
        ("gad7_total", "70274-6"),
        ("date_of_birth", "21112-8"),
    ],
)
def test_loinc_codes(resource: dict[str, Any], link_id: str, code: str) -> None:
    item = next(item for item in walk(resource["item"]) if item["linkId"] == link_id)
    assert {"system": LOINC, "code": code} in [
        {"system": coding["system"], "code": coding["code"]} for coding in item["code"]
    ]


def test_score_items_are_read_only(resource: dict[str, Any]) -> None:
    scores = {item["linkId"]: item for item in walk(resource["item"]) if item.get("readOnly")}
    assert set(scores) == SCORE_ITEMS
    assert all(item["type"] == "integer" for item in scores.values())


def test_numeric_bounds_and_units_are_exported(resource: dict[str, Any]) -> None:
    extensions = {ext["url"].rsplit("/", 1)[1]: ext for ext in questions(resource)["bp_systolic"]["extension"]}
    assert extensions["minValue"]["valueInteger"] == 50
    assert extensions["maxValue"]["valueInteger"] == 300
    assert extensions["questionnaire-unit"]["valueCoding"]["code"] == "mm[Hg]"


# --- QuestionnaireResponse ---------------------------------------------------------------


def response_link_ids(response: dict[str, Any]) -> set[str]:
    return {item["linkId"] for item in walk(response["item"])}


def test_response_validates_and_uses_questionnaire_link_ids(
    resource: dict[str, Any], questionnaire: Questionnaire, answers: dict[str, Any]
) -> None:
    answers |= {"medications": ["benzodiazepine", "ssri"], "benzodiazepine_diazepam_mg": 7.5, "bp_systolic": 130}
    answers |= {"cssrs_2": True, "cssrs_3": False, "cssrs_4": False, "cssrs_5": False, "phq9_9": 2}
    response = to_fhir_questionnaire_response(questionnaire, answers, authored="2026-11-20T10:00:00Z")
    FhirQuestionnaireResponse.model_validate(response)
    assert response["questionnaire"] == "https://kapbook.org/fhir/Questionnaire/kapbook-eligibility|2026-11-1"
    assert response_link_ids(response) <= {item["linkId"] for item in walk(resource["item"])}
    by_link_id = {item["linkId"]: item for item in walk(response["item"])}
    assert by_link_id["phq9_9"]["answer"] == [
        {"valueCoding": {"system": LOINC, "code": "LA6570-1", "display": "More than half the days"}}
    ]
    assert by_link_id["phq9_total"]["answer"] == [{"valueInteger": 2}]
    assert by_link_id["gad7_total"]["answer"] == [{"valueInteger": 0}]
    assert [a["valueCoding"]["code"] for a in by_link_id["medications"]["answer"]] == ["benzodiazepine", "ssri"]
    assert by_link_id["benzodiazepine_diazepam_mg"]["answer"] == [{"valueDecimal": 7.5}]
    assert by_link_id["date_of_birth"]["answer"] == [{"valueDate": "1990-06-15"}]


def test_response_leaves_out_unasked_and_unanswered_items(
    questionnaire: Questionnaire, answers: dict[str, Any], today: date
) -> None:
    response = to_fhir_questionnaire_response(questionnaire, enabled_answers(questionnaire, answers, today=today))
    FhirQuestionnaireResponse.model_validate(response)
    link_ids = response_link_ids(response)
    assert not link_ids & {"cssrs_3", "cssrs_4", "cssrs_5", "cssrs_6_recent", "benzodiazepine_diazepam_mg"}
    assert not link_ids & {"bp_systolic", "bp_diastolic", "medications"}  # not given / empty
    assert {"date_of_birth", "cssrs_6", "phq9_total"} <= link_ids


def test_response_has_no_total_for_an_incomplete_instrument(questionnaire: Questionnaire) -> None:
    response = to_fhir_questionnaire_response(questionnaire, {"phq9_1": 3})
    assert "phq9_total" not in response_link_ids(response)


# --- purity -------------------------------------------------------------------------------


def test_domain_imports_only_the_standard_library() -> None:
    package = resources.files("kapbook_eligibility.domain")
    modules = [path for path in package.iterdir() if path.name.endswith(".py")]
    assert len(modules) >= 7
    for module in modules:
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in sys.stdlib_module_names, f"{module.name} imports {name}"
