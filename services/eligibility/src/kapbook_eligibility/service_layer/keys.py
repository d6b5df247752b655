"""Key rotation: re-encrypt everything stored with the newest key, so older keys can be retired.

The procedure: prepend a new key to ELIGIBILITY_ENCRYPTION_KEYS and restart (new rows use it,
old rows still open), run ``kapbook-eligibility rotate-keys``, then drop the old key.
Each batch is its own transaction, so a rotation can be interrupted and simply run again.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from kapbook_eligibility.adapters import repository as repo
from kapbook_eligibility.adapters.encryption import FieldCipher
from kapbook_eligibility.service_layer.check_ins import check_in_answers_context, check_in_result_context
from kapbook_eligibility.service_layer.reviews import note_context
from kapbook_eligibility.service_layer.screenings import answers_context, result_context

BATCH_SIZE = 200


@dataclass(frozen=True)
class RotationReport:
    screenings_rotated: int
    notes_rotated: int
    already_current: int
    check_ins_rotated: int = 0


def rotate_keys(sessions: sessionmaker[Session], cipher: FieldCipher, batch_size: int = BATCH_SIZE) -> RotationReport:
    """Re-encrypt every screening's and check-in's answers and result and every review note with the newest key."""
    screenings, current_screenings = _rotate_sealed_pairs(
        sessions, cipher, batch_size, repo.screening_ciphertexts, repo.update_screening_ciphertexts,
        answers_context, result_context)
    check_ins, current_check_ins = _rotate_sealed_pairs(
        sessions, cipher, batch_size, repo.check_in_ciphertexts, repo.update_check_in_ciphertexts,
        check_in_answers_context, check_in_result_context)
    notes, current_notes = _rotate_notes(sessions, cipher, batch_size)
    return RotationReport(screenings, notes, current_screenings + current_notes + current_check_ins, check_ins)


def _rotate_sealed_pairs(
    sessions: sessionmaker[Session], cipher: FieldCipher, batch_size: int, read: Callable, write: Callable,
    answers_context: Callable[[str], str], result_context: Callable[[str], str],
) -> tuple[int, int]:
    """Rotate the (answers, result) ciphertexts of one table: screenings or check-ins."""
    rotated = current = 0
    last_id = ""
    while True:
        with sessions.begin() as session:
            rows = read(session, last_id, batch_size)
            for row in rows:
                if cipher.is_current(row["answers_encrypted"]) and cipher.is_current(row["result_encrypted"]):
                    current += 1
                    continue
                answers = cipher.rotate(answers_context(row["id"]), row["answers_encrypted"])
                result = cipher.rotate(result_context(row["id"]), row["result_encrypted"])
                write(session, row["id"], answers, result)
                rotated += 1
        if len(rows) < batch_size:
            return rotated, current
        last_id = rows[-1]["id"]


def _rotate_notes(sessions: sessionmaker[Session], cipher: FieldCipher, batch_size: int) -> tuple[int, int]:
    rotated = current = 0
    last_id = 0
    while True:
        with sessions.begin() as session:
            rows = repo.review_ciphertexts(session, last_id, batch_size)
            for row in rows:
                if cipher.is_current(row["note_encrypted"]):
                    current += 1
                    continue
                note = cipher.rotate(note_context(row["screening_id"]), row["note_encrypted"])
                repo.update_review_note(session, row["id"], note)
                rotated += 1
        if len(rows) < batch_size:
            return rotated, current
        last_id = rows[-1]["id"]
