"""The eligibility questionnaire as versioned data.

The questionnaire lives in packaged JSON files (one per version) so that wording
and skip logic change by publishing a new version, never by editing code. Link
ids are public API: answers, rules, scores and FHIR exports all refer to them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, cached_property
from importlib import resources
from typing import Any

LOINC_SYSTEM = "http://loinc.org"
CURRENT_QUESTIONNAIRE_VERSION = "2026-11-1"

# Version -> packaged file. Old versions stay here so that stored screenings
# can always be re-read against the questionnaire they were answered on.
QUESTIONNAIRE_FILES: Mapping[str, str] = {"2026-11-1": "questionnaire_v1.json"}

# Lower-case, starts with a letter: leaves names with a leading underscore free
# for form-level error keys.
_LINK_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class InvalidQuestionnaire(ValueError):
    """The questionnaire data is malformed."""


class AnswerType(StrEnum):
    DATE = "date"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    DECIMAL = "decimal"


@dataclass(frozen=True)
class Coding:
    """A code from a terminology (LOINC, UCUM or Kapbook's own code system)."""

    system: str
    code: str
    display: str | None = None


@dataclass(frozen=True)
class AnswerOption:
    """One offered answer: the value stored in answers, its label, its coding."""

    code: int | str
    label: str
    coding: Coding


@dataclass(frozen=True)
class EnableWhen:
    """Ask the item only when `question` was answered with `answer`.

    For a boolean question the answer must equal `answer`; for a multiple-choice
    question the chosen codes must include `answer`.
    """

    question: str
    answer: bool | int | str


@dataclass(frozen=True)
class Item:
    """One question."""

    link_id: str
    text: str
    answer_type: AnswerType
    required: bool = False
    options: tuple[AnswerOption, ...] = ()
    enable_when: tuple[EnableWhen, ...] = ()
    repeats: bool = False
    # A repeating choice may be answered with an empty list ("none of these").
    allow_empty: bool = False
    min_value: int | float | None = None
    max_value: int | float | None = None
    # Earliest accepted date for date items; dates are never in the future.
    min_date: str | None = None
    unit: Coding | None = None
    codes: tuple[Coding, ...] = ()

    @property
    def is_conditional(self) -> bool:
        return bool(self.enable_when)

    @cached_property
    def option_codes(self) -> frozenset[int | str]:
        return frozenset(option.code for option in self.options)

    def option(self, code: int | str) -> AnswerOption:
        for option in self.options:
            if option.code == code and type(option.code) is type(code):
                return option
        raise KeyError(code)


@dataclass(frozen=True)
class Section:
    """A titled group of items, e.g. the PHQ-9."""

    link_id: str
    title: str
    items: tuple[Item, ...]
    text: str | None = None
    codes: tuple[Coding, ...] = ()


@dataclass(frozen=True)
class Questionnaire:
    """A published questionnaire version."""

    id: str
    url: str
    version: str
    title: str
    date: str
    publisher: str
    sections: tuple[Section, ...]

    @cached_property
    def items(self) -> tuple[Item, ...]:
        """All items in presentation order (controllers before their dependents)."""
        return tuple(item for section in self.sections for item in section.items)

    @cached_property
    def _items_by_link_id(self) -> Mapping[str, Item]:
        return {item.link_id: item for item in self.items}

    @property
    def link_ids(self) -> tuple[str, ...]:
        return tuple(item.link_id for item in self.items)

    def item(self, link_id: str) -> Item:
        return self._items_by_link_id[link_id]

    def has_item(self, link_id: object) -> bool:
        return isinstance(link_id, str) and link_id in self._items_by_link_id

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Questionnaire:
        """Build and check a questionnaire from its JSON form."""
        return _parse_questionnaire(data)


def load_questionnaire(version: str | None = None) -> Questionnaire:
    """Load a packaged questionnaire version (the current one by default)."""
    wanted = CURRENT_QUESTIONNAIRE_VERSION if version is None else version
    if wanted not in QUESTIONNAIRE_FILES:
        raise LookupError(f"No packaged questionnaire version {wanted!r}.")
    return _load_packaged(QUESTIONNAIRE_FILES[wanted])


@cache
def _load_packaged(filename: str) -> Questionnaire:
    # Safe to cache: the result is deeply immutable.
    text = resources.files(__package__).joinpath(filename).read_text(encoding="utf-8")
    return Questionnaire.from_dict(json.loads(text))


# --- parsing -----------------------------------------------------------------


def _parse_questionnaire(data: Mapping[str, Any]) -> Questionnaire:
    _require_mapping(data, "questionnaire")
    option_sets = _parse_option_sets(data.get("option_sets", {}))
    sections = tuple(
        _parse_section(section, option_sets) for section in _require_list(data, "sections")
    )
    questionnaire = Questionnaire(
        id=_require_str(data, "id"),
        url=_require_str(data, "url"),
        version=_require_str(data, "version"),
        title=_require_str(data, "title"),
        date=_require_str(data, "date"),
        publisher=_require_str(data, "publisher"),
        sections=sections,
    )
    _check_link_ids(questionnaire)
    _check_enable_when(questionnaire)
    return questionnaire


def _parse_option_sets(data: Any) -> dict[str, tuple[AnswerOption, ...]]:
    _require_mapping(data, "option_sets")
    return {name: _parse_option_set(name, spec) for name, spec in data.items()}


def _parse_option_set(name: str, spec: Any) -> tuple[AnswerOption, ...]:
    _require_mapping(spec, f"option set {name!r}")
    system = _require_str(spec, "system")
    options = []
    for raw in _require_list(spec, "options"):
        _require_mapping(raw, f"option in {name!r}")
        code = raw.get("code")
        if isinstance(code, bool) or not isinstance(code, int | str):
            raise InvalidQuestionnaire(f"Option codes in {name!r} must be integers or strings.")
        label = _require_str(raw, "label")
        # An option may carry its own terminology code (e.g. a LOINC answer);
        # otherwise its own code is the code within the set's system.
        coded_as = raw.get("coding", str(code))
        options.append(AnswerOption(code=code, label=label, coding=Coding(system, coded_as, label)))
    if len({option.code for option in options}) != len(options):
        raise InvalidQuestionnaire(f"Option set {name!r} repeats a code.")
    return tuple(options)


def _parse_section(data: Any, option_sets: Mapping[str, tuple[AnswerOption, ...]]) -> Section:
    _require_mapping(data, "section")
    return Section(
        link_id=_require_str(data, "link_id"),
        title=_require_str(data, "title"),
        text=data.get("text"),
        codes=_parse_codes(data.get("codes", [])),
        items=tuple(_parse_item(item, option_sets) for item in _require_list(data, "items")),
    )


def _parse_item(data: Any, option_sets: Mapping[str, tuple[AnswerOption, ...]]) -> Item:
    _require_mapping(data, "item")
    link_id = _require_str(data, "link_id")
    try:
        answer_type = AnswerType(data.get("type"))
    except ValueError:
        raise InvalidQuestionnaire(f"Item {link_id!r} has an unknown type.") from None
    options: tuple[AnswerOption, ...] = ()
    if "options" in data:
        if data["options"] not in option_sets:
            raise InvalidQuestionnaire(f"Item {link_id!r} uses an unknown option set.")
        options = option_sets[data["options"]]
    item = Item(
        link_id=link_id,
        text=_require_str(data, "text"),
        answer_type=answer_type,
        required=bool(data.get("required", False)),
        options=options,
        enable_when=tuple(_parse_enable_when(raw) for raw in data.get("enable_when", [])),
        repeats=bool(data.get("repeats", False)),
        allow_empty=bool(data.get("allow_empty", False)),
        min_value=data.get("min"),
        max_value=data.get("max"),
        min_date=data.get("min_date"),
        unit=_parse_coding(data["unit"]) if "unit" in data else None,
        codes=_parse_codes(data.get("codes", [])),
    )
    _check_item_shape(item)
    return item


def _parse_enable_when(data: Any) -> EnableWhen:
    _require_mapping(data, "enable_when")
    answer = data.get("answer")
    if not isinstance(answer, bool | int | str):
        raise InvalidQuestionnaire("An enable_when answer must be a boolean, integer or string.")
    return EnableWhen(question=_require_str(data, "question"), answer=answer)


def _parse_codes(data: Any) -> tuple[Coding, ...]:
    if not isinstance(data, list):
        raise InvalidQuestionnaire("codes must be a list.")
    return tuple(_parse_coding(raw) for raw in data)


def _parse_coding(data: Any) -> Coding:
    _require_mapping(data, "coding")
    return Coding(
        system=_require_str(data, "system"),
        code=_require_str(data, "code"),
        display=data.get("display"),
    )


# --- consistency checks --------------------------------------------------------


def _check_item_shape(item: Item) -> None:
    if item.answer_type is AnswerType.CHOICE and not item.options:
        raise InvalidQuestionnaire(f"Choice item {item.link_id!r} has no options.")
    if item.options and item.answer_type not in (AnswerType.CHOICE, AnswerType.INTEGER):
        raise InvalidQuestionnaire(f"Item {item.link_id!r} cannot have options.")
    if item.repeats and item.answer_type is not AnswerType.CHOICE:
        raise InvalidQuestionnaire(f"Only choice items may repeat ({item.link_id!r}).")
    if item.allow_empty and not item.repeats:
        raise InvalidQuestionnaire(f"Only repeating items may be empty ({item.link_id!r}).")
    for bound in (item.min_value, item.max_value):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int | float)):
            raise InvalidQuestionnaire(f"Bounds of {item.link_id!r} must be numbers.")


def _check_link_ids(questionnaire: Questionnaire) -> None:
    seen: set[str] = set()
    all_ids = [section.link_id for section in questionnaire.sections] + list(
        questionnaire.link_ids
    )
    for link_id in all_ids:
        if not _LINK_ID.match(link_id):
            raise InvalidQuestionnaire(f"Invalid link id {link_id!r}.")
        if link_id in seen:
            raise InvalidQuestionnaire(f"Duplicate link id {link_id!r}.")
        seen.add(link_id)


def _check_enable_when(questionnaire: Questionnaire) -> None:
    # Conditions may only point backwards, so answers can be checked in one
    # pass in presentation order and skip logic can never loop.
    earlier: dict[str, Item] = {}
    for item in questionnaire.items:
        for condition in item.enable_when:
            controller = earlier.get(condition.question)
            if controller is None:
                raise InvalidQuestionnaire(
                    f"{item.link_id!r} depends on {condition.question!r}, "
                    "which is not an earlier item."
                )
            if not _condition_fits(controller, condition.answer):
                raise InvalidQuestionnaire(
                    f"{item.link_id!r} depends on an answer {condition.question!r} cannot have."
                )
        earlier[item.link_id] = item


def _condition_fits(controller: Item, answer: bool | int | str) -> bool:
    if controller.answer_type is AnswerType.BOOLEAN:
        return isinstance(answer, bool)
    if controller.options:
        return any(
            option.code == answer and type(option.code) is type(answer)
            for option in controller.options
        )
    return False


def _require_mapping(data: Any, what: str) -> None:
    if not isinstance(data, Mapping):
        raise InvalidQuestionnaire(f"The {what} must be an object.")


def _require_list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list):
        raise InvalidQuestionnaire(f"{key!r} must be a list.")
    return value


def _require_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidQuestionnaire(f"{key!r} must be a non-empty string.")
    return value
