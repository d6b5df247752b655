"""Names and addresses that reach an email header, subject or invite carry no control characters.

A CR/LF in a patient's name would split the confirmation's headers and the send fails silently;
NUL and DEL are refused with it. One check (kapbook_platform.contracts.schemas.no_control_characters)
guards the patient in a booking request and a screening, the staff catalogue's names and the
create-staff command, and answers 422 naming the field. Names with accents and apostrophes pass.
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from kapbook_booking.entrypoints.cli import cli as booking_cli

pytestmark = pytest.mark.integration

API = "/api/booking/v1"
CONTROLS = {"CR": "\r", "LF": "\n", "CRLF": "\r\n", "NUL": "\x00", "DEL": "\x7f", "TAB": "\t", "ESC": "\x1b"}


@pytest.fixture(scope="module")
def booking(tmp_path_factory):
    from security_services import build_service

    service = build_service("booking", tmp_path_factory.mktemp("control-characters"))
    yield service
    service.close()


@pytest.fixture(scope="module")
def slots(booking) -> list[dict]:
    first = date.today() + timedelta(days=3)
    return booking.client.get(f"{API}/availability", query_string={
        "appointment_type": "free-consultation", "start": first.isoformat(),
        "end": (first + timedelta(days=7)).isoformat(), "timezone": "UTC"}).json["slots"]


def book(booking, slot: dict, **patient):
    body = {"name": "Ana Example", "email": "ana@example.org", "timezone": "Europe/Berlin"} | patient
    return booking.client.post(f"{API}/bookings", json={
        "appointment_type": "free-consultation", "start": slot["start"], "patient": body})


def refused_naming(response, *path: str) -> None:
    assert response.status_code == 422, (response.status_code, response.json)
    assert response.json["code"] == "validation_error"
    errors = response.json["errors"]
    for key in path:
        assert key in errors, (path, response.json)
        errors = errors[key]
    assert "control characters" in " ".join(errors), errors


@pytest.mark.parametrize("control", CONTROLS.values(), ids=CONTROLS.keys())
def test_a_control_character_in_a_patient_name_is_422_naming_the_field(booking, slots, control):
    refused_naming(book(booking, slots[0], name=f"Ana{control}Bcc: victim@example.org"), "patient", "name")


@pytest.mark.parametrize("field, value", [
    ("email", "ana@example.org\r\nBcc: victim@example.org"),
    ("email", "ana@example.org\n"),
    ("phone", "+49 30 5550199\n"),
    ("phone", "+49 30\x00 5550199"),
])
def test_a_control_character_in_the_patients_email_or_phone_is_422(booking, slots, field, value):
    response = book(booking, slots[0], **{field: value})
    assert response.status_code == 422, (response.status_code, response.json)
    assert field in response.json["errors"]["patient"], response.json


def test_a_name_with_accents_and_apostrophes_still_books(booking, slots):
    response = book(booking, slots[-1], name="Zoë O'Brien-Núñez d’Arcy", email="zoe@example.org")
    assert response.status_code == 201, response.json
    assert response.json["patient"]["name"] == "Zoë O'Brien-Núñez d’Arcy"


def test_staff_entered_names_refuse_control_characters(booking):
    admin = booking.staff_headers("admin")
    client = booking.client
    location = client.get(f"{API}/locations", headers=admin).json[0]
    bad = "Main\r\nBcc: victim@example.org"
    for path, body in [
        ("/locations", {"name": bad, "timezone": "UTC"}),
        ("/rooms", {"location_id": location["id"], "name": bad, "kind": "infusion_chair"}),
        ("/appointment-types", {"code": "bad-name", "name": bad, "category": "consultation",
                                "duration_minutes": 30, "modality": "in_person"}),
        ("/clinicians", {"name": bad, "role": "prescriber"}),
    ]:
        refused_naming(client.post(f"{API}{path}", json=body, headers=admin), "name")
    refused_naming(client.patch(f"{API}/locations/{location['id']}", json={"name": "Main\x00"}, headers=admin), "name")
    good = client.post(f"{API}/locations", json={"name": "Cabinet d'Aurélie", "timezone": "Europe/Paris"}, headers=admin)
    assert good.status_code == 201, good.json


def test_create_staff_refuses_a_control_character_in_the_name_or_email():
    runner = CliRunner()
    for options in (["--name", "Eve\r\nBcc: victim@example.org", "--email", "eve@example.org"],
                    ["--name", "Eve", "--email", "eve@example.org\n"]):
        result = runner.invoke(booking_cli, ["create-staff", *options, "--role", "admin"])
        assert result.exit_code == 2, result.output
        assert "control characters" in result.output


def test_a_control_character_in_a_screening_patient_name_is_422(service_factory):
    eligibility = service_factory("eligibility")
    response = eligibility.client.post("/api/eligibility/v1/screenings", json={
        "patient": {"name": "Ana\r\nExample", "email": "ana@example.org"}, "answers": {}})
    refused_naming(response, "patient", "name")
