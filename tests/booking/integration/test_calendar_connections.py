"""Clinicians' own calendars over CalDAV, against a real Radicale server, on SQLite and PostgreSQL.

Events created with the ``caldav`` client library block availability after one sync (recurring
ones across a DST change too); bookings are written into the calendar and removed again; a
calendar server that fails is recorded and availability keeps answering with the last known busy
times; staff rights and bad input get clear answers.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time as wall_time
from datetime import date, datetime, time, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from kapbook_booking.adapters import tables as t
from kapbook_booking.adapters.secret_box import CALDAV_LABEL, SecretBox
from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.app import create_app
from kapbook_platform.staff.principal import StaffPrincipal
from support.clinic import ClinicBuilder, add_test_staff_member, console_sign_in, csrf_of, issue_test_staff_token, patient
from support.waiting import wait_for

pytestmark = pytest.mark.integration
API = "/api/booking/v1"
NEW_YORK = ZoneInfo("America/New_York")
UTC = timezone.utc
ADMIN = StaffPrincipal(staff_id="staff-admin", name="Test admin", role="admin", credential_id="cred-admin")


@pytest.fixture
def service(tmp_path, db, database_factory):
    config = BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test",
                           eligibility_url="http://127.0.0.1:1", caldav_sync_days=400, caldav_timeout=2.0)
    container = bootstrap(config)
    container.migrate()
    yield container
    container.runtime.engine.dispose()


@pytest.fixture
def clinic(service):
    clinic = ClinicBuilder(service.runtime.sessions)
    clinic.consult = clinic.appointment_type("consult", 30, horizon_days=400, slot_step_minutes=30)
    clinic.dr_a = clinic.clinician("Dr A", [clinic.consult])
    return clinic


@pytest.fixture
def client(service):
    return create_app(service).test_client()


def bearer(service, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_test_staff_token(service.runtime.sessions, role)}"}


@pytest.fixture
def admin(service):
    return bearer(service, "admin")


def connect(client, admin, clinic, url, username="alice", password="s3cret-app-password", **extra):
    body = {"url": url, "username": username, "password": password, "timezone": "America/New_York"} | extra
    response = client.post(f"{API}/clinicians/{clinic.dr_a}/calendar-connections", json=body, headers=admin)
    assert response.status_code == 201, response.json
    return response.json


def local_day(days_ahead: int) -> date:
    return datetime.now(NEW_YORK).date() + timedelta(days=days_ahead)


def starts_on(client, day: date) -> set[time]:
    """The local start times offered for the consultation on ``day`` (New York)."""
    response = client.get(f"{API}/availability", query_string={
        "appointment_type": "consult", "start": day.isoformat(), "end": day.isoformat(), "timezone": "America/New_York"})
    assert response.status_code == 200, response.json
    return {datetime.fromisoformat(slot["start"]).astimezone(NEW_YORK).time() for slot in response.json["slots"]}


def next_dst_change(after: date) -> date:
    """The first New York day after ``after`` whose UTC offset differs from the day before's."""
    day = after
    while True:
        day += timedelta(days=1)
        before = datetime.combine(day - timedelta(days=1), time(12), NEW_YORK).utcoffset()
        if datetime.combine(day, time(12), NEW_YORK).utcoffset() != before:
            return day


# --- staff connect a calendar ------------------------------------------------------------------------------


def test_connecting_stores_the_password_sealed_shows_it_never_and_audits_field_names(client, admin, clinic, service):
    created = connect(client, admin, clinic, "https://caldav.example.org/dav/alice/work/", push_bookings=True)
    assert "password" not in created and "password_sealed" not in created
    assert created["push_bookings"] is True and created["active"] is True
    assert created["stale"] is True and created["last_synced_at"] is None  # nothing synced yet
    listed = client.get(f"{API}/clinicians/{clinic.dr_a}/calendar-connections", headers=admin).json
    assert [row["id"] for row in listed] == [created["id"]]
    assert "s3cret" not in str(listed)

    with service.runtime.sessions() as session:
        sealed = session.execute(select(t.calendar_connections.c.password_sealed)).scalar_one()
        audit = session.execute(select(t.PLATFORM_TABLES["audit_log"])).mappings().all()
    assert "s3cret" not in sealed
    assert SecretBox(service.config.secret_key, CALDAV_LABEL).open(sealed) == "s3cret-app-password"
    (entry,) = [row for row in audit if row["action"] == "calendar_connection.created"]
    assert "s3cret" not in str(dict(entry)) and "password_sealed" in entry["detail"]["fields"]


def test_front_desk_reads_but_only_an_admin_or_the_clinician_connects(client, admin, clinic, service):
    desk, clinician = bearer(service, "front_desk"), bearer(service, "clinician")
    body = {"url": "https://caldav.example.org/dav/alice/work/", "username": "alice", "password": "pw"}
    path = f"{API}/clinicians/{clinic.dr_a}/calendar-connections"
    assert client.post(path, json=body, headers=desk).status_code == 403
    # A clinician account linked to no clinician (or another one) may not connect this clinician's calendar.
    refused = client.post(path, json=body, headers=clinician)
    assert refused.status_code == 403 and refused.json["code"] == "not_your_calendar"
    created = connect(client, admin, clinic, body["url"])
    assert client.get(path, headers=desk).json[0]["id"] == created["id"]
    assert client.delete(f"{API}/calendar-connections/{created['id']}", headers=desk).status_code == 403


@pytest.mark.parametrize("body, field", [
    ({"url": "ftp://caldav.example.org/alice/"}, "url"),
    ({"url": "not a url"}, "url"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"password": ""}, "password"),
    ({"push_bookings": "yes please"}, "push_bookings"),
])
def test_bad_input_is_a_422_naming_the_field(client, admin, clinic, body, field):
    full = {"url": "https://caldav.example.org/dav/alice/work/", "username": "alice", "password": "pw"} | body
    response = client.post(f"{API}/clinicians/{clinic.dr_a}/calendar-connections", json=full, headers=admin)
    assert response.status_code == 422, response.json
    assert field in str(response.json["errors"])


def test_the_same_calendar_twice_is_refused_and_an_unknown_clinician_is_a_404(client, admin, clinic):
    connect(client, admin, clinic, "https://caldav.example.org/dav/alice/work/")
    again = client.post(f"{API}/clinicians/{clinic.dr_a}/calendar-connections", headers=admin,
                        json={"url": "https://caldav.example.org/dav/alice/work/", "username": "a", "password": "b"})
    assert again.status_code == 422 and "already connected" in again.json["message"]
    missing = client.post(f"{API}/clinicians/nobody/calendar-connections", headers=admin,
                          json={"url": "https://caldav.example.org/dav/x/", "username": "a", "password": "b"})
    assert missing.status_code == 404


# --- busy times from Radicale block availability --------------------------------------------------------


def test_an_event_made_with_the_caldav_library_blocks_its_hour_after_one_sync(client, admin, clinic, service, radicale):
    url, calendar = radicale.new_calendar("dr-a-busy")
    day = local_day(5)
    radicale.add_event(calendar, datetime.combine(day, time(11), NEW_YORK), datetime.combine(day, time(12), NEW_YORK), "Dentist")
    assert {time(11), time(11, 30)} <= starts_on(client, day)
    connection = connect(client, admin, clinic, url, radicale.username, radicale.password)

    assert service.calendar_sync.sync_due() == 1
    offered = starts_on(client, day)
    assert time(11) not in offered and time(11, 30) not in offered
    assert {time(10, 30), time(12)} <= offered  # touching the event is fine
    synced = client.get(f"{API}/calendar-connections/{connection['id']}", headers=admin).json
    assert synced["last_error"] is None and synced["stale"] is False and synced["busy_count"] == 1
    busy = client.get(f"{API}/calendar-connections/{connection['id']}/busy", headers=admin).json
    assert busy == [{"start": datetime.combine(day, time(11), NEW_YORK).astimezone(UTC).isoformat(),
                     "end": datetime.combine(day, time(12), NEW_YORK).astimezone(UTC).isoformat()}]
    # A booking at that hour is refused too: the slot is no longer free.
    taken = client.post(f"{API}/bookings", json={"appointment_type": "consult", "patient": patient(),
                                                 "start": datetime.combine(day, time(11), NEW_YORK).isoformat()})
    assert taken.status_code == 409, taken.json

    # Nothing is synced inline: a second event appears only after the next sync.
    radicale.add_event(calendar, datetime.combine(day, time(15), NEW_YORK), datetime.combine(day, time(16), NEW_YORK), "School run")
    assert time(15) in starts_on(client, day)
    assert client.post(f"{API}/calendar-connections/{connection['id']}/sync", headers=admin).status_code == 200
    assert time(15) not in starts_on(client, day)

    # Pausing stops the blocking at once; resuming syncs again.
    paused = client.patch(f"{API}/calendar-connections/{connection['id']}", json={"active": False}, headers=admin)
    assert paused.status_code == 200 and paused.json["busy_count"] == 0
    assert time(11) in starts_on(client, day)


def test_a_weekly_event_across_the_dst_change_blocks_the_same_local_hour_on_both_sides(client, admin, clinic, service, radicale):
    # At least 10 days ahead, so the week before the change is never in the past or inside the notice.
    change = next_dst_change(local_day(10))
    week_before, week_after = change - timedelta(days=7), change + timedelta(days=7)
    first = datetime.combine(change - timedelta(days=14), time(9), NEW_YORK)
    url, calendar = radicale.new_calendar("dr-a-weekly")
    calendar.save_event("\r\n".join([
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Test//Weekly//EN",
        "BEGIN:VTIMEZONE", "TZID:America/New_York",
        "BEGIN:DAYLIGHT", "TZOFFSETFROM:-0500", "TZOFFSETTO:-0400", "TZNAME:EDT", "DTSTART:19700308T020000",
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU", "END:DAYLIGHT",
        "BEGIN:STANDARD", "TZOFFSETFROM:-0400", "TZOFFSETTO:-0500", "TZNAME:EST", "DTSTART:19701101T020000",
        "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU", "END:STANDARD", "END:VTIMEZONE",
        "BEGIN:VEVENT", "UID:weekly-supervision@example.org", f"DTSTAMP:{datetime.now(UTC):%Y%m%dT%H%M%SZ}",
        f"DTSTART;TZID=America/New_York:{first:%Y%m%dT%H%M%S}", f"DTEND;TZID=America/New_York:{first + timedelta(hours=1):%Y%m%dT%H%M%S}",
        "RRULE:FREQ=WEEKLY;COUNT=6", "SUMMARY:Supervision", "END:VEVENT", "END:VCALENDAR", ""]))
    connect(client, admin, clinic, url, radicale.username, radicale.password)
    assert service.calendar_sync.sync_due() == 1

    for day in (week_before, week_after):
        offered = starts_on(client, day)
        assert time(9) not in offered and time(9, 30) not in offered, day
        assert {time(8, 30), time(10)} <= offered, day
    with service.runtime.sessions() as session:
        hours_utc = sorted({row.start.astimezone(UTC).hour for row in session.execute(select(t.calendar_busy.c.start))})
    assert len(hours_utc) == 2  # 09:00 New York is a different UTC hour on each side of the change


# --- a failing calendar server ---------------------------------------------------------------------------------


class _BrokenCalDav(BaseHTTPRequestHandler):
    """A calendar server gone wrong; the path says how: /garbage/, /slow/, /huge/ or /redirect/."""

    def do_REPORT(self):  # noqa: N802 - the HTTP method's name
        how = self.path.strip("/").split("/")[0]
        if how == "slow":
            wall_time.sleep(3)  # longer than the service's 2 s timeout
        if how == "redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/elsewhere/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"<html>this is not a multistatus" if how != "huge" else b"<x>" + b"y" * (6 * 1024 * 1024)
        self.send_response(207)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading at its size cap

    def log_message(self, *args):
        pass


@pytest.fixture
def broken_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BrokenCalDav)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def garbage_server(broken_server):
    return f"{broken_server}/garbage/"


def test_a_failing_server_is_recorded_and_availability_keeps_the_last_known_busy_times(
        client, admin, clinic, service, radicale, garbage_server):
    url, calendar = radicale.new_calendar("dr-a-then-broken")
    day = local_day(6)
    radicale.add_event(calendar, datetime.combine(day, time(14), NEW_YORK), datetime.combine(day, time(15), NEW_YORK), "Busy")
    connection = connect(client, admin, clinic, url, radicale.username, radicale.password)
    service.calendar_sync.sync_due()
    assert time(14) not in starts_on(client, day)

    # The calendar moves to a server that answers garbage: the error is recorded, the busy time stays.
    changed = client.patch(f"{API}/calendar-connections/{connection['id']}", json={"url": garbage_server}, headers=admin)
    assert changed.status_code == 200
    answer = client.post(f"{API}/calendar-connections/{connection['id']}/sync", headers=admin)
    assert answer.status_code == 200
    assert answer.json["last_error"] and answer.json["stale"] is True and answer.json["failed_syncs_in_row"] == 1
    assert answer.json["busy_count"] == 1
    assert time(14) not in starts_on(client, day)

    # A wrong password is recorded the same way, in words staff can act on.
    client.patch(f"{API}/calendar-connections/{connection['id']}", json={"url": url, "password": "wrong"}, headers=admin)
    wrong = client.post(f"{API}/calendar-connections/{connection['id']}/sync", headers=admin).json
    assert "password" in wrong["last_error"] and "wrong" not in wrong["last_error"]


# --- bookings written into the calendar --------------------------------------------------------------------------


def events_of(calendar) -> dict[str, object]:
    """UID → the icalendar VEVENT of every event in the calendar."""
    found = {}
    for event in calendar.events():
        for component in event.icalendar_instance.walk("VEVENT"):
            found[str(component["UID"])] = component
    return found


def test_a_booking_is_written_in_moved_and_removed_as_a_kapbook_appointment(client, admin, clinic, service, radicale):
    url, calendar = radicale.new_calendar("dr-a-pushed")
    connect(client, admin, clinic, url, radicale.username, radicale.password, push_bookings=True)
    start = datetime.combine(local_day(4), time(10), NEW_YORK)
    booked = client.post(f"{API}/bookings", json={"appointment_type": "consult", "start": start.isoformat(),
                                                  "patient": patient("robin.private@example.org")})
    assert booked.status_code == 201, booked.json
    uid = f"{booked.json['id']}@kapbook.booking"

    assert service.calendar_pusher.push_due() == 1
    event = events_of(calendar)[uid]
    assert str(event["SUMMARY"]) == "Kapbook appointment"
    assert event["DTSTART"].dt == start and event["DTSTART"].params["TZID"] == "America/New_York"
    written = event.to_ical().decode()
    assert "robin" not in written.lower() and "consult" not in written.lower()
    # The pushed booking is Kapbook's own: a sync does not count it as a second busy time.
    service.calendar_sync.sync_due()
    with service.runtime.sessions() as session:
        assert session.execute(select(t.calendar_busy)).all() == []

    token = booked.json["manage_url"].rsplit("/", 1)[1]
    later = start + timedelta(days=1, hours=2)
    moved = client.post(f"{API}/manage/{token}/reschedule", json={"start": later.isoformat()})
    assert moved.status_code == 200, moved.json
    assert service.calendar_pusher.push_due() == 1
    assert events_of(calendar)[uid]["DTSTART"].dt == later

    assert client.post(f"{API}/manage/{token}/cancel").status_code in {200, 204}
    assert service.calendar_pusher.push_due() == 1
    assert uid not in events_of(calendar)
    assert service.calendar_pusher.push_due() == 0  # nothing left to do, nothing done twice


# --- the worker process ----------------------------------------------------------------------------------


def test_the_worker_process_syncs_a_new_calendar_and_pushes_a_booking_without_being_asked(
        tmp_path, client, admin, clinic, service, radicale):
    url, calendar = radicale.new_calendar("dr-a-worker")
    day = local_day(8)
    radicale.add_event(calendar, datetime.combine(day, time(9), NEW_YORK), datetime.combine(day, time(10), NEW_YORK), "Gym")
    connection = connect(client, admin, clinic, url, radicale.username, radicale.password, push_bookings=True)
    start = datetime.combine(day, time(13), NEW_YORK)
    booked = client.post(f"{API}/bookings", json={"appointment_type": "consult", "start": start.isoformat(), "patient": patient()})
    assert booked.status_code == 201, booked.json

    database_url = service.runtime.engine.url.render_as_string(hide_password=False)
    env = os.environ | {"BOOKING_DATABASE_URL": database_url, "KAPBOOK_VAR_DIR": str(tmp_path), "KAPBOOK_ENV": "test",
                        "BOOKING_CALDAV_INTERVAL": "0.1", "BOOKING_CALDAV_SYNC_DAYS": "30"}
    worker = subprocess.Popen([sys.executable, "-m", "kapbook_booking.entrypoints.cli", "worker", "--no-relay", "--no-consume"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: client.get(f"{API}/calendar-connections/{connection['id']}", headers=admin).json["last_synced_at"],
                 timeout=30)
        wait_for(lambda: f"{booked.json['id']}@kapbook.booking" in events_of(calendar), timeout=30)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=20)
    assert worker.returncode == 0, stderr.decode()[-2000:]
    assert time(9) not in starts_on(client, day)


# --- the console ---------------------------------------------------------------------------------------------


def test_in_the_console_an_admin_connects_a_calendar_syncs_it_and_sees_its_busy_time_and_failures(
        client, clinic, service, radicale, garbage_server):
    url, calendar = radicale.new_calendar("dr-a-console")
    day = local_day(9)
    radicale.add_event(calendar, datetime.combine(day, time(16), NEW_YORK), datetime.combine(day, time(17), NEW_YORK), "Private")
    admin = add_test_staff_member(service.runtime.sessions, "admin")
    assert console_sign_in(client, admin["email"]).status_code == 303
    page = f"/staff/clinicians/{clinic.dr_a}"
    shown = client.get(page).get_data(as_text=True)
    assert "No calendar connected." in shown and "Connect a calendar" in shown

    form = {"csrf_token": csrf_of(client, page), "url": url, "username": radicale.username, "password": radicale.password,
            "timezone": "America/New_York", "push_bookings": "true"}
    connected = client.post(f"{page}/calendars", data=form)
    assert connected.status_code == 303, connected.get_data(as_text=True)[:2000]
    shown = client.get(connected.headers["Location"]).get_data(as_text=True)
    assert "Calendar connected." in shown and "Waiting for the first sync" in shown
    assert radicale.password not in shown
    (connection,) = service.calendars.list_all()

    synced = client.post(f"{page}/calendars/{connection['id']}/sync", data={"csrf_token": csrf_of(client, page)})
    shown = client.get(synced.headers["Location"]).get_data(as_text=True)
    assert "Calendar synced." in shown and ">Synced<" in shown
    week = client.get(f"/staff/calendar?view=day&date={day}&subject={clinic.dr_a}&tz=America/New_York").get_data(as_text=True)
    assert "in their own calendar" in week and "Private" not in week  # when, never what

    service.calendars.update(ADMIN, connection["id"], {"url": garbage_server})
    failed = client.post(f"{page}/calendars/{connection['id']}/sync", data={"csrf_token": csrf_of(client, page)})
    shown = client.get(failed.headers["Location"]).get_data(as_text=True)
    assert "could not be read" in shown and "Sync failing" in shown and "Availability uses the busy times from" in shown

    removed = client.post(f"{page}/calendars/{connection['id']}/remove", data={"csrf_token": csrf_of(client, page)})
    assert "Calendar disconnected." in client.get(removed.headers["Location"]).get_data(as_text=True)
    assert service.calendars.list_all() == []


@pytest.mark.parametrize("how, reason", [
    ("garbage", "not the XML CalDAV expects"),
    ("slow", "did not answer in time"),
    ("huge", "answered more than 5 MB"),
    ("redirect", "redirect"),
])
def test_a_server_that_answers_garbage_times_out_sends_too_much_or_redirects_is_a_recorded_error(
        client, admin, clinic, service, broken_server, how, reason):
    connection = connect(client, admin, clinic, f"{broken_server}/{how}/dav/alice/")
    started = wall_time.monotonic()
    assert service.calendar_sync.sync_due() == 1
    assert wall_time.monotonic() - started < 10
    state = client.get(f"{API}/calendar-connections/{connection['id']}", headers=admin).json
    assert reason in state["last_error"] and state["stale"] is True and state["last_synced_at"] is None
    assert starts_on(client, local_day(3))  # availability answers, unaffected


def test_production_refuses_a_calendar_on_an_internal_address_or_over_plain_http(tmp_path, db, database_factory):
    from kapbook_booking.adapters.secret_box import SecretBox as Box
    from kapbook_booking.adapters.webhook_http import TargetGuard
    from kapbook_booking.service_layer.calendars import CalendarConnections
    from kapbook_booking.service_layer.errors import Invalid

    config = BookingConfig(database_url=database_factory("booking"), var_dir=tmp_path, env="test")
    container = bootstrap(config)
    container.migrate()
    clinic = ClinicBuilder(container.runtime.sessions)
    dr_a = clinic.clinician("Dr A", [clinic.appointment_type("consult", 30)])
    production = CalendarConnections(container.calendars.writes, Box("k" * 32, CALDAV_LABEL), TargetGuard(production=True),
                                     container.calendar_sync, container.clock)
    for url in ("http://caldav.example.org/dav/", "https://10.1.2.3/dav/", "https://127.0.0.1:5232/dav/"):
        with pytest.raises(Invalid) as refused:
            production.create(ADMIN, dr_a, {"url": url, "username": "a", "password": "b"})
        assert refused.value.errors["url"], url
    container.runtime.engine.dispose()
