"""The director's report (issue 13 §3): exact figures for a hand-computed clinic, over two weeks in
New York that cross the change to summer time (Sunday 8 March 2026, 02:00 -> 03:00), through the
API, the console page and the CSV; admins only.

The clinic (one location, America/New_York), range Mon 2 - Sun 15 March 2026:

* Able, consultations: Mon-Fri 09:00-17:00; time off Wed 4 March 13:00-17:00; Fri 13 March closed
  (an override). Week 1: 5 x 8 - 4 = 36 h; week 2: 4 x 8 = 32 h. Total 68 h.
* Bo, infusions in Chair 1: Sundays 01:00-05:00, and an override adding Sat 14 March 10:00-12:00.
  Sun 8 March has 3 real hours (the clock skips 02:00-03:00); Sun 15 March 4 h; Sat 14 March 2 h.
  Week 1: 3 h; week 2: 6 h. Total 9 h.
* Cy, KAP dosing (Dosing room) and integration: Mon and Wed 13:00-19:00; Mon 9 March overridden to
  14:00-16:00. Week 1: 12 h; week 2: 6 + 2 = 8 h. Total 20 h.
Clinic: 97 h available (51 + 46).
"""
from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from kapbook_booking.adapters import tables as t
from kapbook_booking.domain.reporting import ReportRange
from kapbook_booking.service_layer.director_report import DirectorReports, ReportQuery
from kapbook_platform.staff.principal import ROLES

pytestmark = pytest.mark.integration
NY = ZoneInfo("America/New_York")
API = "/api/booking/v1/reports/director"
RANGE = {"from": "2026-03-02", "until": "2026-03-15", "timezone": "America/New_York"}


def local(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NY)


class Clinic:
    def __init__(self, service) -> None:
        self.sessions = service.runtime.sessions
        self.location = self._insert(t.locations, name="Test Clinic", timezone="America/New_York")
        self.chair = self._insert(t.rooms, location_id=self.location, name="Chair 1", kind="infusion_chair", active=True)
        self.dosing_room = self._insert(t.rooms, location_id=self.location, name="Dosing room", kind="dosing_room", active=True)
        self.consultation = self._type("consultation", "consultation", 24)
        self.infusion = self._type("iv-infusion", "dosing_iv", 48)
        self.kap = self._type("kap-dosing", "dosing_im", 48)
        self.integration = self._type("integration", "integration", 24)
        self.protocol = self._insert(t.protocols, code="kap-course", name="KAP course", appointment_type_id=self.kap,
                                     sessions=2, min_gap_hours=0, max_window_days=21, requires_preparation=False, active=True)
        self.able = self._clinician("Able", [(day, time(9), time(17)) for day in range(5)])
        self.bo = self._clinician("Bo", [(6, time(1), time(5))])
        self.cy = self._clinician("Cy", [(0, time(13), time(19)), (2, time(13), time(19))])
        with self.sessions.begin() as session:
            session.execute(t.time_off.insert().values(id=str(uuid.uuid4()), clinician_id=self.able, start=local(4, 13),
                                                       end=local(4, 17), reason="Training"))
            for clinician, day, start, end in ((self.able, 13, None, None), (self.bo, 14, time(10), time(12)),
                                               (self.cy, 9, time(14), time(16))):
                session.execute(t.schedule_overrides.insert().values(
                    id=str(uuid.uuid4()), clinician_id=clinician, location_id=self.location, date=date(2026, 3, day),
                    start_time=start, end_time=end))
        # An inactive clinician with no bookings is left out of the report.
        self._insert(t.clinicians, name="Gone", role="nurse", active=False)

    def _insert(self, table, **values) -> str:
        row_id = str(uuid.uuid4())
        with self.sessions.begin() as session:
            session.execute(table.insert().values(id=row_id, **values))
        return row_id

    def _type(self, code: str, category: str, cancel_notice_hours: int) -> str:
        return self._insert(t.appointment_types, code=code, name=code.title(), category=category, duration_minutes=60,
                            buffer_before_minutes=0, buffer_after_minutes=15, min_notice_minutes=60, horizon_days=90,
                            slot_step_minutes=15, modality="in_person", room_kind=None, requires_eligibility=False,
                            requires_driver=False, cancel_notice_hours=cancel_notice_hours, reschedule_notice_hours=24,
                            active=True)

    def _clinician(self, name: str, hours: list[tuple[int, time, time]]) -> str:
        clinician = self._insert(t.clinicians, name=name, role="prescriber", active=True)
        with self.sessions.begin() as session:
            session.execute(t.working_hours.insert(), [
                {"id": str(uuid.uuid4()), "clinician_id": clinician, "location_id": self.location, "weekday": weekday,
                 "start_time": start, "end_time": end} for weekday, start, end in hours])
        return clinician

    def series(self, patient: str, size: int = 2) -> str:
        return self._insert(t.series, protocol_id=self.protocol, patient_email=patient, status="booked", size=size,
                            created_by="test", created_at=local(1, 9, month=2))

    def book(self, clinician: str, type_id: str, start: datetime, minutes: int, status: str, patient: str,
             room: str | None = None, cancelled_at: datetime | None = None, series: tuple[str, int] | None = None) -> None:
        end = start + timedelta(minutes=minutes)
        self._insert(t.bookings, appointment_type_id=type_id, clinician_id=clinician, location_id=self.location,
                     room_id=room, start=start, end=end, blocked_start=start, blocked_end=end + timedelta(minutes=15),
                     status=status, sequence=0, hold_expires_at=None, patient_name="Pat", patient_email=patient,
                     driver_confirmed=True, created_by="test", created_at=local(1, 9, month=2),
                     updated_at=cancelled_at or start, series_id=series[0] if series else None,
                     series_position=series[1] if series else None)

    def waiting(self, patient: str, type_id: str) -> str:
        return self._insert(t.waitlist_entries, appointment_type_id=type_id, patient_name="Wai", patient_email=patient,
                            patient_timezone="America/New_York", windows=[], status="waiting",
                            leave_token_sha256=uuid.uuid4().hex, created_by="patient", joined_at=local(1, 9, month=2),
                            expires_at=local(1, 9, month=5), updated_at=local(1, 9, month=2))

    def offer(self, entry: str, clinician: str, start: datetime, status: str) -> None:
        self._insert(t.waitlist_offers, entry_id=entry, hold_id=str(uuid.uuid4()), clinician_id=clinician,
                     location_id=self.location, start=start, end=start + timedelta(hours=1), status=status,
                     token_sha256=uuid.uuid4().hex, offered_by="waitlist", created_at=start - timedelta(days=1),
                     expires_at=start - timedelta(hours=23))


@pytest.fixture
def clinic(service) -> Clinic:
    """The bookings, with what each adds (booked hours count no-shows; cancelled ones none)."""
    c = Clinic(service)
    p1, p2, p3, p5 = "p1@example.org", "P2@Example.org", "p3@example.org", "p5@example.org"
    s1, s2, s3 = c.series("p2@example.org"), c.series(p1), c.series(p5)
    # Before the range: counted in no figure of it, but p2's and p5's consultations.
    c.book(c.able, c.consultation, local(20, 10, month=2), 60, "fulfilled", p2)
    c.book(c.able, c.consultation, local(25, 13, month=2), 60, "fulfilled", p5)
    # Able: 3.5 booked hours, 5 appointments, 1 no-show of 3 kept, 2 cancellations (1 late: 1 h before, policy 24 h).
    c.book(c.able, c.consultation, local(2, 9), 60, "fulfilled", p1)
    c.book(c.able, c.consultation, local(2, 10), 60, "noshow", p2)
    c.book(c.able, c.consultation, local(3, 9), 60, "cancelled", p3, cancelled_at=local(3, 8))
    c.book(c.able, c.consultation, local(3, 11), 60, "cancelled", p3, cancelled_at=local(27, 9, month=2))
    c.book(c.able, c.consultation, local(9, 9), 90, "booked", p3)
    c.book(c.able, c.consultation, local(9, 11), 60, "held", p3)  # a hold is no appointment
    # Bo: 2 booked hours, 3 appointments, 1 late cancellation (13 h before, policy 48 h); all in Chair 1.
    # 01:00 EST to 03:00 EDT on the night of the change is one hour.
    c.book(c.bo, c.infusion, local(8, 1), 60, "fulfilled", p1, room=c.chair, series=(s2, 1))
    c.book(c.bo, c.infusion, local(14, 10), 60, "fulfilled", p3, room=c.chair)
    c.book(c.bo, c.infusion, local(15, 1), 60, "cancelled", p1, room=c.chair, cancelled_at=local(14, 12), series=(s2, 2))
    # Cy: 8 booked hours, 4 appointments, 1 no-show of 4 kept; 7 h in the Dosing room.
    c.book(c.cy, c.kap, local(4, 13), 180, "fulfilled", p5, room=c.dosing_room, series=(s3, 1))
    c.book(c.cy, c.kap, local(9, 14), 60, "fulfilled", p2, room=c.dosing_room, series=(s1, 1))
    c.book(c.cy, c.kap, local(11, 13), 180, "fulfilled", p2, room=c.dosing_room, series=(s1, 2))
    c.book(c.cy, c.integration, local(11, 17), 60, "noshow", p2)
    # After the range: counted nowhere; it keeps series s3 from being due.
    c.book(c.cy, c.kap, local(18, 13), 180, "booked", p5, room=c.dosing_room, series=(s3, 2))
    # The waitlist: two freed times in the range, one taken by the second patient it was offered to,
    # one nobody took; a third, after the range, counts nowhere.
    w1, w2 = c.waiting("w1@example.org", c.infusion), c.waiting("w2@example.org", c.infusion)
    c.offer(w1, c.bo, local(10, 10), "declined")
    c.offer(w2, c.bo, local(10, 10), "claimed")
    c.offer(w1, c.cy, local(12, 9), "expired")
    c.offer(w2, c.cy, local(20, 10), "claimed")
    return c


def row(rows: list[dict], name: str) -> dict:
    return next(found for found in rows if found["name"] == name)


def figures(report: dict) -> dict[str, tuple]:
    return {f["key"]: (f["value"], f["numerator"], f["denominator"]) for f in report["figures"]}


def test_the_report_has_the_hand_computed_figures_across_the_dst_change(client, staff, clinic):
    response = client.get(API, query_string=RANGE, headers=staff["admin"])
    assert response.status_code == 200, response.json
    report = response.json
    assert (report["from"], report["until"], report["timezone"]) == ("2026-03-02", "2026-03-15", "America/New_York")
    assert report["start"] == "2026-03-02T00:00:00-05:00" and report["end"] == "2026-03-16T00:00:00-04:00"
    assert [c["name"] for c in report["clinicians"]] == ["Able", "Bo", "Cy"]
    fields = ("booked_hours", "available_hours", "utilisation", "appointments", "no_shows", "no_show_rate",
              "cancellations", "late_cancellations", "late_cancel_rate")
    expected = {
        "Able": (3.5, 68.0, 5.1, 5, 1, 33.3, 2, 1, 20.0),  # 3.5 / 68; 1 / 3 kept; 1 / 5
        "Bo": (2.0, 9.0, 22.2, 3, 0, 0.0, 1, 1, 33.3),  # the DST Sunday gives 3 hours, not 4
        "Cy": (8.0, 20.0, 40.0, 4, 1, 25.0, 0, 0, 0.0),
    }
    for name, values in expected.items():
        assert tuple(row(report["clinicians"], name)[f] for f in fields) == values, name
    assert tuple(report["totals"][f] for f in fields) == (13.5, 97.0, 13.9, 12, 2, 22.2, 3, 2, 16.7)
    # A room is available while anyone works at its location: week 1 is Mon 9-19, Tue 8, Wed 9-19
    # (Able's time off is Cy's working time), Thu 8, Fri 8, Sun 3 = 47 h; week 2 Mon 8, Tue 8,
    # Wed 10, Thu 8, Fri closed, Sat 2, Sun 4 = 40 h.
    assert [r["name"] for r in report["rooms"]] == ["Chair 1", "Dosing room"]
    assert tuple(row(report["rooms"], "Chair 1")[f] for f in fields) == (2.0, 87.0, 2.3, 3, 0, 0.0, 1, 1, 33.3)
    assert tuple(row(report["rooms"], "Dosing room")[f] for f in fields) == (7.0, 87.0, 8.0, 3, 0, 0.0, 0, 0, 0.0)
    assert report["weeks"] == [
        {"week_start": "2026-03-02", "booked_hours": 6.0, "available_hours": 51.0, "utilisation": 11.8},
        {"week_start": "2026-03-09", "booked_hours": 7.5, "available_hours": 46.0, "utilisation": 16.3},
    ]
    # Series due in the range (and over by now): s1 (both sessions attended) and s2 (its second cancelled);
    # s3 ends after it.
    # First doses in the range, days since the first consultation: p3 5.04 (9 Mar 09:00 EDT to 14 Mar
    # 10:00 EDT), p1 5.67 (2 Mar 09:00 EST to 8 Mar 01:00 EST), p5 7.0, p2 17.13 (20 Feb, as her 2 Mar
    # consultation was missed): median (5.67 + 7.0) / 2.
    assert figures(report) == {
        "utilisation": (13.9, 13.5, 97.0),
        "no_show_rate": (22.2, 2, 9),
        "late_cancel_rate": (16.7, 2, 12),
        "series_completion_rate": (50.0, 1, 2),
        "median_days_consultation_to_first_dose": (6.3, 6.3, 4),
        "waitlist_fill_rate": (50.0, 1, 2),
    }


def test_weeks_are_cut_at_local_mondays_and_the_range_ends_at_local_midnight(client, staff, clinic):
    """One week, Mon 9 - Sun 15 March: the 13 March closure, the 14 March override and nothing of the 16th."""
    response = client.get(API, query_string=RANGE | {"from": "2026-03-09"}, headers=staff["admin"])
    report = response.json
    assert report["weeks"] == [{"week_start": "2026-03-09", "booked_hours": 7.5, "available_hours": 46.0,
                                "utilisation": 16.3}]
    # Wed 4 to Tue 10 March: a short first week (Able 4 + 8 + 8, Bo 3, Cy 6), then Monday and Tuesday.
    part = client.get(API, query_string=RANGE | {"from": "2026-03-04", "until": "2026-03-10"}, headers=staff["admin"]).json
    assert [(w["week_start"], w["available_hours"]) for w in part["weeks"]] == [("2026-03-04", 4 + 8 + 8 + 3 + 6),
                                                                               ("2026-03-09", 8 + 8 + 2)]


def test_the_default_range_is_the_last_four_full_weeks_in_the_first_locations_zone(service, clinic):
    wednesday = datetime(2026, 3, 18, 3, 30, tzinfo=timezone.utc)  # still Tuesday 17 March in New York
    report = DirectorReports(service.director_reports.writes, lambda: wednesday).report(ReportQuery())
    assert (report["first_day"], report["last_day"], report["timezone"]) == (date(2026, 2, 16), date(2026, 3, 15),
                                                                             "America/New_York")
    assert ReportRange.last_full_weeks(date(2026, 3, 16), NY).first_day == date(2026, 2, 16)


def test_a_series_still_under_way_is_not_counted_as_due(service, clinic):
    """Seen on Thursday 12 March: s1 ended on the 11th (complete); s2's last session, on the 15th, is
    still ahead, so the course is neither complete nor incomplete yet."""
    thursday = local(12, 12)
    reports = DirectorReports(service.director_reports.writes, lambda: thursday.astimezone(timezone.utc))
    report = reports.report(ReportQuery(date(2026, 3, 2), date(2026, 3, 15), "America/New_York"))
    assert figures(report)["series_completion_rate"] == (100.0, 1, 1)
    # A moment before s1's last session ends, nothing is due.
    during = DirectorReports(service.director_reports.writes, lambda: local(11, 15, 59).astimezone(timezone.utc))
    assert figures(during.report(ReportQuery(date(2026, 3, 2), date(2026, 3, 15), "America/New_York")))[
        "series_completion_rate"] == (None, 0, 0)


def test_a_range_that_ends_before_it_starts_or_runs_past_a_year_is_refused(client, staff, clinic):
    backwards = client.get(API, query_string=RANGE | {"until": "2026-03-01"}, headers=staff["admin"])
    assert backwards.status_code == 422 and backwards.json["code"] == "invalid_report_range"
    too_long = client.get(API, query_string=RANGE | {"until": "2027-03-15"}, headers=staff["admin"])
    assert too_long.status_code == 422
    unknown = client.get(API, query_string=RANGE | {"timezone": "Mars/Olympus"}, headers=staff["admin"])
    assert unknown.status_code == 422


@pytest.mark.parametrize("role", [role for role in ROLES if role != "admin"])
def test_only_admins_see_the_report(client, staff, clinic, role):
    assert client.get(API, query_string=RANGE, headers=staff[role]).status_code == 403
    assert client.get("/staff/reports/director", headers=staff[role]).status_code == 403
    assert client.get("/staff/reports/director.csv", headers=staff[role]).status_code == 403
    assert client.get(API, query_string=RANGE).status_code == 401


def test_the_console_page_shows_the_figures_chart_and_its_table(client, staff, clinic):
    response = client.get("/staff/reports/director", headers=staff["admin"],
                          query_string={"from": "2026-03-02", "until": "2026-03-15", "tz": "America/New_York"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'aria-current="page">Reports</a>' in page
    assert '<svg role="img" aria-label="Bar chart of weekly utilisation, 2 weeks' in page and "<script" not in page.split("<main")[1]
    assert "<th scope=\"row\">Mon 2 Mar 2026</th><td>6.0</td>\n      <td>51.0</td><td>11.8%</td>" in page
    assert 'data-figure="median_days_consultation_to_first_dose"' in page and "6.3 days" in page
    assert 'data-figure="series_completion_rate"' in page and "50.0%" in page
    assert '<tr class="report-total" data-subject="clinic"><th scope="row">Whole clinic</th>' in page
    backwards = client.get("/staff/reports/director", headers=staff["admin"], query_string={"from": "2026-03-09", "until": "2026-03-01"})
    assert backwards.status_code == 200 and "The range must end on or after the day it starts." in backwards.get_data(as_text=True)


def test_the_csv_has_the_same_numbers(client, staff, clinic):
    response = client.get("/staff/reports/director.csv", headers=staff["admin"],
                          query_string={"from": "2026-03-02", "until": "2026-03-15", "tz": "America/New_York"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    by_name = {(r["section"], r["name"]): r for r in rows}
    able = by_name[("clinician", "Able")]
    assert (able["booked_hours"], able["available_hours"], able["utilisation_percent"], able["no_show_rate_percent"],
            able["late_cancel_rate_percent"]) == ("3.5", "68.0", "5.1", "33.3", "20.0")
    assert by_name[("room", "Chair 1")]["location"] == "Test Clinic"
    assert by_name[("clinic", "Whole clinic")]["utilisation_percent"] == "13.9"
    assert [(r["id"], r["utilisation_percent"]) for r in rows if r["section"] == "week"] == [("2026-03-02", "11.8"),
                                                                                             ("2026-03-09", "16.3")]
    assert {r["id"]: (r["value"], r["unit"]) for r in rows if r["section"] == "figure"} == {
        "utilisation": ("13.9", "%"), "no_show_rate": ("22.2", "%"), "late_cancel_rate": ("16.7", "%"),
        "series_completion_rate": ("50.0", "%"), "median_days_consultation_to_first_dose": ("6.3", "days"),
        "waitlist_fill_rate": ("50.0", "%")}


def test_report_queries_are_a_fixed_handful_whatever_the_bookings(service, clinic):
    """No query per booking or per clinician: the same statements for 15 bookings as for 60."""
    from sqlalchemy import event

    def statements() -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(service.runtime.engine, "before_cursor_execute", listener)
        try:
            service.director_reports.report(ReportQuery(date(2026, 3, 2), date(2026, 3, 15), "America/New_York"))
        finally:
            event.remove(service.runtime.engine, "before_cursor_execute", listener)
        return len(seen)

    before = statements()
    for day in range(16, 31):
        for hour in (9, 11, 13):
            clinic.book(clinic.able, clinic.consultation, local(day, hour) - timedelta(days=14), 60, "fulfilled",
                        f"x{day}{hour}@example.org")
    assert statements() == before <= 12
