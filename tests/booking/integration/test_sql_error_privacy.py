"""A database error never carries a patient's data into a log line or an exception's text.

SQLAlchemy puts the bound parameters of a failed statement into the exception's message (and its
statement logging prints them too) unless the engine is created with ``hide_parameters=True``. The
booking row holds the patient's name, email and phone, so a forced integrity error on it is the
check: everything logged at DEBUG (SQLAlchemy's statement logging on at INFO), and the text of the
error, must be free of them.
"""
from __future__ import annotations

import io
import logging

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kapbook_booking.adapters import tables as t
from kapbook_platform.logs import JsonFormatter
from support.clinic import ClinicBuilder

pytestmark = pytest.mark.integration

EMAIL = "private.patient.7c1@example.org"
NAME = "Philippa Quagmire-Sentinel"


@pytest.fixture
def booking_config_overrides() -> dict:
    return {"eligibility_url": "http://127.0.0.1:1"}  # nothing answers: no screening is needed here


@pytest.fixture
def json_log(client):
    """The service's own JSON log lines (after create_app, which sets up the root logger)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("booking"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def test_every_engine_hides_parameters(service):
    assert service.runtime.engine.hide_parameters is True


def test_a_forced_integrity_error_logs_no_patient_data(service, client, caplog, json_log):
    clinic = ClinicBuilder(service.runtime.sessions)
    clinic.clinician("Dr A", [clinic.appointment_type("consult", 30)])
    response = client.post("/api/booking/v1/bookings", json={
        "appointment_type": "consult", "start": clinic.local(3, 10).isoformat(),
        "patient": {"name": NAME, "email": EMAIL, "phone": "+49 30 5550199", "timezone": "Europe/Berlin"}})
    assert response.status_code == 201, response.json

    caplog.set_level(logging.DEBUG)
    # Statement logging on (what echo=True does), as an operator chasing a problem might; its DEBUG
    # level would also print result rows, which no engine option hides, so it stays at INFO.
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    with service.runtime.engine.connect() as connection:
        row = connection.execute(select(t.bookings).where(t.bookings.c.patient_email == EMAIL)).mappings().one()
    try:
        with service.runtime.sessions.begin() as session:
            session.execute(t.bookings.insert().values(**row))  # the same primary key again
    except IntegrityError as error:
        raised = error
        logging.getLogger("kapbook.test").exception("the insert failed")  # as an error handler would log it
    else:
        pytest.fail("inserting the same booking twice did not fail")

    logged = json_log.getvalue() + "\n".join(
        record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert "INSERT INTO bookings" in logged  # the statement and the error were logged, only without their values
    for secret in (EMAIL, NAME, "5550199"):
        assert secret not in str(raised), secret
        assert secret not in logged, secret
    assert "parameters hidden" in str(raised)
