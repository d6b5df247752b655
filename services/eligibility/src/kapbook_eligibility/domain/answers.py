"""Answer validation with skip logic.

Answers are a JSON object keyed by link id. Validation never raises on odd
input: every problem becomes a short sentence under the offending link id.
Messages never repeat the submitted value, because answers are health data and
error responses may end up in logs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from .questionnaire import AnswerType, EnableWhen, Item, Questionnaire

# Errors about the answers object as a whole (link ids never start with "_").
ANSWERS_ERROR_KEY = "_answers"

REQUIRED = "This question is required."
NOT_ASKED = "This question was not asked, so it cannot be answered."
UNKNOWN_QUESTION = "This is not a question in this questionnaire."
NOT_AN_OBJECT = "Answers must be an object keyed by question."
NOT_INTEGER = "Must be a whole number."
NOT_BOOLEAN = "Must be yes or no (true or false)."
NOT_NUMBER = "Must be a number."
NOT_DATE = "Must be a real date written as YYYY-MM-DD."
FUTURE_DATE = "Cannot be in the future."
NOT_CHOICE_LIST = "Must be a list of choices."
UNKNOWN_CHOICE = "Contains a choice that is not offered."
DUPLICATE_CHOICE = "Contains the same choice more than once."
EMPTY_CHOICE = "Choose at least one option."
NOT_SINGLE_CHOICE = "Must be one of the offered choices."

# Only ASCII digits: \d would also accept other scripts' digits.
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class InvalidAnswers(ValueError):
    """Answers failed validation; `errors` maps link ids to messages."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        # The message counts problems only; it never carries answer values.
        super().__init__(f"{len(errors)} answer(s) are invalid.")
        self.errors = dict(errors)


class _Enabled(Enum):
    """Whether skip logic asks an item; UNKNOWN when a controlling answer is missing
    or invalid (its own error is reported, the dependent's status is not guessed)."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


@dataclass
class _Pass:
    """State of one validation pass, in questionnaire order."""

    accepted: dict[str, Any]
    enabled: dict[str, _Enabled]
    errors: dict[str, list[str]]


def validate_answers(
    questionnaire: Questionnaire, answers: object, *, today: date | None = None
) -> dict[str, list[str]]:
    """Return errors per link id; an empty dict means the answers are valid.

    `today` bounds dates (no date of birth in the future); it defaults to the
    system date, so pass it explicitly wherever reproducibility matters.
    """
    if not isinstance(answers, Mapping):
        return {ANSWERS_ERROR_KEY: [NOT_AN_OBJECT]}
    state = _run(questionnaire, answers, today or date.today())
    return state.errors


def enabled_answers(
    questionnaire: Questionnaire, answers: object, *, today: date | None = None
) -> dict[str, Any]:
    """Validate, then return the answers of asked items with dates parsed.

    Raises InvalidAnswers when the answers are not valid.
    """
    if not isinstance(answers, Mapping):
        raise InvalidAnswers({ANSWERS_ERROR_KEY: [NOT_AN_OBJECT]})
    state = _run(questionnaire, answers, today or date.today())
    if state.errors:
        raise InvalidAnswers(state.errors)
    return state.accepted


def is_enabled(item: Item, answers: Mapping[str, Any]) -> bool:
    """Whether skip logic asks `item`, given answers already known to be valid."""
    return all(_condition_met(condition, answers.get(condition.question)) for condition in item.enable_when)


def _run(questionnaire: Questionnaire, answers: Mapping[Any, Any], today: date) -> _Pass:
    # A datetime would make date comparisons raise halfway through validation.
    if isinstance(today, datetime) or not isinstance(today, date):
        raise TypeError("today must be a date (not a datetime).")
    state = _Pass(accepted={}, enabled={}, errors={})
    for item in questionnaire.items:
        _check_item(item, answers, state, today)
    for key in answers:
        if not questionnaire.has_item(key):
            state.errors[str(key)] = [UNKNOWN_QUESTION]
    return state


def _check_item(item: Item, answers: Mapping[Any, Any], state: _Pass, today: date) -> None:
    enabled = _enablement(item, state)
    state.enabled[item.link_id] = enabled
    # JSON null and a missing key both mean "not answered".
    value = answers.get(item.link_id)
    if value is None:
        if enabled is _Enabled.YES and item.required:
            state.errors[item.link_id] = [REQUIRED]
        return
    if enabled is _Enabled.NO:
        state.errors[item.link_id] = [NOT_ASKED]
        return
    problems, parsed = _check_value(item, value, today)
    if problems:
        state.errors[item.link_id] = problems
    elif enabled is _Enabled.YES:
        state.accepted[item.link_id] = parsed


def _enablement(item: Item, state: _Pass) -> _Enabled:
    result = _Enabled.YES
    for condition in item.enable_when:
        controller_state = state.enabled.get(condition.question, _Enabled.UNKNOWN)
        if controller_state is _Enabled.NO:
            # An item hidden by skip logic hides everything that depends on it.
            return _Enabled.NO
        if condition.question in state.accepted:
            if not _condition_met(condition, state.accepted[condition.question]):
                return _Enabled.NO
        elif controller_state is _Enabled.YES and condition.question not in state.errors:
            # The controller was asked, is optional, and was left blank.
            return _Enabled.NO
        else:
            result = _Enabled.UNKNOWN
    return result


def _condition_met(condition: EnableWhen, answer: Any) -> bool:
    if isinstance(answer, list | tuple):
        return any(_same(choice, condition.answer) for choice in answer)
    return _same(answer, condition.answer)


def _same(left: Any, right: Any) -> bool:
    # Strict: True must not match 1, nor 1 match True.
    return type(left) is type(right) and left == right


# --- value checks ------------------------------------------------------------


def _check_value(item: Item, value: Any, today: date) -> tuple[list[str], Any]:
    checker = _CHECKERS[item.answer_type]
    return checker(item, value, today)


def _check_integer(item: Item, value: Any, _today: date) -> tuple[list[str], Any]:
    # bool is a subclass of int and 1.0 == 1: both are rejected on purpose.
    if type(value) is not int:
        return [NOT_INTEGER], None
    if item.options:
        allowed = sorted(code for code in item.option_codes if isinstance(code, int))
        if value not in allowed:
            return [_range_message(allowed[0], allowed[-1])], None
        return [], value
    return _check_range(item, value), value


def _check_decimal(item: Item, value: Any, _today: date) -> tuple[list[str], Any]:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return [NOT_NUMBER], None
    return _check_range(item, value), value


def _check_boolean(_item: Item, value: Any, _today: date) -> tuple[list[str], Any]:
    if not isinstance(value, bool):
        return [NOT_BOOLEAN], None
    return [], value


def _check_date(item: Item, value: Any, today: date) -> tuple[list[str], Any]:
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return [NOT_DATE], None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return [NOT_DATE], None
    if parsed > today:
        return [FUTURE_DATE], None
    if item.min_date is not None and parsed < date.fromisoformat(item.min_date):
        return [f"Must be on or after {item.min_date}."], None
    return [], parsed


def _check_choice(item: Item, value: Any, _today: date) -> tuple[list[str], Any]:
    if not item.repeats:
        if not _is_option(item, value):
            return [NOT_SINGLE_CHOICE], None
        return [], value
    if not isinstance(value, list):
        return [NOT_CHOICE_LIST], None
    problems = []
    if not value and not item.allow_empty:
        problems.append(EMPTY_CHOICE)
    if not all(_is_option(item, choice) for choice in value):
        problems.append(UNKNOWN_CHOICE)
    elif len(set(value)) != len(value):
        problems.append(DUPLICATE_CHOICE)
    return problems, tuple(value)


def _is_option(item: Item, value: Any) -> bool:
    return any(_same(value, option.code) for option in item.options)


def _check_range(item: Item, value: int | float) -> list[str]:
    low, high = item.min_value, item.max_value
    if (low is not None and value < low) or (high is not None and value > high):
        return [_range_message(low, high)]
    return []


def _range_message(low: int | float | None, high: int | float | None) -> str:
    if low is not None and high is not None:
        return f"Must be between {low} and {high}."
    if low is not None:
        return f"Must be at least {low}."
    return f"Must be at most {high}."


_CHECKERS = {
    AnswerType.INTEGER: _check_integer,
    AnswerType.DECIMAL: _check_decimal,
    AnswerType.BOOLEAN: _check_boolean,
    AnswerType.DATE: _check_date,
    AnswerType.CHOICE: _check_choice,
}
