"""Notification plans as configuration: packaged defaults, layering and validation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kapbook_reminders.domain.plan_config import (
    NotificationPlans,
    PlanConfigError,
    load_notification_plans,
)

HOURS_72_24_2 = (timedelta(hours=72), timedelta(hours=24), timedelta(hours=2))


def test_packaged_defaults_remind_72_24_and_2_hours_before_for_every_category():
    plans = load_notification_plans()

    for category in ("consultation", "evaluation", "preparation", "integration", "dosing_iv", "dosing_esketamine"):
        assert plans.resolve(category).reminder_offsets == HOURS_72_24_2


def test_non_dosing_categories_have_no_preparation_or_follow_up():
    plans = load_notification_plans()

    for category in ("consultation", "evaluation", "preparation", "integration"):
        plan = plans.resolve(category)
        assert (plan.preparation, plan.follow_up_after_end) == (None, None)


def test_iv_and_im_dosing_ask_for_six_hours_without_solid_food_and_clear_liquids_until_two_hours():
    plans = load_notification_plans()

    for category in ("dosing_iv", "dosing_im"):
        guidance = plans.resolve(category).preparation
        assert guidance.send_before == timedelta(hours=48)
        assert guidance.no_food_before == timedelta(hours=6)
        assert guidance.liquids_stop_before == timedelta(hours=2)
        assert guidance.clear_liquids_only
        assert guidance.on_site_monitoring is None
        assert guidance.arrive_early == timedelta(minutes=15)
        assert plans.resolve(category).follow_up_after_end == timedelta(hours=24)


def test_esketamine_asks_for_no_food_two_hours_no_liquids_thirty_minutes_and_two_hours_monitoring():
    guidance = load_notification_plans().resolve("dosing_esketamine").preparation

    assert guidance.no_food_before == timedelta(hours=2)
    assert guidance.liquids_stop_before == timedelta(minutes=30)
    assert not guidance.clear_liquids_only
    assert guidance.on_site_monitoring == timedelta(hours=2)


def test_appointment_type_overrides_only_the_fields_it_names(make_snapshot):
    plans = load_notification_plans(
        {
            "appointment_types": {
                "SPRAVATO-56": {
                    "category": "dosing_esketamine",
                    "reminder_hours_before": [24],
                    "preparation": {"send_hours_before": 72},
                }
            }
        }
    )
    booking = make_snapshot(appointment_type_code="SPRAVATO-56", category="dosing_esketamine")

    plan = plans.for_booking(booking)

    assert plan.reminder_offsets == (timedelta(hours=24),)
    assert plan.preparation.send_before == timedelta(hours=72)
    assert plan.preparation.liquids_stop_before == timedelta(minutes=30)
    assert plan.follow_up_after_end == timedelta(hours=24)


def test_unknown_appointment_type_falls_back_to_its_category_then_the_default(make_snapshot):
    plans = load_notification_plans({"default": {"reminder_hours_before": [48, 1]}})

    infusion = plans.for_booking(make_snapshot(appointment_type_code="NEW-CODE", category="dosing_iv"))
    consultation = plans.for_booking(make_snapshot(appointment_type_code="NEW-CODE", category="consultation"))

    assert infusion.preparation is not None
    assert infusion.reminder_offsets == consultation.reminder_offsets == (timedelta(hours=48), timedelta(hours=1))


def test_category_override_can_switch_a_message_off_with_null():
    plans = load_notification_plans({"categories": {"dosing_im": {"follow_up_hours_after_end": None}}})

    assert plans.resolve("dosing_im").follow_up_after_end is None
    assert plans.resolve("dosing_iv").follow_up_after_end == timedelta(hours=24)


def test_reminder_offsets_are_deduplicated_and_sorted_furthest_first():
    plans = load_notification_plans({"default": {"reminder_hours_before": [2, 72, 0.5, 2]}})

    assert plans.resolve("consultation").reminder_offsets == (
        timedelta(hours=72),
        timedelta(hours=2),
        timedelta(minutes=30),
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"default": {"reminder_hours_before": [24, 0]}}, "greater than zero"),
        ({"default": {"reminder_hours_before": [24, -2]}}, "non-negative"),
        ({"default": {"reminder_hours_before": 24}}, "list"),
        ({"default": {"reminder_hours": [24]}}, "unknown keys"),
        ({"categories": {"dosing_xx": {}}}, "unknown categories"),
        ({"categories": {"dosing_iv": {"preparation": {"clear_liquids_only": "yes"}}}}, "true or false"),
        ({"categories": {"dosing_iv": {"follow_up_hours_after_end": True}}}, "non-negative number"),
        ({"appointment_types": {"X": {"category": "consultation", "preparation": {"send_hours_before": 24}}}}, "missing"),
        ({"appointment_types": {"X": {"reminder_hours_before": [24]}}}, "needs a known category"),
        ({"appointment_types": {"X": {"category": "dosing"}}}, "needs a known category"),
        ({"appointment_types": {"X": 5}}, "must be an object"),
        ({"reminders": {}}, "unknown keys"),
    ],
)
def test_malformed_configuration_is_refused_at_load(overrides, message):
    with pytest.raises(PlanConfigError, match=message):
        load_notification_plans(overrides)


def test_a_complete_configuration_can_be_given_without_the_packaged_defaults():
    plans = NotificationPlans.from_config(
        {"default": {"reminder_hours_before": [24], "preparation": None, "follow_up_hours_after_end": None}}
    )

    assert plans.resolve("dosing_iv").preparation is None
    assert plans.resolve("dosing_iv").reminder_offsets == (timedelta(hours=24),)
