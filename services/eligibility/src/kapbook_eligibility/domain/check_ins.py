"""Check-ins between doses (measurement-based care): the questions, their scores, the safety rule, the course.

A check-in asks the screening questionnaire's own PHQ-9 and GAD-7 items (and, per clinic setting,
its C-SSRS screener), validated by the same rules and scored by the same functions as the
screening (scoring.py): a total means the same thing in both.

Policy choices (clinical, so written down):
- An alert (on-call at once, a review item, crisis resources on the page) when PHQ-9 item 9 is
  above 0 or the C-SSRS triage is high: between doses nobody else is looking.
- Response: the PHQ-9 (or GAD-7) total at least 50 % below baseline; remission: PHQ-9 below 5.
  The baseline is the patient's first screening, or their first check-in when there is none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from .questionnaire import Questionnaire
from .scoring import (
    CssrsRisk,
    Gad7Band,
    Gad7Score,
    Phq9Band,
    Phq9Score,
    cssrs_from_answers,
    cssrs_risk,
    gad7_from_answers,
    phq9_from_answers,
)

PHQ9_SECTION, GAD7_SECTION, CSSRS_SECTION = "phq9_1", "gad7_1", "cssrs_1"  # each section by its first item
REMISSION_BELOW = 5
RESPONSE_DROP = 0.5


def check_in_questionnaire(screening: Questionnaire, *, with_cssrs: bool) -> Questionnaire:
    """The screening questionnaire's PHQ-9 and GAD-7 sections (and C-SSRS screener), nothing else."""
    wanted = {PHQ9_SECTION, GAD7_SECTION} | ({CSSRS_SECTION} if with_cssrs else set())
    sections = tuple(section for section in screening.sections if section.items and section.items[0].link_id in wanted)
    return replace(screening, sections=sections)


@dataclass(frozen=True)
class CheckInScores:
    phq9: Phq9Score
    gad7: Gad7Score
    cssrs_risk: CssrsRisk | None  # None: the clinic does not ask the screener in check-ins

    @property
    def needs_alert(self) -> bool:
        """PHQ-9 item 9 above 0 or a high C-SSRS triage: a clinician must hear of it now."""
        return self.phq9.item9 > 0 or self.cssrs_risk is CssrsRisk.HIGH

    def to_dict(self) -> dict[str, Any]:
        return {"phq9": self.phq9.to_dict(), "gad7": self.gad7.to_dict(),
                "cssrs_risk": None if self.cssrs_risk is None else self.cssrs_risk.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckInScores:
        phq9, gad7, risk = data["phq9"], data["gad7"], data.get("cssrs_risk")
        return cls(Phq9Score(phq9["total"], Phq9Band(phq9["band"]), phq9["item9"]),
                   Gad7Score(gad7["total"], Gad7Band(gad7["band"])), None if risk is None else CssrsRisk(risk))


def score_check_in(answers: Mapping[str, Any], *, with_cssrs: bool) -> CheckInScores:
    """Score validated check-in answers exactly as a screening's are scored."""
    risk = cssrs_risk(cssrs_from_answers(answers)) if with_cssrs else None
    return CheckInScores(phq9_from_answers(answers), gad7_from_answers(answers), risk)


@dataclass(frozen=True)
class Measurement:
    """One point of a patient's trend: a screening or a check-in."""

    record_id: str
    source: str  # "screening" or "check_in"
    taken_at: datetime
    phq9: int
    gad7: int
    phq9_band: Phq9Band
    gad7_band: Gad7Band
    alert: bool = False


@dataclass(frozen=True)
class CourseOutcome:
    baseline: Measurement | None
    latest: Measurement | None
    phq9_change_percent: float | None  # negative: better
    gad7_change_percent: float | None
    phq9_response: bool
    gad7_response: bool
    remission: bool


def course_outcome(measurements: Sequence[Measurement]) -> CourseOutcome:
    """Response and remission from measurements in time order (baseline: the first screening, else the first)."""
    if not measurements:
        return CourseOutcome(None, None, None, None, False, False, False)
    screenings = [m for m in measurements if m.source == "screening"]
    baseline = screenings[0] if screenings else measurements[0]
    later = [m for m in measurements if m.taken_at > baseline.taken_at]
    latest = later[-1] if later else None
    if latest is None:
        return CourseOutcome(baseline, None, None, None, False, False, False)
    phq9_change, gad7_change = _change(baseline.phq9, latest.phq9), _change(baseline.gad7, latest.gad7)
    return CourseOutcome(
        baseline, latest, phq9_change, gad7_change,
        phq9_response=_responded(baseline.phq9, latest.phq9),
        gad7_response=_responded(baseline.gad7, latest.gad7),
        remission=latest.phq9 < REMISSION_BELOW,
    )


def _change(baseline: int, latest: int) -> float | None:
    return None if baseline == 0 else round(100 * (latest - baseline) / baseline, 1)


def _responded(baseline: int, latest: int) -> bool:
    # A baseline of 0 cannot drop by half: no response to claim.
    return baseline > 0 and latest <= baseline * (1 - RESPONSE_DROP)
