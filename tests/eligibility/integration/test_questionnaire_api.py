"""The questionnaire over HTTP: our JSON form (the public link ids) and the FHIR R4 Questionnaire."""
from __future__ import annotations

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire as FhirQuestionnaire

pytestmark = pytest.mark.integration

QUESTIONNAIRE = "/api/eligibility/v1/questionnaire"

PUBLIC_LINK_IDS = (
    ["date_of_birth"]
    + [f"phq9_{n}" for n in range(1, 10)]
    + [f"gad7_{n}" for n in range(1, 8)]
    + [f"cssrs_{n}" for n in range(1, 7)]
    + ["cssrs_6_recent"]
    + [
        "pregnant", "breastfeeding", "aneurysmal_vascular_disease", "intracerebral_hemorrhage",
        "ketamine_hypersensitivity", "psychosis_history", "psychosis_family_history", "bipolar_history",
        "substance_use_disorder", "hypertension", "cardiac_disease", "liver_disease",
        "bp_systolic", "bp_diastolic", "medications", "benzodiazepine_diazepam_mg", "failed_antidepressant_trials",
    ]
)


def items_by_link_id(form: dict) -> dict[str, dict]:
    return {item["link_id"]: item for section in form["sections"] for item in section["items"]}


@pytest.fixture
def form(client) -> dict:
    response = client.get(QUESTIONNAIRE)
    assert response.status_code == 200
    return response.json


def test_the_form_has_every_public_link_id(form):
    assert sorted(items_by_link_id(form)) == sorted(PUBLIC_LINK_IDS)
    assert form["version"] == "2026-11-1"


@pytest.mark.parametrize(
    "link_id, answer_type, required",
    [
        ("date_of_birth", "date", True),
        ("phq9_9", "integer", True),
        ("gad7_7", "integer", True),
        ("cssrs_2", "boolean", True),
        ("pregnant", "boolean", True),
        ("bp_systolic", "integer", False),
        ("bp_diastolic", "integer", False),
        ("medications", "choice", True),
        ("failed_antidepressant_trials", "integer", True),
    ],
)
def test_item_types_and_required(form, link_id, answer_type, required):
    item = items_by_link_id(form)[link_id]
    assert (item["type"], item["required"]) == (answer_type, required)


def test_phq9_items_offer_the_four_published_frequencies(form):
    options = items_by_link_id(form)["phq9_1"]["options"]
    assert [option["code"] for option in options] == [0, 1, 2, 3]
    assert options[0]["label"] == "Not at all"


def test_medications_are_a_list_of_the_documented_codes(form):
    medications = items_by_link_id(form)["medications"]
    assert medications["repeats"] is True and medications["allow_empty"] is True
    assert {option["code"] for option in medications["options"]} == {
        "benzodiazepine", "lamotrigine", "maoi", "stimulant", "opioid", "ssri", "snri", "tca", "other",
    }


@pytest.mark.parametrize(
    "link_id, controller, answer",
    [
        ("cssrs_3", "cssrs_2", True),
        ("cssrs_4", "cssrs_2", True),
        ("cssrs_5", "cssrs_2", True),
        ("cssrs_6_recent", "cssrs_6", True),
        ("benzodiazepine_diazepam_mg", "medications", "benzodiazepine"),
    ],
)
def test_conditional_items_carry_their_skip_logic(form, link_id, controller, answer):
    assert items_by_link_id(form)[link_id]["enable_when"] == [{"question": controller, "answer": answer}]


def test_unconditional_items_have_no_skip_logic(form):
    assert items_by_link_id(form)["cssrs_6"]["enable_when"] == []
    assert items_by_link_id(form)["cssrs_1"]["enable_when"] == []


def test_fhir_questionnaire_validates_as_r4(client):
    response = client.get(f"{QUESTIONNAIRE}/fhir")

    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    resource = FhirQuestionnaire.model_validate(response.json)
    assert resource.status == "active" and resource.version == "2026-11-1"
    link_ids = {item.linkId for group in resource.item for item in group.item or []}
    assert set(PUBLIC_LINK_IDS) <= link_ids
