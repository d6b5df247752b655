"""The staff password rule and the argon2id hashes: no database, milliseconds each (but the hashing)."""
from __future__ import annotations

import pytest

from kapbook_booking.adapters.passwords import common_passwords, hash_password, needs_rehash, verify_password
from kapbook_booking.domain.staff_passwords import MIN_LENGTH, WeakPassword, check_password, password_problems

COMMON = common_passwords()


def test_the_bundled_list_holds_thousands_of_common_passwords_in_lower_case():
    assert len(COMMON) >= 3000
    assert {"123456", "password", "qwerty", "iloveyou"} <= COMMON
    assert all(entry == entry.lower() and not entry.startswith("#") for entry in COMMON)


@pytest.mark.parametrize("password", [
    "x" * (MIN_LENGTH - 1),          # too short, however random
    "password1234",                   # common word, digits added
    "Password2024!",                  # capitals do not help
    "!!iloveyou!!!",                  # symbols either side
    "qwertyuiop123",
    "aaaaaaaaaaaaaaaa",              # one character repeated
    "1234567890123",                  # a run of digits
    "zyxwvutsrqponm",                 # the alphabet backwards
])
def test_easy_passwords_are_refused_with_a_reason(password):
    problems = password_problems(password, COMMON)
    assert problems and all(problem.endswith(".") for problem in problems)
    with pytest.raises(WeakPassword) as refused:
        check_password(password, COMMON)
    assert refused.value.code == "weak_password" and refused.value.errors == {"password": problems}


@pytest.mark.parametrize("password", ["correct horse battery staple", "Tulip-Ferry-Quartz-91", "x" * 5 + "yzvw7" + "ab"])
def test_long_uncommon_passwords_pass(password):
    assert password_problems(password, COMMON) == []
    check_password(password, COMMON)


def test_a_password_of_exactly_the_minimum_length_passes_and_one_less_does_not():
    assert password_problems("trombone-kip", COMMON) == []
    assert password_problems("trombone-ki", COMMON)


def test_hashes_are_argon2id_salted_and_verify_only_the_right_password():
    first, second = hash_password("correct horse battery staple"), hash_password("correct horse battery staple")
    assert first.startswith("$argon2id$") and first != second, "a new salt every time"
    assert verify_password(first, "correct horse battery staple")
    assert not verify_password(first, "correct horse battery stapl")
    assert not verify_password("not a hash", "correct horse battery staple")
    assert not needs_rehash(first)
