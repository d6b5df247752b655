"""Answers, results and notes are encrypted in the database; keys rotate without losing anything."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import text, update

from kapbook_eligibility.adapters.tables import screenings
from kapbook_eligibility.entrypoints.app import create_app
from kapbook_eligibility.entrypoints.cli import cli

pytestmark = pytest.mark.integration

SCREENINGS = "/api/eligibility/v1/screenings"
DATE_OF_BIRTH = "1969-07-20"
NOTE = "Discussed lamotrigine taper with the prescribing neurologist."


@pytest.fixture
def distinctive_answers(answers) -> dict:
    return answers | {
        "date_of_birth": DATE_OF_BIRTH,
        "phq9_4": 3,
        "bp_systolic": 133,
        "bp_diastolic": 87,
        "medications": ["lamotrigine", "snri"],
    }


def raw_screening_columns(eligibility) -> dict:
    """The stored row exactly as the database returns it, without the ORM."""
    with eligibility.runtime.engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM screenings")).mappings().one()
    return {key: bytes(value) if isinstance(value, memoryview | bytes) else value for key, value in row.items()}


def test_the_database_holds_no_answer_or_score_in_the_clear(submit, eligibility, distinctive_answers, fernet_keys):
    assert submit(distinctive_answers).status_code == 201

    row = raw_screening_columns(eligibility)
    clear_text = " ".join(str(value) for key, value in row.items() if not key.endswith("_encrypted"))
    for ciphertext in (row["answers_encrypted"], row["result_encrypted"]):
        # (Long enough that base64 text cannot contain them by chance.)
        for secret in (DATE_OF_BIRTH.encode(), b"date_of_birth", b"lamotrigine", b"moderate", b"phq9_4"):
            assert secret not in ciphertext
    assert DATE_OF_BIRTH not in clear_text and "snri" not in clear_text and "phq9_4" not in clear_text
    # It is encryption with our key, not an accident of encoding.
    sealed = json.loads(Fernet(fernet_keys[0]).decrypt(row["answers_encrypted"]))
    assert sealed["value"]["date_of_birth"] == DATE_OF_BIRTH


def test_a_ciphertext_moved_to_another_row_does_not_open(client, submit, eligibility, answers, clinician):
    first = submit(answers | {"cardiac_disease": True}, email="first@example.org").json["id"]
    second = submit(answers | {"liver_disease": True, "date_of_birth": DATE_OF_BIRTH}, email="second@example.org").json["id"]
    with eligibility.runtime.sessions.begin() as session:
        stolen = session.execute(screenings.select().where(screenings.c.id == second)).mappings().one()
        session.execute(
            update(screenings)
            .where(screenings.c.id == first)
            .values(answers_encrypted=stolen["answers_encrypted"], result_encrypted=stolen["result_encrypted"])
        )

    response = client.get(f"{SCREENINGS}/{first}", headers=clinician.headers)

    assert response.status_code == 500
    assert DATE_OF_BIRTH not in response.get_data(as_text=True)


def test_rotation_re_encrypts_everything_with_the_newest_key(make_container, tmp_path, distinctive_answers, fernet_keys, make_staff):
    old_key = fernet_keys[0]
    new_key = Fernet.generate_key().decode()
    before = create_app(_container(make_container, (old_key,))).test_client()
    clinician = make_staff("clinician")
    screening_id = before.post(SCREENINGS, json={"patient": {"name": "P", "email": "p@example.org"}, "answers": distinctive_answers}).json["id"]
    before.post(f"{SCREENINGS}/{screening_id}/review", json={"decision": "approved", "note": NOTE}, headers=clinician.headers)
    during = _container(make_container, (new_key, old_key))
    environment = _cli_environment(during, tmp_path)

    first = CliRunner().invoke(cli, ["rotate-keys"], env=environment)
    second = CliRunner().invoke(cli, ["rotate-keys"], env=environment)

    assert first.exit_code == 0, first.output
    assert "re-encrypted 1 screening(s), 0 check-in(s) and 1 review note(s)" in first.output
    assert "re-encrypted 0 screening(s), 0 check-in(s) and 0 review note(s)" in second.output and "2 were already" in second.output
    after = create_app(_container(make_container, (new_key,))).test_client()
    opened = after.get(f"{SCREENINGS}/{screening_id}", headers=clinician.headers)
    assert opened.status_code == 200
    assert opened.json["answers"] == distinctive_answers and opened.json["review"]["note"] == NOTE
    retired = create_app(_container(make_container, (old_key,))).test_client()
    assert retired.get(f"{SCREENINGS}/{screening_id}", headers=clinician.headers).status_code == 500


def test_rotation_without_the_old_key_stops_and_says_why(make_container, tmp_path, submit, answers):
    submit(answers)
    stranger = _container(make_container, (Fernet.generate_key().decode(),))

    result = CliRunner().invoke(cli, ["rotate-keys"], env=_cli_environment(stranger, tmp_path))

    assert result.exit_code != 0
    assert "cannot be decrypted" in result.output and "old key missing" in result.output


def test_new_screenings_use_the_newest_key_while_old_ones_still_open(make_container, fernet_keys, answers, make_staff):
    old_key, new_key = fernet_keys[0], Fernet.generate_key().decode()
    old_client = create_app(_container(make_container, (old_key,))).test_client()
    clinician = make_staff("clinician")
    old_id = old_client.post(SCREENINGS, json={"patient": {"name": "P", "email": "p@example.org"}, "answers": answers | {"hypertension": True}}).json["id"]
    rotated = _container(make_container, (new_key, old_key))
    new_client = create_app(rotated).test_client()
    new_id = new_client.post(SCREENINGS, json={"patient": {"name": "Q", "email": "q@example.org"}, "answers": answers | {"hypertension": True}}).json["id"]

    assert new_client.get(f"{SCREENINGS}/{old_id}", headers=clinician.headers).status_code == 200
    assert new_client.get(f"{SCREENINGS}/{new_id}", headers=clinician.headers).status_code == 200
    with rotated.runtime.engine.connect() as connection:
        token = connection.execute(text("SELECT answers_encrypted FROM screenings WHERE id = :id"), {"id": new_id}).scalar_one()
    Fernet(new_key).decrypt(bytes(token))  # raises unless the newest key encrypted it


def _container(make_container, keys: tuple[str, ...]):
    container = make_container(encryption_keys=keys)
    container.migrate()
    return container


def _cli_environment(container, tmp_path) -> dict[str, str]:
    config = container.config
    return {
        "KAPBOOK_ENV": "test",
        "KAPBOOK_VAR_DIR": str(tmp_path),
        "KAPBOOK_BROKER_URL": config.broker_url,
        "ELIGIBILITY_DATABASE_URL": config.database_url,
        "ELIGIBILITY_ENCRYPTION_KEYS": ",".join(config.encryption_keys),
    }
