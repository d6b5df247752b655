"""Real rows for the API fuzzer to aim at.

Generated ids, codes and times almost never name a row that exists, so without help every
operation would answer 404 or 422 and no success response would ever be checked against its
schema. ``create_real_rows`` makes a few rows in each service through its own API; the
``flatmap_case`` hook of each schema then lets hypothesis replace, in a schema-valid case, the
values that refer to rows (path ids, appointment types, times of free slots) with real ones.
Negative cases are left alone: they must stay invalid.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import select

from kapbook_platform.contracts import parse_envelope
from support.screening_answers import eligible_answers

PATIENT_EMAIL = "fuzz.patient@example.org"

# Values the hooks may put in place of generated ones: name -> list, per service.
REAL: dict[str, dict[str, list[Any]]] = {}


def _ok(response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    return response.get_json()


def create_real_rows(services: dict[str, Any]) -> None:
    """A few bookings, holds, schedules, screenings and notifications, made through the services' APIs."""
    booking = services["booking"]
    client, admin = booking.client, booking.staff_headers("admin")
    api = "/api/booking/v1"
    first = date.today() + timedelta(days=2)
    slots = _ok(client.get(f"{api}/availability", query_string={
        "appointment_type": "free-consultation", "start": first.isoformat(),
        "end": (first + timedelta(days=13)).isoformat(), "timezone": "UTC"}))["slots"]
    starts = [slot["start"] for slot in slots]
    assert len(starts) > 60, "the demo clinic offers free consultations"
    apart = starts[::6]  # far enough apart that one booking's buffer leaves the next free
    made = [
        _ok(client.post(f"{api}/bookings", json={
            "appointment_type": "free-consultation", "start": start,
            "patient": {"name": "Fuzz Patient", "email": PATIENT_EMAIL, "timezone": "Europe/Berlin"}}), 201)
        for start in apart[-4:]
    ]
    hold = _ok(client.post(f"{api}/holds", json={"appointment_type": "free-consultation", "start": apart[-5]}), 201)
    clinicians = [row["id"] for row in _ok(client.get(f"{api}/clinicians", headers=admin))]
    time_off = _ok(client.post(f"{api}/clinicians/{clinicians[0]}/time-off", headers=admin, json={
        "start": f"{first + timedelta(days=30)}T09:00:00+00:00", "end": f"{first + timedelta(days=30)}T10:00:00+00:00"}), 201)
    override = _ok(client.post(f"{api}/clinicians/{clinicians[0]}/overrides", headers=admin, json={
        "location_id": _ok(client.get(f"{api}/clinicians/{clinicians[0]}", headers=admin))["location_ids"][0],
        "date": (first + timedelta(days=31)).isoformat()}), 201)
    feed = _ok(client.get(f"{api}/clinicians/{clinicians[0]}/calendar-feed", headers=admin))["url"]
    REAL["booking"] = {
        "clinician_id": clinicians,
        "location_id": [row["id"] for row in _ok(client.get(f"{api}/locations", headers=admin))],
        "room_id": [row["id"] for row in _ok(client.get(f"{api}/rooms", headers=admin))],
        "type_id": [row["id"] for row in _ok(client.get(f"{api}/appointment-types", headers=admin))],
        "appointment_type": ["free-consultation", "medical-evaluation"],
        "hours_id": [row["id"] for row in _ok(client.get(f"{api}/clinicians/{clinicians[0]}/working-hours", headers=admin))],
        "time_off_id": [time_off["id"]],
        "override_id": [override["id"]],
        "booking_id": [row["id"] for row in made],
        "hold_id": [hold["id"]],
        "token": [row["manage_url"].rsplit("/", 1)[1] for row in made]
        + [feed.rsplit("/", 1)[1].removesuffix(".ics")],  # the .ics route names its token "token" too
        "slot_start": apart[:-5],
        "day": [(first + timedelta(days=offset)).isoformat() for offset in range(7)],
    }

    eligibility = services["eligibility"]
    screenings = "/api/eligibility/v1/screenings"
    patient = {"name": "Fuzz Patient", "email": PATIENT_EMAIL}
    decided = _ok(eligibility.client.post(screenings, json={"patient": patient, "answers": eligible_answers()}), 201)
    review = _ok(eligibility.client.post(screenings, json={"patient": patient, "answers": eligible_answers(hypertension=True)}), 201)
    assert review["outcome"] == "needs_review", review["outcome"]
    REAL["eligibility"] = {"screening_id": [decided["id"], review["id"]], "answers": [eligible_answers()]}

    reminders = services["reminders"]
    outbox = booking.container.runtime.tables["outbox"]
    with booking.container.runtime.engine.connect() as connection:
        envelopes = [parse_envelope(row.envelope) for row in connection.execute(select(outbox.c.envelope))]
    handlers = reminders.container.handlers
    for envelope in envelopes:
        if envelope.type in handlers:
            with reminders.container.runtime.sessions.begin() as session:
                handlers[envelope.type](session, envelope)
    notifications = _ok(reminders.client.get("/api/reminders/v1/notifications", headers=reminders.staff_headers("admin")))
    assert notifications, "the bookings planned emails"
    REAL["reminders"] = {
        "message_id": [row["id"] for row in notifications],
        "booking_id": REAL["booking"]["booking_id"],
        "recipient": [PATIENT_EMAIL],
    }


def _steer_booking(case, rnd: random.Random) -> None:
    real = REAL["booking"]
    path, method = case.operation.path, case.operation.method.upper()
    for name in case.path_parameters or {}:
        if name in real:
            case.path_parameters[name] = rnd.choice(real[name])
    query = case.query if isinstance(case.query, dict) else {}
    for name in ("appointment_type", "clinician_id", "location_id", "room_id"):
        if name in query and query[name] is not None:
            query[name] = rnd.choice(real[name])
    if path.endswith("/availability"):
        query["start"] = rnd.choice(real["day"])
        query["end"] = query["start"]
    if path.endswith("/calendar"):
        query["date"] = rnd.choice(real["day"])
        query.pop(rnd.choice(["clinician_id", "room_id"]), None)
        if "clinician_id" not in query and "room_id" not in query:
            query["clinician_id"] = rnd.choice(real["clinician_id"])
    body = case.body if isinstance(case.body, dict) else {}
    if "appointment_type" in body:
        body["appointment_type"] = rnd.choice(real["appointment_type"])
    if "location_id" in body:
        body["location_id"] = rnd.choice(real["location_id"])
    if method == "POST" and "start" in body and ("/holds" in path or "/bookings" in path or "/reschedule" in path):
        body["start"] = rnd.choice(real["slot_start"])
        for reference in ("clinician_id", "hold_id", "screening_id"):
            if reference in body:
                body[reference] = None


def _steer_eligibility(case, rnd: random.Random) -> None:
    real = REAL["eligibility"]
    for name in case.path_parameters or {}:
        if name in real:
            case.path_parameters[name] = rnd.choice(real[name])
    if isinstance(case.body, dict) and "answers" in case.body:
        case.body["answers"] = dict(rnd.choice(real["answers"]))


def _steer_reminders(case, rnd: random.Random) -> None:
    real = REAL["reminders"]
    for name in case.path_parameters or {}:
        if name in real:
            case.path_parameters[name] = rnd.choice(real[name])
    query = case.query if isinstance(case.query, dict) else {}
    for name in ("booking_id", "recipient"):
        if name in query:
            query[name] = rnd.choice(real[name])


STEERS: dict[str, Callable] = {"booking": _steer_booking, "eligibility": _steer_eligibility, "reminders": _steer_reminders}


def aim_at_real_rows(schema, service_name: str) -> None:
    """Register the schema's hook: a schema-valid case may have its references replaced by real ones."""
    steer = STEERS[service_name]

    def flatmap_case(context, case):
        if case.meta is None or not case.meta.generation.mode.is_positive or service_name not in REAL:
            return st.just(case)

        def aimed(rnd: random.Random):
            steer(case, rnd)
            return case

        return st.one_of(st.just(case), st.randoms(use_true_random=False).map(aimed))

    schema.hook(flatmap_case)
