"""Treatment series over HTTP: protocols, proposals, all-or-nothing booking, idempotency, manage
link, cancel remaining, reschedule re-checked against the protocol, staff override."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from kapbook_booking.adapters import tables as t
from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.app import create_app
from kapbook_platform.contracts.envelope import parse_envelope
from support.clock import TravellingClock
from support.series import infusion_clinic, next_monday_at, series_body

API = "/api/booking/v1"


@pytest.fixture
def clock():
    return TravellingClock()


@pytest.fixture
def service(tmp_path, db, database_factory, clock):
    container = bootstrap(BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test",
                                        eligibility_url="http://127.0.0.1:1"), clock=clock)
    container.migrate()
    yield container
    container.runtime.engine.dispose()


@pytest.fixture
def clinic(service):
    return infusion_clinic(service.runtime.sessions)


@pytest.fixture
def client(service):
    return create_app(service).test_client()


@pytest.fixture
def monday(clinic):
    return next_monday_at(clinic.zone, 10)


def propose(client, start, protocol="iv-6", **extra):
    return client.get(f"{API}/series/proposals", query_string={"protocol": protocol, "start": start.isoformat(),
                                                                "timezone": "America/New_York", **extra})


def plan_starts(proposal) -> list[datetime]:
    return [datetime.fromisoformat(s["start"]) for s in proposal.json["sessions"]]


def count(service, table, *where) -> int:
    with service.runtime.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def outbox(service) -> list:
    table = service.runtime.tables["outbox"]
    with service.runtime.engine.connect() as connection:
        rows = connection.execute(select(table.c.envelope).order_by(table.c.created_at, table.c.id)).scalars().all()
    return [parse_envelope(row) for row in rows]


def book_in_chair(service, clinic, start, clinician, room):
    """A single booking written straight into the table (another patient's)."""
    from support.clinic import new_id
    with service.runtime.sessions.begin() as session:
        session.execute(t.bookings.insert().values(
            id=new_id(), appointment_type_id=clinic.infusion, clinician_id=clinician, location_id=clinic.location_id,
            room_id=room, start=start, end=start + timedelta(minutes=50), blocked_start=start,
            blocked_end=start + timedelta(minutes=80), status="booked", sequence=0, driver_confirmed=False,
            created_by="patient", created_at=datetime.now().astimezone(), updated_at=datetime.now().astimezone()))


def test_protocols_are_public_and_written_by_admins_with_an_audit_row(client, clinic, service, staff):
    listed = client.get(f"{API}/protocols")
    assert listed.status_code == 200
    assert [p["code"] for p in listed.json] == ["iv-6"]
    assert listed.json[0]["appointment_type"] == "infusion" and listed.json[0]["max_per_week"] == 3
    body = {"code": "iv-4", "name": "Short IV", "appointment_type": "infusion", "sessions": 4, "max_window_days": 14}
    assert client.post(f"{API}/protocols", json=body).status_code == 401
    assert client.post(f"{API}/protocols", json=body, headers=staff["front_desk"]).status_code == 403
    created = client.post(f"{API}/protocols", json=body, headers=staff["admin"])
    assert created.status_code == 201, created.json
    assert created.json["min_gap_hours"] == 24
    changed = client.patch(f"{API}/protocols/{created.json['id']}", json={"max_per_week": 2}, headers=staff["admin"])
    assert changed.status_code == 200 and changed.json["max_per_week"] == 2
    unknown = client.post(f"{API}/protocols", json=body | {"code": "x", "appointment_type": "nope"}, headers=staff["admin"])
    assert unknown.status_code == 422 and "appointment_type" in unknown.json["errors"]
    cramped = client.post(f"{API}/protocols", json=body | {"code": "y", "sessions": 20}, headers=staff["admin"])
    assert cramped.status_code == 422 and "sessions" in cramped.json["errors"], "20 sessions cannot fit in 14 days"
    taken = client.post(f"{API}/protocols", json=body, headers=staff["admin"])
    assert taken.status_code == 409 and taken.json["code"] == "code_taken"
    audit = service.runtime.tables["audit_log"]
    assert count(service, audit, audit.c.action.in_(["protocol.created", "protocol.updated"])) == 2
    assert [p["code"] for p in client.get(f"{API}/protocols", query_string={"appointment_type": "infusion"}).json] == ["iv-4", "iv-6"]


def test_a_proposal_keeps_the_time_clinician_and_chair_and_the_weekly_limit(client, clinic, monday):
    proposal = propose(client, monday)
    assert proposal.status_code == 200, proposal.json
    starts = plan_starts(proposal)
    assert [s.weekday() for s in starts] == [0, 1, 2, 0, 1, 2], "three a week, the earliest days, a day apart"
    assert {s.astimezone(monday.tzinfo).time() for s in starts} == {monday.time()}
    assert len({(s["clinician_id"], s["room_id"]) for s in proposal.json["sessions"]}) == 1
    assert proposal.json["changes"] == 0 and proposal.json["protocol"]["code"] == "iv-6"
    assert {s["integration_by"] for s in proposal.json["sessions"]} == {None}, "this protocol offers no integration"


def test_a_protocol_with_integration_says_by_when_after_each_dose(client, clinic, monday):
    from support.series import add_protocol

    protocol_id = add_protocol(clinic, "kap-3", clinic.infusion, 3, min_gap_hours=24 * 6, max_per_week=1)
    with clinic.sessions.begin() as session:
        session.execute(t.protocols.update().where(t.protocols.c.id == protocol_id).values(integration_within_days=3))
    sessions = propose(client, monday, protocol="kap-3").json["sessions"]
    assert [datetime.fromisoformat(s["integration_by"]) - datetime.fromisoformat(s["end"]) for s in sessions] == [
        timedelta(days=3)] * 3


def test_a_proposal_changes_the_chair_rather_than_the_day_when_its_chair_is_taken(client, clinic, monday, service):
    first = propose(client, monday).json["sessions"]
    # Chair 1 is taken on Wednesday, chair 2 on Tuesday: no chair is free all week.
    book_in_chair(service, clinic, datetime.fromisoformat(first[2]["start"]), clinic.nurse_b, clinic.chair_1)
    book_in_chair(service, clinic, datetime.fromisoformat(first[1]["start"]), clinic.nurse_b, clinic.chair_2)
    again = propose(client, monday, clinician_id=clinic.nurse_a).json
    assert [s["start"] for s in again["sessions"]] == [s["start"] for s in first], "the same earliest days"
    assert again["changes"] == 1 and sum(s["changes"] == ["room"] for s in again["sessions"]) == 1
    assert {s["clinician_id"] for s in again["sessions"]} == {clinic.nurse_a}


def test_proposal_refusals_unknown_protocol_start_outside_horizon_and_no_plan(client, clinic, monday, clock):
    unknown = propose(client, monday, protocol="nope")
    assert unknown.status_code == 422 and unknown.json["code"] == "unknown_protocol" and "protocol" in unknown.json["errors"]
    far = propose(client, clock.now + timedelta(days=200))
    assert far.status_code == 422 and "start" in far.json["errors"]
    closed = propose(client, monday.replace(hour=21))  # after hours
    assert closed.status_code == 409 and closed.json["code"] == "series_unavailable"
    assert list(closed.json["errors"]["sessions"]) == ["1"]


def test_booking_a_series_creates_every_session_and_its_events(client, clinic, monday, service):
    starts = plan_starts(propose(client, monday))
    booked = client.post(f"{API}/series", json=series_body(starts))
    assert booked.status_code == 201, booked.json
    assert booked.json["status"] == "booked" and len(booked.json["sessions"]) == 6
    refs = [s["series"] for s in booked.json["sessions"]]
    assert [r["position"] for r in refs] == [1, 2, 3, 4, 5, 6]
    assert {(r["series_id"], r["size"], r["protocol_name"]) for r in refs} == {(booked.json["id"], 6, "IV induction")}
    events = outbox(service)
    assert [e.type for e in events] == ["kapbook.booking.created.v1"] * 6 + ["kapbook.series.booked.v1"]
    assert all(e.data["series"]["series_id"] == booked.json["id"] for e in events[:6])
    assert [s["booking_id"] for s in events[-1].data["sessions"]] == [s["id"] for s in booked.json["sessions"]]
    assert count(service, t.series) == 1


def test_one_taken_chair_refuses_the_whole_series_and_nothing_is_created(client, clinic, monday, service):
    starts = plan_starts(propose(client, monday, clinician_id=clinic.nurse_a))
    book_in_chair(service, clinic, starts[4], clinic.nurse_b, clinic.chair_1)
    book_in_chair(service, clinic, starts[4], clinic.nurse_a, clinic.chair_2)  # the nurse and the other chair too
    before = count(service, t.bookings)
    refused = client.post(f"{API}/series", json=series_body(starts))
    assert refused.status_code == 409 and refused.json["code"] == "series_unavailable"
    assert list(refused.json["errors"]["sessions"]) == ["5"]
    assert count(service, t.bookings) == before, "no session of the refused series exists"
    assert count(service, t.bookings, t.bookings.c.series_id.is_not(None)) == 0
    assert count(service, t.series) == 0 and outbox(service) == []


def test_a_plan_breaking_a_rule_is_422_quoting_the_rule(client, clinic, monday, service):
    starts = plan_starts(propose(client, monday))
    crowded = starts[:3] + [starts[2] + timedelta(days=1)] + starts[4:]  # a fourth session in week 1
    refused = client.post(f"{API}/series", json=series_body(crowded))
    assert refused.status_code == 422 and refused.json["code"] == "protocol_rule_broken"
    assert "at most 3 sessions per calendar week" in refused.json["message"]
    assert "4" in refused.json["errors"]["sessions"]
    unordered = client.post(f"{API}/series", json=series_body([starts[1], starts[0], *starts[2:]]))
    assert unordered.status_code == 422 and list(unordered.json["errors"]["sessions"]) == ["2"]
    short = client.post(f"{API}/series", json=series_body(starts[:5]))
    assert short.status_code == 422 and "has 6 sessions" in short.json["message"]
    assert count(service, t.bookings) == 0


def test_the_same_idempotency_key_replays_the_series(client, clinic, monday, service):
    starts = plan_starts(propose(client, monday))
    first = client.post(f"{API}/series", json=series_body(starts), headers={"Idempotency-Key": "s-1"})
    again = client.post(f"{API}/series", json=series_body(starts), headers={"Idempotency-Key": "s-1"})
    other = client.post(f"{API}/series", json=series_body(starts, email="x@example.org"), headers={"Idempotency-Key": "s-1"})
    assert first.status_code == 201 and again.status_code == 201 and again.json["id"] == first.json["id"]
    assert other.status_code == 422 and other.json["code"] == "idempotency_key_reused"
    assert count(service, t.series) == 1 and count(service, t.bookings) == 6


def token_of(view) -> str:
    return view["manage_url"].rsplit("/", 1)[1]


def test_the_manage_link_shows_the_series_and_cancels_the_remaining_sessions(client, clinic, monday, service, clock):
    single = client.post(f"{API}/bookings", json={"appointment_type": "infusion", "start": (monday - timedelta(hours=2)).isoformat(),
                                                  "patient": series_body([])["patient"]})
    assert single.status_code == 201 and single.json["series"] is None
    assert client.get(f"{API}/manage/{token_of(single.json)}/series").status_code == 404, "a booking alone has no series"
    booked = client.post(f"{API}/series", json=series_body(plan_starts(propose(client, monday)))).json
    token = token_of(booked["sessions"][3])
    shown = client.get(f"{API}/manage/{token}/series")
    assert shown.status_code == 200 and shown.json["id"] == booked["id"]
    # After session 2 is over: 1 and 2 are past and stay; 3 starts within the 24 h policy and stays.
    clock.now = datetime.fromisoformat(booked["sessions"][2]["start"]) - timedelta(hours=3)
    cancelled = client.post(f"{API}/manage/{token}/series/cancel-remaining")
    assert cancelled.status_code == 200, cancelled.json
    assert [s["status"] for s in cancelled.json["sessions"]] == ["booked"] * 3 + ["cancelled"] * 3
    assert cancelled.json["status"] == "partly_cancelled"
    events = outbox(service)[8:]
    assert [e.type for e in events] == ["kapbook.booking.cancelled.v1"] * 3 + ["kapbook.series.cancelled.v1"]
    assert all(e.data["series"]["series_id"] == booked["id"] for e in events[:3])
    assert events[-1].data["cancelled_booking_ids"] == [s["id"] for s in booked["sessions"][3:]]
    again = client.post(f"{API}/manage/{token_of(booked['sessions'][2])}/series/cancel-remaining")
    assert again.status_code == 409 and again.json["code"] == "outside_policy_window", "only session 3 is left, too close"
    assert "24 hours" in again.json["message"]
    with service.runtime.engine.connect() as connection:
        assert connection.execute(select(t.series.c.status)).scalar_one() == "partly_cancelled"


def test_cancelling_one_session_by_its_link_leaves_the_series_partly_cancelled(client, clinic, monday, service):
    booked = client.post(f"{API}/series", json=series_body(plan_starts(propose(client, monday)))).json
    assert client.post(f"{API}/manage/{token_of(booked['sessions'][5])}/cancel").status_code == 200
    shown = client.get(f"{API}/manage/{token_of(booked['sessions'][0])}/series").json
    assert shown["status"] == "partly_cancelled" and shown["sessions"][5]["status"] == "cancelled"
    with service.runtime.engine.connect() as connection:
        assert connection.execute(select(t.series.c.status)).scalar_one() == "partly_cancelled"
    event = outbox(service)[-1]
    assert event.type == "kapbook.booking.cancelled.v1" and event.data["series"]["position"] == 6


def test_rescheduling_one_session_rechecks_the_protocol_and_quotes_the_rule(client, clinic, monday, service):
    booked = client.post(f"{API}/series", json=series_body(plan_starts(propose(client, monday)))).json
    third = booked["sessions"][2]
    too_close = datetime.fromisoformat(booked["sessions"][1]["start"]) + timedelta(hours=4)
    refused = client.post(f"{API}/manage/{token_of(third)}/reschedule", json={"start": too_close.isoformat()})
    assert refused.status_code == 422 and refused.json["code"] == "protocol_rule_broken"
    assert "need at least 24 hours between them" in refused.json["message"]
    later = datetime.fromisoformat(third["start"]) + timedelta(hours=2)
    moved = client.post(f"{API}/manage/{token_of(third)}/reschedule", json={"start": later.isoformat()})
    assert moved.status_code == 200, moved.json
    assert moved.json["series"]["position"] == 3
    event = outbox(service)[-1]
    assert event.type == "kapbook.booking.rescheduled.v1" and event.data["series"]["position"] == 3


def test_staff_override_books_against_the_rules_audited_and_cancels_with_a_reason(client, clinic, monday, service, staff):
    starts = [monday + timedelta(days=i) for i in range(6)]  # six days in a row: breaks 3 a week
    body = series_body(starts, override_reason="clinician asked for daily sessions")
    assert client.post(f"{API}/series", json=body).status_code == 403, "an override needs a staff token"
    booked = client.post(f"{API}/series", json=body, headers=staff["front_desk"])
    assert booked.status_code == 201, booked.json
    audit = service.runtime.tables["audit_log"]
    with service.runtime.engine.connect() as connection:
        row = connection.execute(select(audit).where(audit.c.action == "series.override")).mappings().one()
    assert row["detail"] == {"reason": "clinician asked for daily sessions"}
    read = client.get(f"{API}/series/{booked.json['id']}", headers=staff["clinician"])
    assert read.status_code == 200 and len(read.json["sessions"]) == 6
    assert client.get(f"{API}/series/{booked.json['id']}").status_code == 401
    done = client.post(f"{API}/series/{booked.json['id']}/cancel-remaining", json={"reason": "patient moved away"},
                       headers=staff["front_desk"])
    assert done.status_code == 200 and done.json["status"] == "cancelled"


def test_a_proposal_reads_the_same_few_queries_whatever_the_clinics_size(client, clinic, monday, service):
    from sqlalchemy import event

    statements: list[str] = []

    def counted() -> int:
        statements.clear()
        listener = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
        event.listen(service.runtime.engine, "before_cursor_execute", listener)
        try:
            assert propose(client, monday).status_code == 200
        finally:
            event.remove(service.runtime.engine, "before_cursor_execute", listener)
        return len(statements)

    small = counted()
    for i in range(6):
        nurse = clinic.clinician(f"Nurse {i + 3}", [clinic.infusion])
        book_in_chair(service, clinic, monday + timedelta(days=i, hours=2), nurse, clinic.chair_2)
    clinic.room("chair", "Chair 3")
    assert counted() == small <= 12, statements


def test_a_protocol_that_needs_preparation_refuses_a_series_without_one_quoting_the_rule(client, clinic, monday, service):
    from support.series import add_protocol

    prep = clinic.appointment_type("prep", 50, category="preparation")
    clinic.clinician("Therapist", [prep])
    add_protocol(clinic, "iv-prep", clinic.infusion, 6, requires_preparation=True, name="IV induction")
    starts = plan_starts(propose(client, monday, protocol="iv-prep"))
    refused = client.post(f"{API}/series", json=series_body(starts, protocol="iv-prep", email="Pat@Example.org"))
    assert refused.status_code == 422 and refused.json["code"] == "protocol_rule_broken"
    assert "needs a preparation session booked before the first dosing session" in refused.json["message"]
    assert list(refused.json["errors"]["sessions"]) == ["1"]
    before = monday - timedelta(days=1)
    prepared = client.post(f"{API}/bookings", json={"appointment_type": "prep", "start": before.isoformat(),
                                                    "patient": series_body([])["patient"]})
    assert prepared.status_code == 201
    booked = client.post(f"{API}/series", json=series_body(starts, protocol="iv-prep", email="Pat@Example.org"))
    assert booked.status_code == 201, booked.json
    with service.runtime.engine.connect() as connection:
        assert connection.execute(select(t.series.c.patient_email)).scalar_one() == "pat@example.org"
