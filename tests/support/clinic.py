"""A small clinic built directly in a booking database, for tests that need exact control."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from kapbook_booking.adapters import tables as t
from kapbook_platform.staff.tokens import token_digest


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class ClinicBuilder:
    sessions: sessionmaker[Session]
    zone: str = "America/New_York"
    location_id: str = field(default_factory=new_id)

    def __post_init__(self) -> None:
        with self.sessions.begin() as session:
            session.execute(t.locations.insert().values(id=self.location_id, name="Test Clinic", timezone=self.zone))

    def appointment_type(self, code: str, minutes: int, **fields) -> str:
        type_id = new_id()
        values = {
            "id": type_id, "code": code, "name": code.title(), "category": "consultation", "duration_minutes": minutes,
            "buffer_before_minutes": 0, "buffer_after_minutes": 0, "min_notice_minutes": 60, "horizon_days": 90,
            "slot_step_minutes": 15, "modality": "in_person", "room_kind": None, "requires_eligibility": False,
            "requires_driver": False, "cancel_notice_hours": 24, "reschedule_notice_hours": 24, "active": True,
        } | fields
        with self.sessions.begin() as session:
            session.execute(t.appointment_types.insert().values(**values))
        return type_id

    def clinician(self, name: str, type_ids: list[str], hours: tuple[time, time] = (time(8), time(18))) -> str:
        clinician_id = new_id()
        with self.sessions.begin() as session:
            session.execute(t.clinicians.insert().values(id=clinician_id, name=name, role="prescriber", active=True))
            session.execute(t.clinician_appointment_types.insert(),
                            [{"clinician_id": clinician_id, "appointment_type_id": type_id} for type_id in type_ids])
            session.execute(t.working_hours.insert(), [
                {"id": new_id(), "clinician_id": clinician_id, "location_id": self.location_id, "weekday": day,
                 "start_time": hours[0], "end_time": hours[1]} for day in range(7)
            ])
        return clinician_id

    def room(self, kind: str, name: str = "Chair 1") -> str:
        room_id = new_id()
        with self.sessions.begin() as session:
            session.execute(t.rooms.insert().values(id=room_id, location_id=self.location_id, name=name, kind=kind, active=True))
        return room_id

    def staff_token(self, role: str = "admin") -> str:
        return issue_test_staff_token(self.sessions, role)

    def local(self, days_ahead: int, hour: int, minute: int = 0) -> datetime:
        day = datetime.now(ZoneInfo(self.zone)).date() + timedelta(days=days_ahead)
        return datetime.combine(day, time(hour, minute), ZoneInfo(self.zone))


def issue_test_staff_token(sessions, role: str = "admin") -> str:
    """A bearer token of ``role`` written straight into the booking service's credential table."""
    token = f"kbs_test_{uuid.uuid4().hex}"
    with sessions.begin() as session:
        session.execute(t.PLATFORM_TABLES["staff_credentials"].insert().values(
            credential_id=new_id(), staff_id=new_id(), staff_name=f"Test {role}", role=role,
            token_sha256=token_digest(token), issued_at=datetime.now(timezone.utc)))
    return token


TEST_PASSWORD = "Tulip-Ferry-Quartz-91"


def add_test_staff_member(sessions, role: str = "admin", email: str | None = None, password: str = TEST_PASSWORD) -> dict:
    """A staff member of ``role`` with a console password, written straight into the booking database."""
    from kapbook_booking.adapters.passwords import hash_password

    member = {"id": new_id(), "name": f"Test {role}", "email": email or f"{role}-{uuid.uuid4().hex[:8]}@clinic.example",
              "role": role, "created_at": datetime.now(timezone.utc), "password_hash": hash_password(password),
              "password_changed_at": datetime.now(timezone.utc)}
    with sessions.begin() as session:
        session.execute(t.staff_members.insert().values(**member))
    return member | {"password": password}


def console_sign_in(client, email: str, password: str = TEST_PASSWORD, next_path: str = "/staff/"):
    """Sign a Flask test client in to the console through its form (CSRF field included); the answer."""
    form = client.get("/staff/sign-in").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    return client.post("/staff/sign-in", data={"csrf_token": csrf, "email": email, "password": password, "next": next_path})


def csrf_of(client, path: str = "/staff/calendar") -> str:
    """The CSRF field of a console page, as the signed-in client sees it."""
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def patient(email: str = "pat@example.org") -> dict:
    return {"name": "Pat Example", "email": email, "timezone": "Europe/Berlin"}
