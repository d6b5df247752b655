"""The FHIR R4 scheduling API and the SMART Scheduling Links publisher, checked by outside tools.

Every FHIR answer is parsed by ``fhir.resources.R4B`` (fhir.resources 8 ships R5 as its default and
R4B beside it; R4B's Location, Schedule, Slot, Appointment, Bundle and OperationOutcome have R4's
shape). ``fhirclient`` 4.4, whose models are FHIR R4 4.0.1, reads a live server as a client would.
Times are picked relative to now inside all-day working hours, so the tests pass at any hour.
"""
from __future__ import annotations

import json
import re
import threading
from datetime import datetime, time, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from fhir.resources.R4B import get_fhir_model_class
from werkzeug.serving import make_server

from kapbook_booking.adapters import tables as t
from kapbook_booking.entrypoints.app import create_app
from support.clinic import ClinicBuilder, patient

BASE = "/api/booking/fhir/r4"
DEEP_LINK = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link"
PHONE = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-phone"
SMART_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
SMART_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture
def booking_config_overrides() -> dict:
    return {"booking_phone": "+1 617 555 0100", "public_base_url": "http://clinic.test"}


@pytest.fixture
def clinic(service):
    clinic = ClinicBuilder(service.runtime.sessions)
    with service.runtime.sessions.begin() as session:
        session.execute(t.locations.update().values(address="120 W 57th St, Suite 4, New York, NY 10019"))
        # A video-only "location" with no postal address: FHIR lists it, SMART (physical places) does not.
        session.execute(t.locations.insert().values(id="online", name="Online", timezone=clinic.zone))
    clinic.consult = clinic.appointment_type("consult", 30)
    clinic.infusion = clinic.appointment_type("infusion", 60, slot_step_minutes=60, room_kind="chair")
    clinic.chair = clinic.room("chair")
    clinic.dr_a = clinic.clinician("Dr A", [clinic.consult, clinic.infusion], hours=(time(0), time(23, 59)))
    clinic.dr_b = clinic.clinician("Dr B", [clinic.consult], hours=(time(0), time(23, 59)))
    return clinic


def validated(response, status: int = 200) -> dict:
    """The answer, checked for status, content type and FHIR R4(B) validity."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/fhir+json"
    body = response.json
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    return body


def day_range(clinic, days_ahead: int, days: int) -> tuple[str, str]:
    start = clinic.local(days_ahead, 0).astimezone(timezone.utc)
    end = start + timedelta(days=days)
    return start.isoformat().replace("+00:00", "Z"), end.isoformat().replace("+00:00", "Z")


def test_metadata_and_the_catalogue_are_valid_fhir(client, clinic):
    capability = validated(client.get(f"{BASE}/metadata"))
    assert capability["fhirVersion"] == "4.0.1"
    assert {r["type"] for r in capability["rest"][0]["resource"]} >= {"Slot", "Schedule", "Appointment"}
    for kind in ("Location", "Practitioner", "PractitionerRole", "HealthcareService", "Schedule"):
        bundle = validated(client.get(f"{BASE}/{kind}"))
        assert bundle["type"] == "searchset" and bundle["total"] == len(bundle["entry"]) > 0
        first = bundle["entry"][0]["resource"]
        assert validated(client.get(f"{BASE}/{kind}/{first['id']}")) == first
    schedules = {e["resource"]["id"] for e in client.get(f"{BASE}/Schedule").json["entry"]}
    assert schedules == {f"clinician-{clinic.dr_a}", f"clinician-{clinic.dr_b}", f"room-{clinic.chair}"}
    practitioner = validated(client.get(f"{BASE}/Practitioner/{clinic.dr_a}"))
    assert practitioner["name"] == [{"text": "Dr A"}]


def test_slot_search_by_schedule_type_and_start_matches_the_availability_engine(client, clinic):
    start, end = day_range(clinic, 2, 1)
    bundle = validated(client.get(f"{BASE}/Slot", query_string=[
        ("schedule", f"Schedule/clinician-{clinic.dr_b}"), ("service-type", "consult"),
        ("start", f"ge{start}"), ("start", f"lt{end}"), ("status", "free"), ("_count", "1000")]))
    day = clinic.local(2, 0).date()
    plain = client.get("/api/booking/v1/availability", query_string={
        "appointment_type": "consult", "start": day.isoformat(), "end": day.isoformat(),
        "timezone": clinic.zone, "clinician_id": clinic.dr_b}).json
    fhir_starts = [datetime.fromisoformat(e["resource"]["start"]) for e in bundle["entry"]]
    plain_starts = [datetime.fromisoformat(s["start"]) for s in plain["slots"]]
    assert fhir_starts == plain_starts and len(fhir_starts) > 40
    assert bundle["total"] == len(fhir_starts)
    slot = bundle["entry"][0]["resource"]
    assert slot["status"] == "free" and slot["schedule"]["reference"] == f"Schedule/clinician-{clinic.dr_b}"
    assert {e["url"] for e in slot["extension"]} == {DEEP_LINK, PHONE}


def test_slots_of_a_chair_schedule_all_take_that_chair(client, clinic):
    start, end = day_range(clinic, 2, 1)
    bundle = validated(client.get(f"{BASE}/Slot", query_string=[
        ("schedule", f"room-{clinic.chair}"), ("start", f"ge{start}"), ("start", f"lt{end}")]))
    assert bundle["total"] > 10
    assert {e["resource"]["schedule"]["reference"] for e in bundle["entry"]} == {f"Schedule/room-{clinic.chair}"}
    assert {e["resource"]["serviceType"][0]["coding"][0]["code"] for e in bundle["entry"]} == {"infusion"}


def test_paging_walks_every_slot_once_with_next_links(client, clinic):
    start, end = day_range(clinic, 2, 1)
    url = f"{BASE}/Slot?service-type=consult&start=ge{start}&start=lt{end}&_count=7"
    seen, total = [], None
    while url:
        bundle = validated(client.get(url))
        total = bundle["total"]
        seen += [e["resource"]["id"] for e in bundle["entry"]]
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        url = links.get("next")
    assert len(seen) == len(set(seen)) == total > 7


@pytest.mark.parametrize("query", [
    "start=ge2026-13-01", "start=gefoo", "start=ge2030-01-01T10:00:00", "_count=0", "_count=abc", "_cursor=-1",
    "schedule=Practitioner/x", "service-type=http://other|consult", "status=maybe", "colour=blue",
    "start=ge2030-01-01&start=lt2029-01-01", "start=ge2030-01-01&start=lt2031-01-01",
])
def test_malformed_slot_searches_are_400_operation_outcomes(client, clinic, query):
    outcome = validated(client.get(f"{BASE}/Slot?{query}"), 400)
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "invalid"


def test_other_resources_and_writes_are_operation_outcomes_too(client, clinic):
    assert validated(client.get(f"{BASE}/Patient"), 404)["issue"][0]["code"] == "not-supported"
    for method in ("post", "put", "delete"):
        refused = getattr(client, method)(f"{BASE}/Slot", json={"resourceType": "Slot"})
        assert validated(refused, 405)["issue"][0]["code"] == "not-supported" and refused.headers["Allow"] == "GET"


def test_unknown_ids_are_404_operation_outcomes(client, clinic, staff):
    assert validated(client.get(f"{BASE}/Location/nope"), 404)["issue"][0]["code"] == "not-found"
    assert validated(client.get(f"{BASE}/Appointment/nope", headers=staff["admin"]), 404)["issue"][0]["code"] == "not-found"


def test_appointments_need_a_staff_token_and_are_valid_fhir(client, clinic, staff):
    start = clinic.local(3, 10)
    booked = client.post("/api/booking/v1/bookings", json={
        "appointment_type": "consult", "start": start.isoformat(), "clinician_id": clinic.dr_a, "patient": patient()})
    assert booked.status_code == 201, booked.json
    assert validated(client.get(f"{BASE}/Appointment"), 401)["issue"][0]["code"] == "login"
    assert client.get(f"{BASE}/Appointment", headers={"Authorization": "Bearer kbs_wrong"}).status_code == 401
    bundle = validated(client.get(f"{BASE}/Appointment", query_string={"date": f"ge{clinic.local(0, 0).date()}"},
                                  headers=staff["front_desk"]))
    assert bundle["total"] == 1
    appointment = validated(client.get(f"{BASE}/Appointment/{booked.json['id']}", headers=staff["clinician"]))
    assert appointment["status"] == "booked"
    assert datetime.fromisoformat(appointment["start"]) == start


# --- SMART Scheduling Links ---------------------------------------------------------------------------


def ndjson(response) -> list[dict]:
    assert response.status_code == 200 and response.content_type == "application/fhir+ndjson"
    text = response.get_data(as_text=True)
    lines = text.splitlines()
    assert text.endswith("\n") and all(line == json.dumps(json.loads(line), separators=(",", ":")) for line in lines)
    return [json.loads(line) for line in lines]


def test_the_manifest_and_its_files_follow_the_spec_field_rules(client, clinic):
    for headers in ({}, {"Accept": "application/json"}):  # the spec's two Accept cases, same payload
        response = client.get(f"{BASE}/$bulk-publish", headers=headers)
        assert response.status_code == 200
        manifest = response.json
        assert set(manifest) == {"transactionTime", "request", "output", "error"}
        assert SMART_TIMESTAMP.match(manifest["transactionTime"]) and manifest["error"] == []
        assert manifest["request"] == f"http://localhost{BASE}/$bulk-publish"
        assert [o["type"] for o in manifest["output"]] == ["Location", "Schedule", "Slot"]
        assert response.cache_control.max_age == 300 and response.headers["ETag"] and response.headers["Last-Modified"]
    files = {o["type"]: urlsplit(o["url"]).path for o in manifest["output"]}
    for headers in ({}, {"Accept": "application/fhir+ndjson"}):
        locations = ndjson(client.get(files["Location"], headers=headers))
    schedules = ndjson(client.get(files["Schedule"]))
    slots = ndjson(client.get(files["Slot"]))
    for resource in locations + schedules + slots:
        assert SMART_ID.match(resource["id"])
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    location_ids = {loc["id"] for loc in locations}
    assert location_ids == {clinic.location_id}  # "online" has no postal address
    assert locations[0]["address"] | {"text": None} == {"line": ["120 W 57th St", "Suite 4"], "city": "New York",
                                                        "state": "NY", "postalCode": "10019", "text": None}
    assert manifest["output"][2]["extension"] == {"state": ["NY"]}
    assert all(loc["name"] and any(t["system"] in ("phone", "url") for t in loc["telecom"]) and loc["identifier"]
               for loc in locations)
    assert all(len(s["actor"]) == 1 and s["actor"][0]["reference"].removeprefix("Location/") in location_ids
               and s["serviceType"] for s in schedules)
    schedule_refs = {f"Schedule/{s['id']}" for s in schedules}
    assert len(schedules) == 2  # consult and infusion, at the one location
    assert slots and all(s["schedule"]["reference"] in schedule_refs and s["status"] in ("free", "busy")
                         and SMART_TIMESTAMP.match(s["start"]) and SMART_TIMESTAMP.match(s["end"]) for s in slots)
    for slot in slots:
        extensions = {e["url"]: e for e in slot["extension"]}
        assert extensions[PHONE]["valueString"] == "+1 617 555 0100"
        assert extensions[DEEP_LINK]["valueUrl"].startswith("http://clinic.test/?")
    # Public and free/busy only: nothing about patients in any file.
    assert "pat@example.org" not in json.dumps(locations + schedules + slots)


def test_a_deep_link_names_the_slot_the_widget_preselects(client, clinic):
    slot = ndjson(client.get(f"{BASE}/$bulk-publish/slots.ndjson"))[0]
    link = next(e["valueUrl"] for e in slot["extension"] if e["url"] == DEEP_LINK)
    query = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    assert query["kapbook-start"] == slot["start"]
    assert query["kapbook-type"] == slot["serviceType"][0]["coding"][0]["code"]


def test_published_files_answer_304_to_a_client_that_has_them(client, clinic):
    first = client.get(f"{BASE}/$bulk-publish/schedules.ndjson")
    again = client.get(f"{BASE}/$bulk-publish/schedules.ndjson", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""


def test_since_is_accepted_as_a_timestamp_and_refused_otherwise(client, clinic):
    since = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat(timespec="seconds").replace("+00:00", "Z")
    ok = client.get(f"{BASE}/$bulk-publish", query_string={"_since": since})
    assert ok.status_code == 200 and parse_qs(urlsplit(ok.json["request"]).query) == {"_since": [since]}
    assert validated(client.get(f"{BASE}/$bulk-publish", query_string={"_since": "yesterday"}), 400)


# --- a real client ------------------------------------------------------------------------------------


@pytest.fixture
def live_server(service):
    server = make_server("127.0.0.1", 0, create_app(service), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}{BASE}"
    server.shutdown()
    thread.join(5)


def test_fhirclient_reads_the_server_as_a_smart_client_would(live_server, clinic):
    from fhirclient import client as smart
    from fhirclient.models.capabilitystatement import CapabilityStatement
    from fhirclient.models.practitioner import Practitioner
    from fhirclient.models.slot import Slot

    reader = smart.FHIRClient(settings={"app_id": "kapbook-test", "api_base": live_server})
    capability = CapabilityStatement.read_from("metadata", reader.server)
    assert capability.fhirVersion == "4.0.1"
    doctor = Practitioner.read(clinic.dr_a, reader.server)
    assert doctor.name[0].text == "Dr A"
    start = clinic.local(2, 0).astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    slots = list(Slot.where(struct={"schedule": f"Schedule/clinician-{clinic.dr_a}", "service-type": "consult",
                               "start": f"ge{start}", "_count": "50"}).perform_resources_iter(reader.server))
    # fhirclient follows the Bundle's next links: 50 a page, every slot of the week once.
    total = requests.get(f"{live_server}/Slot", params={"schedule": f"Schedule/clinician-{clinic.dr_a}",
                         "service-type": "consult", "start": f"ge{start}", "_count": "1"}, timeout=10).json()["total"]
    assert len(slots) == len({s.id for s in slots}) == total > 50
    assert all(s.status == "free" for s in slots)
    assert slots[0].start.date >= datetime.fromisoformat(start)


NASTY = ["", "ge", "%", "\x00", "ge2030-02-30", "lt9999-12-31T23:59:59+14:00", "ge0001-01-01", "9" * 400,
         "Schedule/", "clinician-", "room-", "|", "a|b|c", "-1", "1e3", "gt2030-01-01T10:00:00.123456789Z"]


@pytest.mark.parametrize("name", ["schedule", "service-type", "start", "status", "_count", "_cursor", "date", "_since", "_id"])
def test_no_search_value_makes_a_500(client, clinic, staff, name):
    for path in ("Slot", "Appointment", "Location", "$bulk-publish"):
        for value in NASTY:
            response = client.get(f"{BASE}/{path}", query_string={name: value}, headers=staff["admin"])
            assert response.status_code in (200, 400), (path, name, value, response.status_code)
            kind = response.json["resourceType"] if path != "$bulk-publish" or response.status_code == 400 else None
            assert kind in (None, "Bundle", "OperationOutcome"), (path, name, value)
