"""API token scopes (kapbook_platform.staff.scopes): what each set of scopes allows, and the event
contract that carries them."""
from __future__ import annotations

import pytest

from kapbook_platform.contracts import EventType
from kapbook_platform.contracts.events import EVENT_SCHEMAS
from kapbook_platform.staff.scopes import ALL, ANY, BOOKINGS, READ_ONLY, REVIEWS, SCHEDULES, SCOPES, allows, describe, normalized


@pytest.mark.parametrize(("held", "needed", "allowed"), [
    (None, ALL, True),  # tokens from before scopes, and console sessions: the role's full rights
    (None, REVIEWS, True),
    ((READ_ONLY,), ANY, True),
    ((), ANY, False),
    ((READ_ONLY,), BOOKINGS, False),
    ((BOOKINGS, SCHEDULES), SCHEDULES, True),
    ((SCHEDULES,), (READ_ONLY, BOOKINGS), False),
    ((BOOKINGS,), (READ_ONLY, BOOKINGS), True),
    (SCOPES[:-1], ALL, False),
    (SCOPES, ALL, True),
])
def test_what_a_set_of_scopes_allows(held, needed, allowed):
    assert allows(held, needed) is allowed


def test_scopes_are_normalized_and_an_unknown_or_empty_list_is_refused():
    assert normalized([SCHEDULES, BOOKINGS, SCHEDULES]) == (BOOKINGS, SCHEDULES)
    assert normalized(None) is None
    with pytest.raises(ValueError, match="unknown scope admin"):
        normalized(["admin"])
    with pytest.raises(ValueError, match="at least one scope"):
        normalized([])


def test_the_refusal_names_the_scope_needed():
    assert describe(BOOKINGS) == "bookings"
    assert describe((READ_ONLY, BOOKINGS)) == "read_only or bookings"
    assert describe(ALL) == "every scope (read_only, bookings, schedules, reviews)"


def test_the_issued_event_carries_scopes_and_older_events_without_them_still_load():
    schema = EVENT_SCHEMAS[EventType.STAFF_CREDENTIAL_ISSUED]()
    base = {"credential_id": "c", "staff_id": "s", "staff_name": "Dr Ana", "role": "admin", "token_sha256": "a" * 64,
            "issued_at": "2031-05-06T12:00:00+00:00"}
    assert schema.load(base | {"scopes": ["bookings"]})["scopes"] == ["bookings"]
    assert schema.load(base)["scopes"] is None
    assert "scopes" in schema.validate(base | {"scopes": ["everything"]})
