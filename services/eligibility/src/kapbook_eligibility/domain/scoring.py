"""Scoring of the PHQ-9, GAD-7 and C-SSRS screener exactly as published.

PHQ-9: Kroenke, Spitzer & Williams (2001), severity bands 0-4, 5-9, 10-14,
15-19, 20-27. GAD-7: Spitzer et al. (2006), cut points 5, 10 and 15.
C-SSRS screener: the Columbia triage levels (high, moderate, low).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

PHQ9_PANEL_LOINC = "44249-1"
PHQ9_TOTAL_LOINC = "44261-6"
PHQ9_ITEM9_LOINC = "44260-8"
GAD7_PANEL_LOINC = "69737-5"
GAD7_TOTAL_LOINC = "70274-6"

PHQ9_LINK_IDS = tuple(f"phq9_{n}" for n in range(1, 10))
GAD7_LINK_IDS = tuple(f"gad7_{n}" for n in range(1, 8))
ITEM_MAX = 3

_Band = TypeVar("_Band")


class Phq9Band(StrEnum):
    MINIMAL = "minimal"
    MILD = "mild"
    MODERATE = "moderate"
    MODERATELY_SEVERE = "moderately_severe"
    SEVERE = "severe"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class Gad7Band(StrEnum):
    MINIMAL = "minimal"
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"

    @property
    def label(self) -> str:
        return self.value


class CssrsRisk(StrEnum):
    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


# (highest total in band, band), ascending.
_PHQ9_BANDS: tuple[tuple[int, Phq9Band], ...] = (
    (4, Phq9Band.MINIMAL),
    (9, Phq9Band.MILD),
    (14, Phq9Band.MODERATE),
    (19, Phq9Band.MODERATELY_SEVERE),
    (27, Phq9Band.SEVERE),
)
_GAD7_BANDS: tuple[tuple[int, Gad7Band], ...] = (
    (4, Gad7Band.MINIMAL),
    (9, Gad7Band.MILD),
    (14, Gad7Band.MODERATE),
    (21, Gad7Band.SEVERE),
)


@dataclass(frozen=True)
class Phq9Score:
    total: int
    band: Phq9Band
    item9: int

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "band": self.band.value, "item9": self.item9}


@dataclass(frozen=True)
class Gad7Score:
    total: int
    band: Gad7Band

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "band": self.band.value}


@dataclass(frozen=True)
class CssrsAnswers:
    """The six screener questions; 3-5 are only asked after a yes to 2.

    `behaviour_recent` is None when behaviour (6) was not endorsed, or when its
    timing is unknown.
    """

    wish_to_be_dead: bool
    suicidal_thoughts: bool
    thoughts_of_method: bool = False
    intent_without_plan: bool = False
    intent_with_plan: bool = False
    suicidal_behaviour: bool = False
    behaviour_recent: bool | None = None


def phq9_band(total: int) -> Phq9Band:
    """Severity band of a PHQ-9 total (0-27)."""
    return _band(total, _PHQ9_BANDS)


def gad7_band(total: int) -> Gad7Band:
    """Severity band of a GAD-7 total (0-21)."""
    return _band(total, _GAD7_BANDS)


def score_phq9(items: Sequence[int]) -> Phq9Score:
    """Score the nine PHQ-9 items (each 0-3) in order."""
    total = _sum_items(items, expected=9, instrument="PHQ-9")
    return Phq9Score(total=total, band=phq9_band(total), item9=items[8])


def score_gad7(items: Sequence[int]) -> Gad7Score:
    """Score the seven GAD-7 items (each 0-3) in order."""
    total = _sum_items(items, expected=7, instrument="GAD-7")
    return Gad7Score(total=total, band=gad7_band(total))


def cssrs_risk(answers: CssrsAnswers) -> CssrsRisk:
    """Triage level of the C-SSRS screener."""
    # Behaviour of unknown timing counts as recent: the safe assumption.
    recent_behaviour = answers.suicidal_behaviour and answers.behaviour_recent is not False
    if answers.intent_without_plan or answers.intent_with_plan or recent_behaviour:
        return CssrsRisk.HIGH
    if answers.thoughts_of_method or answers.suicidal_behaviour:
        return CssrsRisk.MODERATE
    if answers.wish_to_be_dead or answers.suicidal_thoughts:
        return CssrsRisk.LOW
    return CssrsRisk.NONE


def is_treatment_resistant(failed_trials: int, min_trials: int) -> bool:
    """Treatment-resistant depression: at least `min_trials` failed adequate trials."""
    return failed_trials >= min_trials


def phq9_from_answers(answers: Mapping[str, Any]) -> Phq9Score:
    return score_phq9([answers[link_id] for link_id in PHQ9_LINK_IDS])


def gad7_from_answers(answers: Mapping[str, Any]) -> Gad7Score:
    return score_gad7([answers[link_id] for link_id in GAD7_LINK_IDS])


def cssrs_from_answers(answers: Mapping[str, Any]) -> CssrsAnswers:
    """Read the screener from answers; questions skipped by the skip logic count as no."""
    return CssrsAnswers(
        wish_to_be_dead=answers.get("cssrs_1") is True,
        suicidal_thoughts=answers.get("cssrs_2") is True,
        thoughts_of_method=answers.get("cssrs_3") is True,
        intent_without_plan=answers.get("cssrs_4") is True,
        intent_with_plan=answers.get("cssrs_5") is True,
        suicidal_behaviour=answers.get("cssrs_6") is True,
        behaviour_recent=answers.get("cssrs_6_recent"),
    )


def _sum_items(items: Sequence[int], *, expected: int, instrument: str) -> int:
    if len(items) != expected:
        raise ValueError(f"{instrument} has {expected} items.")
    for value in items:
        if type(value) is not int or not 0 <= value <= ITEM_MAX:
            raise ValueError(f"{instrument} items are whole numbers from 0 to {ITEM_MAX}.")
    return sum(items)


def _band(total: int, bands: tuple[tuple[int, _Band], ...]) -> _Band:
    if type(total) is not int or total < 0:
        raise ValueError("A total is a whole number of at least 0.")
    for highest, band in bands:
        if total <= highest:
            return band
    raise ValueError(f"A total cannot exceed {bands[-1][0]}.")
