"""Pure eligibility domain: questionnaire, validation, scoring, rules, decision, FHIR.

Standard library only; no I/O beyond reading the packaged JSON data.
"""

from .answers import ANSWERS_ERROR_KEY, InvalidAnswers, enabled_answers, is_enabled, validate_answers
from .crisis import (
    CrisisDirectory,
    CrisisResource,
    InvalidCrisisResources,
    crisis_resources,
    default_crisis_directory,
)
from .decision import Decision, Outcome, Reason, ReasonCode, Scores, age_on, decide, signals_crisis
from .fhir import to_fhir_questionnaire, to_fhir_questionnaire_response
from .questionnaire import (
    CURRENT_QUESTIONNAIRE_VERSION,
    AnswerOption,
    AnswerType,
    Coding,
    EnableWhen,
    InvalidQuestionnaire,
    Item,
    Questionnaire,
    Section,
    load_questionnaire,
)
from .rules import InvalidRuleSet, RuleSet, RuleSettings, load_default_ruleset
from .scoring import (
    CssrsAnswers,
    CssrsRisk,
    Gad7Band,
    Gad7Score,
    Phq9Band,
    Phq9Score,
    cssrs_risk,
    gad7_band,
    is_treatment_resistant,
    phq9_band,
    score_gad7,
    score_phq9,
)

__all__ = [
    "ANSWERS_ERROR_KEY",
    "CURRENT_QUESTIONNAIRE_VERSION",
    "AnswerOption",
    "AnswerType",
    "Coding",
    "CrisisDirectory",
    "CrisisResource",
    "CssrsAnswers",
    "CssrsRisk",
    "Decision",
    "EnableWhen",
    "Gad7Band",
    "Gad7Score",
    "InvalidAnswers",
    "InvalidCrisisResources",
    "InvalidQuestionnaire",
    "InvalidRuleSet",
    "Item",
    "Outcome",
    "Phq9Band",
    "Phq9Score",
    "Questionnaire",
    "Reason",
    "ReasonCode",
    "RuleSet",
    "RuleSettings",
    "Scores",
    "Section",
    "age_on",
    "crisis_resources",
    "cssrs_risk",
    "decide",
    "signals_crisis",
    "default_crisis_directory",
    "enabled_answers",
    "gad7_band",
    "is_enabled",
    "is_treatment_resistant",
    "load_default_ruleset",
    "load_questionnaire",
    "phq9_band",
    "score_gad7",
    "score_phq9",
    "to_fhir_questionnaire",
    "to_fhir_questionnaire_response",
    "validate_answers",
]
