"""TOTP codes and recovery codes (domain.two_step): pure, the moment passed in."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyotp

from kapbook_booking.domain.two_step import (
    matching_step,
    new_recovery_codes,
    new_secret,
    normalise,
    provisioning_uri,
    recovery_digest,
)

NOON = datetime(2031, 3, 4, 12, 0, 10, tzinfo=timezone.utc)


def test_the_code_of_now_and_of_one_step_either_side_match_and_older_ones_do_not():
    secret = new_secret()
    totp = pyotp.TOTP(secret)
    step = totp.timecode(NOON)
    assert matching_step(secret, totp.at(NOON), NOON, None) == step
    assert matching_step(secret, totp.at(NOON - timedelta(seconds=30)), NOON, None) == step - 1
    assert matching_step(secret, totp.at(NOON + timedelta(seconds=30)), NOON, None) == step + 1
    assert matching_step(secret, totp.at(NOON - timedelta(seconds=90)), NOON, None) is None


def test_a_code_is_accepted_once_only():
    secret = new_secret()
    code = pyotp.TOTP(secret).at(NOON)
    step = matching_step(secret, code, NOON, None)
    assert matching_step(secret, code, NOON, last_step=step) is None
    assert matching_step(secret, code, NOON + timedelta(seconds=5), last_step=step) is None


def test_spaces_are_ignored_and_anything_but_six_digits_is_refused():
    secret = new_secret()
    code = pyotp.TOTP(secret).at(NOON)
    assert matching_step(secret, f" {code[:3]} {code[3:]} ", NOON, None) is not None
    assert matching_step(secret, code[:5], NOON, None) is None
    assert matching_step(secret, "abcdef", NOON, None) is None


def test_the_provisioning_uri_names_kapbook_and_the_account():
    uri = provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "ana@clinic.example")
    assert uri.startswith("otpauth://totp/Kapbook:ana%40clinic.example?") and "secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" in uri
    assert "issuer=Kapbook" in uri


def test_ten_distinct_recovery_codes_whose_digest_ignores_case_spaces_and_dashes():
    codes = new_recovery_codes()
    assert len(codes) == len(set(codes)) == 10
    assert all(len(normalise(code)) == 10 for code in codes)
    code = codes[0]
    assert recovery_digest(code) == recovery_digest(code.upper().replace("-", " "))
    assert recovery_digest(code) != recovery_digest(codes[1])
