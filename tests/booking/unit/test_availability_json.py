"""The availability body is written by hand for speed: it must be exactly what json.dumps writes."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from kapbook_booking.domain.availability import Slot
from kapbook_booking.entrypoints.http.bookings import availability_json

UTC = timezone.utc
NAMES = {"c1": "Dr Ana Rivera", "c2": 'Dr "Quoted" \\ Müller\u2028 \u00e9\n', "c3": "\U0001f600 Emoji"}


def reference(code: str, zone_name: str, slots, names) -> str:
    zone = ZoneInfo(zone_name)
    rows = [{"start": s.start_utc.astimezone(zone).isoformat(), "end": s.end_utc.astimezone(zone).isoformat(),
             "clinician_id": s.clinician_id, "clinician_name": names.get(s.clinician_id, ""),
             "location_id": s.location_id, "room_id": s.room_id} for s in slots]
    return json.dumps({"appointment_type": code, "timezone": zone_name, "slots": rows}, separators=(",", ":"))


def slots_across_a_dst_change() -> list[Slot]:
    # Europe/Berlin moves its clocks on 2031-03-30 at 01:00 UTC.
    first = datetime(2031, 3, 29, 22, 0, tzinfo=UTC)
    slots = []
    for step in range(24):
        start = first + timedelta(minutes=15 * step)
        end = start + timedelta(minutes=50)
        for clinician, room in (("c1", None), ("c2", "chair-1"), ("c3", 'chair "2"'), ("unknown", None)):
            slots.append(Slot(start, end, clinician, "loc-1", room))
    return slots


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata"])
def test_the_body_is_byte_for_byte_what_json_dumps_writes(zone):
    slots = slots_across_a_dst_change()
    assert availability_json("infusion", zone, slots, NAMES) == reference("infusion", zone, slots, NAMES)


def test_an_empty_answer_and_odd_codes():
    assert availability_json('we"ird', "UTC", [], NAMES) == reference('we"ird', "UTC", [], NAMES)


def test_microseconds_and_the_same_instant_for_different_people_are_written_alike():
    start = datetime(2031, 5, 1, 8, 0, 0, 250, tzinfo=UTC)
    slots = [Slot(start, start + timedelta(minutes=30), clinician, "loc", None) for clinician in ("c1", "c2", "c1")]
    body = availability_json("consult", "Europe/Berlin", slots, NAMES)
    assert body == reference("consult", "Europe/Berlin", slots, NAMES)
    parsed = json.loads(body)["slots"]
    assert [row["start"] for row in parsed] == ["2031-05-01T10:00:00.000250+02:00"] * 3
    assert [row["clinician_name"] for row in parsed] == [NAMES["c1"], NAMES["c2"], NAMES["c1"]]
