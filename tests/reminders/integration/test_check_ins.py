"""Check-in emails through the real consumer, database and SMTP, on a travelling clock.

A course of six infusions gets one check-in link 24 h before each dose, none for a cancelled one,
and a moved one follows its session. A check-in that raises an alert in the eligibility service
reaches on-call in the next dispatch cycle, through the crisis alert path.
"""
from __future__ import annotations

import re
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet

from kapbook_eligibility.bootstrap import bootstrap as eligibility_bootstrap
from kapbook_eligibility.config import EligibilityConfig
from kapbook_eligibility.entrypoints.app import create_app as eligibility_app
from kapbook_platform.config import DEVELOPMENT_SERVICE_TOKEN
from kapbook_platform.contracts import EventType, make_envelope
from kapbook_platform.contracts.check_in_links import check_in_link_keys, open_check_in_token
from reminders_harness import HEALTH_TERMS, START, body
from support.check_ins import check_in_form
from support.clock import TravellingClock

pytestmark = pytest.mark.integration

BOOKED_AT = START - timedelta(days=5)
COURSE = [str(uuid.uuid4()) for _ in range(6)]
KEYS = check_in_link_keys((), DEVELOPMENT_SERVICE_TOKEN)
CHECK_IN_SUBJECT = re.compile(r"^A quick check-in before your appointment on \w+day \d{1,2} \w+ – Harbor Clinic$")


def dose(position: int):
    """Infusion ``position`` (1-6): every third day from START (clocks change in New York on 14 March)."""
    return START + timedelta(days=3 * (position - 1))


def check_in_link(message) -> str:
    (url,) = set(re.findall(r"https://\S+/api/eligibility/v1/check-in\?token=[\w=%-]+", body(message)))
    return url


def test_a_course_of_six_infusions_gets_one_check_in_before_each_dose_and_none_for_a_cancelled_one(harness):
    for position, booking_id in enumerate(COURSE, start=1):
        harness.book(booking_id, dose(position))
    harness.cancel(COURSE[3], dose(4), sequence=1)  # the fourth is cancelled
    moved = dose(5) + timedelta(days=1)
    harness.reschedule(COURSE[4], moved, sequence=1)  # the fifth moves a day later

    check_ins = []
    moment = BOOKED_AT
    while moment < dose(6) + timedelta(days=2):  # the clock travels through the course, an hour at a time
        moment += timedelta(hours=1)
        check_ins += [(moment, email) for email in harness.at(moment) if email["Subject"].startswith("A quick check-in")]

    starts = {COURSE[0]: dose(1), COURSE[1]: dose(2), COURSE[2]: dose(3), COURSE[4]: moved, COURSE[5]: dose(6)}
    assert len(check_ins) == 5
    for sent_at, email in check_ins:
        assert CHECK_IN_SUBJECT.match(str(email["Subject"])) and not HEALTH_TERMS.search(str(email["Subject"]))
        assert email["List-Unsubscribe"]  # not essential: a patient may stop them
        token = parse_qs(urlsplit(check_in_link(email)).query)["token"][0]
        link = open_check_in_token(token, KEYS, sent_at)
        assert link is not None and link.occasion.value == "before_dose"
        assert link.session_start == starts[link.booking_id] and link.expires_at == starts[link.booking_id]
        assert starts[link.booking_id] - timedelta(hours=24) <= sent_at < starts[link.booking_id] - timedelta(hours=23)
        assert link.booking_id.encode() not in token.encode()  # opaque: nothing readable in the URL
    assert sorted(link_booking(email) for _, email in check_ins) == sorted(starts)
    cancelled = [row for row in harness.rows(COURSE[3]) if row["kind"] == "check_in_before_dose"]
    assert [row["status"] for row in cancelled] == ["cancelled"]


def link_booking(email) -> str:
    token = parse_qs(urlsplit(check_in_link(email)).query)["token"][0]
    return open_check_in_token(token, KEYS, BOOKED_AT).booking_id


def test_integration_sessions_get_a_check_in_after_they_end_and_keep_it_once_fulfilled(harness):
    booking_id = str(uuid.uuid4())
    data = harness.book(booking_id, START, category="integration", minutes=60)
    harness.deliver(EventType.BOOKING_COMPLETED, data | {"sequence": 1, "status": "fulfilled"})

    assert [e for e in harness.at(START + timedelta(hours=2, minutes=59)) if "check-in" in str(e["Subject"])] == []
    (email,) = [e for e in harness.at(START + timedelta(hours=3)) if "check-in" in str(e["Subject"])]
    assert str(email["Subject"]).startswith("A quick check-in after your appointment on")
    token = parse_qs(urlsplit(check_in_link(email)).query)["token"][0]
    assert open_check_in_token(token, KEYS, START + timedelta(hours=3)).occasion.value == "after_integration"


def test_the_lead_times_are_plan_settings(tmp_path, database_factory, sink):
    from reminders_harness import Harness

    plans = tmp_path / "plans.json"
    plans.write_text('{"categories": {"dosing_iv": {"check_in_hours_before": 48}}}')
    harness = Harness.build(tmp_path, database_factory("reminders-plans"), BOOKED_AT, sink,
                            notification_plans_file=str(plans))
    try:
        harness.book(COURSE[0], START)
        (row,) = [row for row in harness.rows() if row["kind"] == "check_in_before_dose"]
        assert row["due_at"] == START - timedelta(hours=48)
    finally:
        harness.close()


def test_item_9_above_zero_alerts_on_call_within_the_same_dispatch_cycle(harness, tmp_path, database_factory):
    eligibility = eligibility_bootstrap(EligibilityConfig.from_env(
        {}, database_url=database_factory("eligibility"), var_dir=tmp_path, env="test",
        broker_url=f"filesystem://{tmp_path / 'broker'}", public_base_url="https://book.clinic.example",
        encryption_keys=(Fernet.generate_key().decode(),)), clock=TravellingClock(BOOKED_AT))
    eligibility.migrate()
    harness.book(COURSE[0], START)
    (email,) = [e for e in harness.at(START - timedelta(hours=24)) if "check-in" in str(e["Subject"])]
    url = urlsplit(check_in_link(email))

    eligibility.check_ins.clock.set(START - timedelta(hours=23))
    page = eligibility_app(eligibility).test_client().post(f"{url.path}?{url.query}", data=check_in_form(item9=2))
    assert page.status_code == 200 and 'id="crisis-resources"' in page.get_data(as_text=True)

    outbox = eligibility.runtime.tables["outbox"]
    with eligibility.runtime.engine.connect() as connection:
        envelopes = [row.envelope for row in connection.execute(outbox.select().order_by(outbox.c.created_at))]
    alert = next(envelope for envelope in envelopes if envelope["type"] == EventType.CHECK_IN_ALERT)
    harness.deliver_envelope(make_envelope(alert["type"], alert["source"], alert["data"]))
    before = len(harness.sink.handler.received)
    harness.dispatch()  # one cycle, the clock unmoved
    (oncall,) = harness.sink.messages()[before:]
    assert oncall["To"].addresses[0].addr_spec == "oncall@clinic.example"
    assert oncall["Importance"] == "high" and alert["data"]["review_url"] in body(oncall)
    assert "item" not in body(oncall).lower() and "phq" not in body(oncall).lower()
    eligibility.runtime.engine.dispose()
