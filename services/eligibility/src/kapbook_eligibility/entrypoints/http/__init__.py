"""The eligibility service's HTTP routes: thin, they turn requests into use-case calls."""
from __future__ import annotations

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    from kapbook_eligibility.entrypoints.http import check_ins, decisions, questionnaire, reviews, rule_sets, screenings

    for module in (questionnaire, screenings, reviews, rule_sets, decisions, check_ins):
        api.register_blueprint(module.blp)
