"""FHIR R4 Questionnaire and QuestionnaireResponse built from the domain data.

Mapping choices:
- Each section becomes a `group`; a section's instructions become a `display`
  item (linkId "<section>_instructions") so every question keeps its own text.
- PHQ-9 and GAD-7 items are integers in the domain, but their published answers
  are LOINC answer codes (LA6568-5 ...), so in FHIR they are `choice` items
  with those codings and the score in the standard `ordinalValue` extension.
- Read-only `phq9_total` and `gad7_total` items (LOINC 44261-6 and 70274-6)
  carry the computed totals in a QuestionnaireResponse.
- The medications list may be empty ("none of these"); FHIR's `required`
  would demand at least one choice, so that item is exported as not required.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from .answers import is_enabled
from .questionnaire import (
    LOINC_SYSTEM,
    AnswerOption,
    AnswerType,
    Coding,
    EnableWhen,
    Item,
    Questionnaire,
    Section,
)
from .scoring import (
    GAD7_LINK_IDS,
    GAD7_TOTAL_LOINC,
    PHQ9_LINK_IDS,
    Gad7Score,
    Phq9Score,
    PHQ9_TOTAL_LOINC,
    gad7_from_answers,
    phq9_from_answers,
)

ORDINAL_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
MIN_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE_URL = "http://hl7.org/fhir/StructureDefinition/maxValue"
UNIT_URL = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"



@dataclass(frozen=True)
class _TotalItem:
    """A read-only score item added to an instrument's group."""

    link_id: str
    loinc: str
    display: str
    item_link_ids: tuple[str, ...]
    score: Callable[[Mapping[str, Any]], Phq9Score | Gad7Score]


# Keyed by section link id.
_TOTALS: Mapping[str, _TotalItem] = {
    "phq9": _TotalItem(
        "phq9_total",
        PHQ9_TOTAL_LOINC,
        "Patient Health Questionnaire 9 item (PHQ-9) total score",
        PHQ9_LINK_IDS,
        phq9_from_answers,
    ),
    "gad7": _TotalItem(
        "gad7_total",
        GAD7_TOTAL_LOINC,
        "Generalized anxiety disorder 7 item (GAD-7) total score",
        GAD7_LINK_IDS,
        gad7_from_answers,
    ),
}

_FHIR_TYPES = {
    AnswerType.DATE: "date",
    AnswerType.INTEGER: "integer",
    AnswerType.BOOLEAN: "boolean",
    AnswerType.CHOICE: "choice",
    AnswerType.DECIMAL: "decimal",
}

_VALUE_KEYS = {
    AnswerType.DATE: "valueDate",
    AnswerType.INTEGER: "valueInteger",
    AnswerType.BOOLEAN: "valueBoolean",
    AnswerType.DECIMAL: "valueDecimal",
}


def fhir_id(questionnaire: Questionnaire) -> str:
    """Resource id: one per published version."""
    return f"{questionnaire.id}-{questionnaire.version}"


def canonical(questionnaire: Questionnaire) -> str:
    """Versioned canonical reference, as used by QuestionnaireResponse."""
    return f"{questionnaire.url}|{questionnaire.version}"


def to_fhir_questionnaire(questionnaire: Questionnaire) -> dict[str, Any]:
    """The questionnaire as a FHIR R4 Questionnaire resource (JSON-ready dict)."""
    return {
        "resourceType": "Questionnaire",
        "id": fhir_id(questionnaire),
        "url": questionnaire.url,
        "version": questionnaire.version,
        "name": _machine_name(questionnaire.title),
        "title": questionnaire.title,
        "status": "active",
        "subjectType": ["Patient"],
        "date": questionnaire.date,
        "publisher": questionnaire.publisher,
        "item": [_group(section, questionnaire) for section in questionnaire.sections],
    }


def to_fhir_questionnaire_response(
    questionnaire: Questionnaire,
    answers: Mapping[str, Any],
    *,
    authored: str | None = None,
) -> dict[str, Any]:
    """Validated answers as a completed FHIR R4 QuestionnaireResponse.

    Only asked and answered items appear, as FHIR requires; totals are added
    when the whole instrument was answered.
    """
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": canonical(questionnaire),
        "status": "completed",
        "item": [],
    }
    if authored is not None:
        response["authored"] = authored
    for section in questionnaire.sections:
        items = _response_items(section, answers)
        if items:
            response["item"].append({"linkId": section.link_id, "text": section.title, "item": items})
    return response


# --- Questionnaire -----------------------------------------------------------------


def _group(section: Section, questionnaire: Questionnaire) -> dict[str, Any]:
    children = []
    if section.text:
        children.append(
            {"linkId": f"{section.link_id}_instructions", "text": section.text, "type": "display"}
        )
    children.extend(_question(item, questionnaire) for item in section.items)
    if section.link_id in _TOTALS:
        children.append(_total_item(section.link_id))
    group: dict[str, Any] = {
        "linkId": section.link_id,
        "text": section.title,
        "type": "group",
        "item": children,
    }
    if section.codes:
        group["code"] = [_coding(code) for code in section.codes]
    return group


def _question(item: Item, questionnaire: Questionnaire) -> dict[str, Any]:
    coded_integer = item.answer_type is AnswerType.INTEGER and bool(item.options)
    question: dict[str, Any] = {
        "linkId": item.link_id,
        "text": item.text,
        "type": "choice" if coded_integer else _FHIR_TYPES[item.answer_type],
        "required": item.required and not item.allow_empty,
    }
    if item.codes:
        question["code"] = [_coding(code) for code in item.codes]
    if item.repeats:
        question["repeats"] = True
    if item.options:
        question["answerOption"] = [_answer_option(option) for option in item.options]
    if item.enable_when:
        question["enableWhen"] = [
            _enable_when(condition, questionnaire) for condition in item.enable_when
        ]
    extensions = _value_extensions(item)
    if extensions:
        question["extension"] = extensions
    return question


def _answer_option(option: AnswerOption) -> dict[str, Any]:
    answer: dict[str, Any] = {"valueCoding": _coding(option.coding)}
    if isinstance(option.code, int):
        answer["extension"] = [{"url": ORDINAL_VALUE_URL, "valueDecimal": option.code}]
    return answer


def _enable_when(condition: EnableWhen, questionnaire: Questionnaire) -> dict[str, Any]:
    enable: dict[str, Any] = {"question": condition.question, "operator": "="}
    if isinstance(condition.answer, bool):
        enable["answerBoolean"] = condition.answer
    else:
        # For a repeating choice, FHIR's "=" holds when any chosen answer matches.
        controller = questionnaire.item(condition.question)
        enable["answerCoding"] = _coding(controller.option(condition.answer).coding)
    return enable


def _value_extensions(item: Item) -> list[dict[str, Any]]:
    extensions = []
    value_key = {AnswerType.INTEGER: "valueInteger", AnswerType.DECIMAL: "valueDecimal"}.get(
        item.answer_type
    )
    if value_key and not item.options:
        if item.min_value is not None:
            extensions.append({"url": MIN_VALUE_URL, value_key: item.min_value})
        if item.max_value is not None:
            extensions.append({"url": MAX_VALUE_URL, value_key: item.max_value})
    if item.answer_type is AnswerType.DATE and item.min_date:
        extensions.append({"url": MIN_VALUE_URL, "valueDate": item.min_date})
    if item.unit is not None:
        extensions.append({"url": UNIT_URL, "valueCoding": _coding(item.unit)})
    return extensions


def _total_item(section_link_id: str) -> dict[str, Any]:
    total = _TOTALS[section_link_id]
    return {
        "linkId": total.link_id,
        "text": "Total score",
        "type": "integer",
        "readOnly": True,
        "code": [{"system": LOINC_SYSTEM, "code": total.loinc, "display": total.display}],
    }


def _coding(coding: Coding) -> dict[str, str]:
    result = {"system": coding.system, "code": coding.code}
    if coding.display:
        result["display"] = coding.display
    return result


def _machine_name(title: str) -> str:
    # FHIR names are computer-friendly: letters and digits, starting upper-case.
    words = "".join(ch if ch.isalnum() else " " for ch in title).split()
    return "".join(word[:1].upper() + word[1:] for word in words)


# --- QuestionnaireResponse -----------------------------------------------------------


def _response_items(section: Section, answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = []
    for item in section.items:
        value = answers.get(item.link_id)
        if value is None or not is_enabled(item, answers):
            continue
        values = _answer_values(item, value)
        if values:
            items.append({"linkId": item.link_id, "text": item.text, "answer": values})
    if section.link_id in _TOTALS:
        items.extend(_total_answer(section.link_id, answers))
    return items


def _answer_values(item: Item, value: Any) -> list[dict[str, Any]]:
    if item.options:
        chosen = value if item.repeats else [value]
        return [{"valueCoding": _coding(item.option(code).coding)} for code in chosen]
    if isinstance(value, date):
        value = value.isoformat()
    return [{_VALUE_KEYS[item.answer_type]: value}]


def _total_answer(section_link_id: str, answers: Mapping[str, Any]) -> list[dict[str, Any]]:
    total = _TOTALS[section_link_id]
    if any(answers.get(link_id) is None for link_id in total.item_link_ids):
        return []
    score = total.score(answers)
    return [{"linkId": total.link_id, "text": "Total score", "answer": [{"valueInteger": score.total}]}]
