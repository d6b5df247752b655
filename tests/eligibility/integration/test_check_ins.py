"""Check-ins between doses: the page behind an emailed link, encrypted storage, the alert, the trend."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

from kapbook_eligibility.adapters.tables import check_ins
from kapbook_platform.contracts import EventType
from support.check_ins import CHECK_IN_PATH, check_in_form, check_in_token
from datetime import datetime, timezone

START = datetime(2026, 11, 20, 15, 30, tzinfo=timezone.utc)  # the conftest clock's start

DOSE = START + timedelta(days=1)


def page(client, token: str, form: dict | None = None):
    url = f"{CHECK_IN_PATH}?token={token}"
    return client.get(url) if form is None else client.post(url, data=form)


def test_a_check_in_is_scored_stored_sealed_and_announced_by_ids_only(client, eligibility, helpers):
    booking_id = str(uuid.uuid4())
    token = check_in_token(booking_id, DOSE)

    shown = page(client, token)
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    html = shown.get_data(as_text=True)
    assert 'name="phq9_9"' in html and 'name="gad7_7"' in html and 'name="cssrs_1"' in html
    assert 'name="date_of_birth"' not in html and 'name="medications"' not in html  # not the whole screening

    done = page(client, token, check_in_form(phq9=2, gad7=1))
    assert done.status_code == 200, done.get_data(as_text=True)
    assert 'id="check-in-received"' in done.get_data(as_text=True)
    assert 'id="crisis-resources"' not in done.get_data(as_text=True)

    (row,) = helpers.table_rows(eligibility, check_ins)
    assert (row["booking_id"], row["occasion"], row["status"]) == (booking_id, "before_dose", "decided")
    stored = bytes(row["answers_encrypted"]) + bytes(row["result_encrypted"])
    assert b"phq9" not in stored and b"total" not in stored  # sealed, as a screening's answers are
    result = eligibility.cipher.open(f"check_in:{row['id']}:result", row["result_encrypted"])
    assert result["phq9"] == {"total": 16, "band": "moderately_severe", "item9": 0}  # 8 x 2, scored as screenings are
    assert result["gad7"] == {"total": 7, "band": "mild"}

    (event,) = helpers.outbox_events(eligibility)
    assert event["type"] == EventType.CHECK_IN_COMPLETED
    assert set(event["data"]) == {"check_in_id", "booking_id", "occasion", "completed_at"}

    again = page(client, token, check_in_form())
    assert again.status_code == 409 and len(helpers.table_rows(eligibility, check_ins)) == 1
    assert page(client, token).status_code == 409


def test_item_9_above_zero_alerts_on_call_first_and_shows_crisis_resources_at_once(client, eligibility, helpers, clinician):
    token = check_in_token(str(uuid.uuid4()), DOSE)

    done = page(client, token, check_in_form(phq9=1, item9=1))

    html = done.get_data(as_text=True)
    assert done.status_code == 200 and 'id="crisis-resources"' in html and "988" in html
    alert, completed = helpers.outbox_events(eligibility)
    assert (alert["type"], completed["type"]) == (EventType.CHECK_IN_ALERT, EventType.CHECK_IN_COMPLETED)
    assert set(alert["data"]) == {"check_in_id", "review_url", "decided_at"}
    assert alert["data"]["review_url"] == f"https://clinic.example/staff/trends/{alert['data']['check_in_id']}"
    pending = client.get("/api/eligibility/v1/check-ins", headers=clinician.headers)
    assert [entry["id"] for entry in pending.get_json()] == [alert["data"]["check_in_id"]]
    reviewed = client.post(f"/api/eligibility/v1/check-ins/{alert['data']['check_in_id']}/review", headers=clinician.headers)
    assert reviewed.status_code == 201
    assert client.get("/api/eligibility/v1/check-ins", headers=clinician.headers).get_json() == []


def test_a_high_c_ssrs_answer_alerts_even_with_item_9_at_zero(client, eligibility, helpers):
    token = check_in_token(str(uuid.uuid4()), DOSE)

    done = page(client, token, check_in_form(cssrs_2=True, cssrs_3=False, cssrs_4=True, cssrs_5=False))

    assert 'id="crisis-resources"' in done.get_data(as_text=True)
    assert [event["type"] for event in helpers.outbox_events(eligibility)][0] == EventType.CHECK_IN_ALERT


def test_the_c_ssrs_screener_is_a_clinic_setting(make_container, helpers):
    container = make_container(check_in_cssrs=False)
    container.migrate()
    from kapbook_eligibility.entrypoints.app import create_app

    client = create_app(container).test_client()
    token = check_in_token(str(uuid.uuid4()), DOSE)
    assert 'name="cssrs_1"' not in page(client, token).get_data(as_text=True)
    form = {key: value for key, value in check_in_form().items() if not key.startswith("cssrs")}
    assert page(client, token, form).status_code == 200


def test_missing_answers_show_the_form_again_and_store_nothing(client, eligibility, helpers):
    token = check_in_token(str(uuid.uuid4()), DOSE)
    form = check_in_form()
    del form["gad7_3"]

    refused = page(client, token, form)

    assert refused.status_code == 422 and 'id="err-gad7_3"' in refused.get_data(as_text=True)
    assert helpers.table_rows(eligibility, check_ins) == [] and helpers.outbox_events(eligibility) == []


def test_a_forged_altered_or_expired_link_opens_nothing(client, eligibility, helpers):
    genuine = check_in_token(str(uuid.uuid4()), DOSE)
    forged = check_in_token(str(uuid.uuid4()), DOSE, keys=("A" * 43 + "=",))
    expired = check_in_token(str(uuid.uuid4()), START - timedelta(hours=1))
    altered = genuine[:-5] + ("A" if genuine[-5] != "A" else "B") + genuine[-4:]

    for token in (forged, expired, altered, "not-a-token"):
        assert page(client, token).status_code == 400
        assert page(client, token, check_in_form()).status_code == 400
    assert helpers.table_rows(eligibility, check_ins) == []


def test_the_trend_has_the_screening_as_baseline_then_each_check_in_with_response_and_remission(
        client, eligibility, submit, answers, clinician):
    screening = submit(answers | {f"phq9_{n}": 2 for n in range(1, 9)} | {f"gad7_{n}": 2 for n in range(1, 8)})
    assert screening.status_code == 201
    for phq9, gad7 in ((2, 1), (1, 1), (0, 0)):
        eligibility.check_ins.clock.advance(days=3)
        assert page(client, check_in_token(str(uuid.uuid4()), DOSE + timedelta(days=30)),
                    check_in_form(phq9=phq9, gad7=gad7)).status_code == 200

    trend = client.get(f"/api/eligibility/v1/trends/{screening.get_json()['id']}", headers=clinician.headers)

    assert trend.status_code == 200
    body = trend.get_json()
    assert [(p["source"], p["phq9"], p["gad7"]) for p in body["points"]] == [
        ("screening", 16, 14), ("check_in", 16, 7), ("check_in", 8, 7), ("check_in", 0, 0)]
    assert body["outcome"]["phq9_response"] is True and body["outcome"]["remission"] is True
    assert body["outcome"]["phq9_change_percent"] == -100.0
    assert body["patient"]["email"] == "pat@example.org"
    assert not re.search(r"phq9_\d", trend.get_data(as_text=True))  # totals only, never the item answers
    assert client.get(f"/api/eligibility/v1/trends/{screening.get_json()['id']}").status_code == 401
