"""The pure FHIR mapping: slot ids and deep links, timestamps, and SMART's id rule."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from fhir.resources.R4B.slot import Slot as FhirSlot

from kapbook_booking.domain import fhir
from kapbook_booking.domain.availability import Slot

KIND = {"code": "free-consultation", "name": "Free consultation"}
START = datetime(2027, 3, 14, 6, 30, tzinfo=ZoneInfo("America/New_York"))  # the morning after spring forward


def engine_slot(room: str | None = None, clinician: str = "c-1") -> Slot:
    return Slot(START.astimezone(timezone.utc), START.astimezone(timezone.utc) + timedelta(minutes=30), clinician, "loc-1", room)


def test_instants_are_utc_to_the_millisecond_with_z():
    assert fhir.instant(START) == "2027-03-14T10:30:00.000Z"


def test_the_writer_and_the_single_slot_function_agree_and_ids_are_stable_and_distinct():
    writer = fhir.SlotWriter("https://clinic.example/", "+1 555 0100")
    first = writer(engine_slot(), KIND, "Schedule/clinician-c-1")
    assert first == fhir.slot(engine_slot(), KIND, "Schedule/clinician-c-1", widget_url="https://clinic.example/", phone="+1 555 0100")
    assert writer(engine_slot(), KIND, "Schedule/x")["id"] == first["id"]
    assert len({writer(engine_slot(room=r, clinician=c), KIND, "Schedule/x")["id"]
                for r in (None, "r-1") for c in ("c-1", "c-2")}) == 4
    assert re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", first["id"])
    FhirSlot.model_validate(first)


def test_the_deep_link_names_type_start_and_clinician_and_phone_is_optional():
    slot = fhir.SlotWriter("https://clinic.example/", None)(engine_slot(clinician="a b&c"), KIND, "Schedule/x")
    [link] = [e["valueUrl"] for e in slot["extension"] if e["url"] == fhir.BOOKING_DEEP_LINK]
    assert parse_qs(urlsplit(link).query) == {"kapbook-type": ["free-consultation"],
                                              "kapbook-start": ["2027-03-14T10:30:00.000Z"], "kapbook-clinician": ["a b&c"]}
    assert link == fhir.deep_link("https://clinic.example/", "free-consultation", START, "a b&c")
    assert all(e["url"] != fhir.BOOKING_PHONE for e in slot["extension"])


def test_a_smart_schedule_has_exactly_one_location_actor_and_a_service_type():
    schedule = fhir.smart_schedule("loc-1", KIND)
    assert schedule["actor"] == [{"reference": "Location/loc-1"}]
    assert schedule["serviceType"][0]["coding"][0]["code"] == "free-consultation"
    assert re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", schedule["id"])
