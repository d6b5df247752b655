"""Notification plans as configuration: which messages an appointment type gets, and when.

The packaged `notification_plans.json` holds the defaults:

    {
      "default":           {<plan fields>},
      "categories":        {"<category>": {<some plan fields>}},
      "appointment_types": {"<code>": {"category": "<category>", <some plan fields>}}
    }

Plan fields: `reminder_hours_before` (list of numbers), `follow_up_hours_after_end`
(number or null), the optional check-in lead times `check_in_hours_before` (a
measurement-based care check-in before a dosing session; number or null) and
`check_in_hours_after_end` (after an integration session; number or null), and `preparation` (null or an object with `send_hours_before`,
`no_food_hours_before`, `liquids_minutes_before`, `clear_liquids_only`,
`on_site_monitoring_hours` (number or null), `arrive_minutes_early`).

Resolution: default, overlaid by the category's entry, overlaid by the
appointment type's entry. A type's entry names the category it builds on, so
every plan is resolved and checked at load; a booking whose type code has no
entry gets its category's plan. Overlays merge field by field (nested objects
too), so an entry names only what differs; `null` switches a message off.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from importlib.resources import files
from types import MappingProxyType
from typing import Any

from kapbook_reminders.domain.booking import BookingSnapshot, Category

PACKAGED_CONFIG = "notification_plans.json"
PLAN_FIELDS = frozenset({"reminder_hours_before", "preparation", "follow_up_hours_after_end"})
# Optional (absent means null): plans written before check-ins existed stay valid.
CHECK_IN_FIELDS = frozenset({"check_in_hours_before", "check_in_hours_after_end"})
PREPARATION_FIELDS = frozenset(
    {
        "send_hours_before",
        "no_food_hours_before",
        "liquids_minutes_before",
        "clear_liquids_only",
        "on_site_monitoring_hours",
        "arrive_minutes_early",
    }
)
CONFIG_SECTIONS = frozenset({"default", "categories", "appointment_types"})


class PlanConfigError(ValueError):
    """The notification plan configuration is malformed."""


@dataclass(frozen=True)
class PreparationGuidance:
    """When to send the preparation message and what it asks of the patient."""

    send_before: timedelta
    no_food_before: timedelta
    liquids_stop_before: timedelta
    # True: clear liquids are fine until liquids_stop_before (IV, IM).
    # False: any drink is fine until then (esketamine label wording).
    clear_liquids_only: bool
    on_site_monitoring: timedelta | None
    arrive_early: timedelta

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PreparationGuidance:
        require_exact_keys(data, PREPARATION_FIELDS, "preparation")
        monitoring = data["on_site_monitoring_hours"]
        return cls(
            send_before=timedelta(hours=positive_number(data["send_hours_before"], "send_hours_before")),
            no_food_before=timedelta(hours=positive_number(data["no_food_hours_before"], "no_food_hours_before")),
            liquids_stop_before=timedelta(
                minutes=positive_number(data["liquids_minutes_before"], "liquids_minutes_before")
            ),
            clear_liquids_only=boolean(data["clear_liquids_only"], "clear_liquids_only"),
            on_site_monitoring=None
            if monitoring is None
            else timedelta(hours=positive_number(monitoring, "on_site_monitoring_hours")),
            arrive_early=timedelta(minutes=non_negative_number(data["arrive_minutes_early"], "arrive_minutes_early")),
        )


@dataclass(frozen=True)
class NotificationPlan:
    """The messages one booking gets besides the ones sent at once."""

    reminder_offsets: tuple[timedelta, ...]
    preparation: PreparationGuidance | None = None
    follow_up_after_end: timedelta | None = None
    # A PHQ-9 / GAD-7 check-in link this long before a dosing session, or after an integration session ends.
    check_in_before: timedelta | None = None
    check_in_after_end: timedelta | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NotificationPlan:
        require_known_keys(data, PLAN_FIELDS | CHECK_IN_FIELDS, "plan")
        require_exact_keys({key: data[key] for key in PLAN_FIELDS & set(data)}, PLAN_FIELDS, "plan")
        follow_up = data["follow_up_hours_after_end"]
        return cls(
            check_in_before=optional_hours(data.get("check_in_hours_before"), "check_in_hours_before"),
            check_in_after_end=optional_hours(data.get("check_in_hours_after_end"), "check_in_hours_after_end"),
            reminder_offsets=reminder_offsets(data["reminder_hours_before"]),
            preparation=None if data["preparation"] is None else PreparationGuidance.from_dict(data["preparation"]),
            follow_up_after_end=None
            if follow_up is None
            else timedelta(hours=positive_number(follow_up, "follow_up_hours_after_end")),
        )


@dataclass(frozen=True)
class NotificationPlans:
    """A clinic's plans, resolved up front so a bad configuration fails at load, not at send."""

    by_category: Mapping[Category, NotificationPlan]
    by_appointment_type: Mapping[str, NotificationPlan]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> NotificationPlans:
        """Plans from a complete configuration (no packaged defaults underneath)."""
        require_known_keys(config, CONFIG_SECTIONS, "configuration")
        default = section(config, "default")
        categories = section(config, "categories")
        unknown = set(categories) - {category.value for category in Category}
        if unknown:
            raise PlanConfigError(f"unknown categories: {', '.join(sorted(unknown))}")
        by_category = {
            category: resolve_plan((default, categories.get(category.value, {})), f"category {category.value!r}")
            for category in Category
        }
        by_appointment_type = {
            code: appointment_type_plan(code, entry, default, categories)
            for code, entry in section(config, "appointment_types").items()
        }
        return cls(by_category=MappingProxyType(by_category), by_appointment_type=MappingProxyType(by_appointment_type))

    def for_booking(self, snapshot: BookingSnapshot) -> NotificationPlan:
        """The plan for this booking's appointment type, else its category (over the default)."""
        return self.resolve(snapshot.category, snapshot.appointment_type_code)

    def resolve(self, category: Category | str, appointment_type_code: str | None = None) -> NotificationPlan:
        specific = self.by_appointment_type.get(appointment_type_code or "")
        return specific if specific is not None else self.by_category[Category(category)]


def appointment_type_plan(
    code: str, entry: Any, default: Mapping[str, Any], categories: Mapping[str, Any]
) -> NotificationPlan:
    """An appointment type's entry names its category, whose plan it overlays."""
    where = f"appointment type {code!r}"
    require_known_keys(entry, PLAN_FIELDS | CHECK_IN_FIELDS | {"category"}, where)
    try:
        category = Category(entry["category"])
    except (KeyError, ValueError) as error:
        raise PlanConfigError(f"{where} needs a known category") from error
    overlay = {key: value for key, value in entry.items() if key != "category"}
    return resolve_plan((default, categories.get(category.value, {}), overlay), where)


def load_notification_plans(overrides: Mapping[str, Any] | None = None) -> NotificationPlans:
    """The packaged default plans, with `overrides` (same shape) merged on top."""
    packaged = json.loads(files("kapbook_reminders.domain").joinpath(PACKAGED_CONFIG).read_text("utf-8"))
    return NotificationPlans.from_config(merge_config(packaged, overrides or {}))


def resolve_plan(layers: tuple[Mapping[str, Any], ...], where: str) -> NotificationPlan:
    merged: dict[str, Any] = {}
    for layer in layers:
        if not isinstance(layer, Mapping):
            raise PlanConfigError(f"{where}: every plan entry must be an object")
        merged = merge_config(merged, layer)
    try:
        return NotificationPlan.from_dict(merged)
    except PlanConfigError as error:
        raise PlanConfigError(f"{where}: {error}") from error


def section(config: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = config.get(name, {})
    if not isinstance(value, Mapping):
        raise PlanConfigError(f"{name} must be an object")
    return value


def merge_config(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """`overlay` on top of `base`; nested objects merge, everything else replaces."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_config(merged[key], value)
        else:
            merged[key] = value
    return merged


def reminder_offsets(hours: Any) -> tuple[timedelta, ...]:
    """Distinct positive offsets, furthest first."""
    if not isinstance(hours, list):
        raise PlanConfigError("reminder_hours_before must be a list of numbers")
    offsets = {timedelta(hours=positive_number(value, "reminder_hours_before")) for value in hours}
    return tuple(sorted(offsets, reverse=True))


def optional_hours(value: Any, name: str) -> timedelta | None:
    return None if value is None else timedelta(hours=positive_number(value, name))


def positive_number(value: Any, name: str) -> float:
    if non_negative_number(value, name) == 0:
        raise PlanConfigError(f"{name} must be greater than zero")
    return value


def non_negative_number(value: Any, name: str) -> float:
    # bool is an int subclass; `true` hours is a typo, not 1.
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise PlanConfigError(f"{name} must be a non-negative number, not {value!r}")
    return value


def boolean(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise PlanConfigError(f"{name} must be true or false, not {value!r}")
    return value


def require_exact_keys(data: Any, expected: frozenset[str], what: str) -> None:
    require_known_keys(data, expected, what)
    missing = expected - set(data)
    if missing:
        raise PlanConfigError(f"{what} is missing {', '.join(sorted(missing))}")


def require_known_keys(data: Any, known: frozenset[str], what: str) -> None:
    if not isinstance(data, Mapping):
        raise PlanConfigError(f"{what} must be an object")
    unknown = set(data) - known
    if unknown:
        raise PlanConfigError(f"{what} has unknown keys: {', '.join(sorted(unknown))}")
