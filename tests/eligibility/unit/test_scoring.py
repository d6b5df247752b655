"""PHQ-9, GAD-7 and C-SSRS scoring exactly as published."""

from __future__ import annotations

import pytest

from kapbook_eligibility.domain.scoring import (
    GAD7_TOTAL_LOINC,
    PHQ9_ITEM9_LOINC,
    PHQ9_PANEL_LOINC,
    PHQ9_TOTAL_LOINC,
    CssrsAnswers,
    CssrsRisk,
    Gad7Band,
    Phq9Band,
    cssrs_from_answers,
    cssrs_risk,
    gad7_band,
    is_treatment_resistant,
    phq9_band,
    score_gad7,
    score_phq9,
)


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, Phq9Band.MINIMAL),
        (4, Phq9Band.MINIMAL),
        (5, Phq9Band.MILD),
        (9, Phq9Band.MILD),
        (10, Phq9Band.MODERATE),
        (14, Phq9Band.MODERATE),
        (15, Phq9Band.MODERATELY_SEVERE),
        (19, Phq9Band.MODERATELY_SEVERE),
        (20, Phq9Band.SEVERE),
        (27, Phq9Band.SEVERE),
    ],
)
def test_phq9_band_edges(total: int, band: Phq9Band) -> None:
    assert phq9_band(total) is band


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, Gad7Band.MINIMAL),
        (4, Gad7Band.MINIMAL),
        (5, Gad7Band.MILD),
        (9, Gad7Band.MILD),
        (10, Gad7Band.MODERATE),
        (14, Gad7Band.MODERATE),
        (15, Gad7Band.SEVERE),
        (21, Gad7Band.SEVERE),
    ],
)
def test_gad7_band_edges(total: int, band: Gad7Band) -> None:
    assert gad7_band(total) is band


@pytest.mark.parametrize("total", [-1, 28, True, 4.0])
def test_phq9_band_rejects_impossible_totals(total: object) -> None:
    with pytest.raises(ValueError):
        phq9_band(total)  # type: ignore[arg-type]


@pytest.mark.parametrize("total", [-1, 22])
def test_gad7_band_rejects_impossible_totals(total: int) -> None:
    with pytest.raises(ValueError):
        gad7_band(total)


@pytest.mark.parametrize(
    ("items", "total", "band", "item9"),
    [
        ([0] * 9, 0, Phq9Band.MINIMAL, 0),
        ([3] * 9, 27, Phq9Band.SEVERE, 3),
        ([1, 1, 1, 1, 0, 0, 0, 0, 0], 4, Phq9Band.MINIMAL, 0),
        ([1, 1, 1, 1, 0, 0, 0, 0, 1], 5, Phq9Band.MILD, 1),
        ([3, 3, 3, 3, 2, 0, 0, 0, 0], 14, Phq9Band.MODERATE, 0),
        ([3, 3, 3, 3, 3, 0, 0, 0, 0], 15, Phq9Band.MODERATELY_SEVERE, 0),
        ([0, 0, 0, 0, 0, 0, 0, 0, 2], 2, Phq9Band.MINIMAL, 2),
    ],
)
def test_score_phq9(items: list[int], total: int, band: Phq9Band, item9: int) -> None:
    score = score_phq9(items)
    assert (score.total, score.band, score.item9) == (total, band, item9)


@pytest.mark.parametrize(
    ("items", "total", "band"),
    [
        ([0] * 7, 0, Gad7Band.MINIMAL),
        ([3] * 7, 21, Gad7Band.SEVERE),
        ([2, 2, 0, 0, 0, 0, 0], 4, Gad7Band.MINIMAL),
        ([2, 2, 1, 0, 0, 0, 0], 5, Gad7Band.MILD),
        ([3, 3, 3, 0, 0, 0, 0], 9, Gad7Band.MILD),
        ([3, 3, 3, 1, 0, 0, 0], 10, Gad7Band.MODERATE),
        ([3, 3, 3, 3, 2, 0, 0], 14, Gad7Band.MODERATE),
        ([3, 3, 3, 3, 3, 0, 0], 15, Gad7Band.SEVERE),
    ],
)
def test_score_gad7(items: list[int], total: int, band: Gad7Band) -> None:
    score = score_gad7(items)
    assert (score.total, score.band) == (total, band)


@pytest.mark.parametrize(
    "items",
    [[0] * 8, [0] * 10, [4] + [0] * 8, [-1] + [0] * 8, [True] + [0] * 8, [1.0] + [0] * 8],
)
def test_score_phq9_rejects_malformed_items(items: list[object]) -> None:
    with pytest.raises(ValueError):
        score_phq9(items)  # type: ignore[arg-type]


def test_score_gad7_rejects_wrong_length() -> None:
    with pytest.raises(ValueError):
        score_gad7([0] * 9)


@pytest.mark.parametrize(
    ("answers", "risk"),
    [
        (CssrsAnswers(False, False), CssrsRisk.NONE),
        (CssrsAnswers(True, False), CssrsRisk.LOW),
        (CssrsAnswers(False, True), CssrsRisk.LOW),
        (CssrsAnswers(True, True), CssrsRisk.LOW),
        (CssrsAnswers(True, True, thoughts_of_method=True), CssrsRisk.MODERATE),
        (CssrsAnswers(False, False, suicidal_behaviour=True, behaviour_recent=False), CssrsRisk.MODERATE),
        (CssrsAnswers(True, True, intent_without_plan=True), CssrsRisk.HIGH),
        (CssrsAnswers(True, True, intent_with_plan=True), CssrsRisk.HIGH),
        (CssrsAnswers(False, True, True, True, True), CssrsRisk.HIGH),
        (CssrsAnswers(False, False, suicidal_behaviour=True, behaviour_recent=True), CssrsRisk.HIGH),
        # Timing unknown: assume recent, the safe side.
        (CssrsAnswers(False, False, suicidal_behaviour=True), CssrsRisk.HIGH),
        # "Recent" without behaviour means nothing.
        (CssrsAnswers(False, False, suicidal_behaviour=False, behaviour_recent=True), CssrsRisk.NONE),
        (CssrsAnswers(True, True, thoughts_of_method=True, suicidal_behaviour=True, behaviour_recent=False), CssrsRisk.MODERATE),
    ],
)
def test_cssrs_risk_levels(answers: CssrsAnswers, risk: CssrsRisk) -> None:
    assert cssrs_risk(answers) is risk


def test_cssrs_from_answers_treats_skipped_questions_as_no() -> None:
    screener = cssrs_from_answers({"cssrs_1": True, "cssrs_2": False, "cssrs_6": False})
    assert screener == CssrsAnswers(wish_to_be_dead=True, suicidal_thoughts=False)


@pytest.mark.parametrize(
    ("failed", "minimum", "resistant"),
    [(0, 2, False), (1, 2, False), (2, 2, True), (7, 2, True), (2, 3, False), (1, 1, True)],
)
def test_treatment_resistance_threshold(failed: int, minimum: int, resistant: bool) -> None:
    assert is_treatment_resistant(failed, minimum) is resistant


def test_loinc_codes_are_the_published_ones() -> None:
    assert (PHQ9_PANEL_LOINC, PHQ9_TOTAL_LOINC, PHQ9_ITEM9_LOINC, GAD7_TOTAL_LOINC) == (
        "44249-1",
        "44261-6",
        "44260-8",
        "70274-6",
    )


def test_band_labels_are_human() -> None:
    assert Phq9Band.MODERATELY_SEVERE.label == "moderately severe"
    assert Gad7Band.SEVERE.label == "severe"
