"""Answers to the screening questionnaire (PHQ-9, GAD-7, C-SSRS, medical history), for every test that screens."""
from __future__ import annotations

from typing import Any

MEDICAL_FLAGS = (
    "pregnant",
    "breastfeeding",
    "aneurysmal_vascular_disease",
    "intracerebral_hemorrhage",
    "ketamine_hypersensitivity",
    "psychosis_history",
    "psychosis_family_history",
    "bipolar_history",
    "substance_use_disorder",
    "hypertension",
    "cardiac_disease",
    "liver_disease",
)

# C-SSRS: suicidal thoughts with intent in the past month, a high risk (on top of eligible answers).
CRISIS_CHANGES: dict[str, Any] = {"cssrs_2": True, "cssrs_3": True, "cssrs_4": True, "cssrs_5": False}


def eligible_answers(*, phq9: int = 1, gad7: int = 1, **changes: Any) -> dict[str, Any]:
    """A complete answer set with nothing of concern (decides `eligible`), then ``changes``.

    PHQ-9 items 1-8 score ``phq9`` each and item 9 (thoughts of self-harm) 0; GAD-7 items score ``gad7``.
    """
    answers: dict[str, Any] = {"date_of_birth": "1984-05-17"}
    answers |= {f"phq9_{n}": phq9 for n in range(1, 9)} | {"phq9_9": 0}
    answers |= {f"gad7_{n}": gad7 for n in range(1, 8)}
    answers |= {"cssrs_1": False, "cssrs_2": False, "cssrs_6": False}
    answers |= {flag: False for flag in MEDICAL_FLAGS}
    answers |= {"medications": ["ssri"], "failed_antidepressant_trials": 2}
    return answers | changes
