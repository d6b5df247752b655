"""The field cipher: sealed JSON values, bound to their place, with key rotation."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from kapbook_eligibility.adapters.encryption import FieldCipher, SealedValueUnreadable

CONTEXT = "screening:abc:answers"


@pytest.fixture
def old_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def new_key() -> str:
    return Fernet.generate_key().decode()


def test_a_sealed_value_opens_to_the_same_json(old_key):
    cipher = FieldCipher([old_key])
    value = {"date_of_birth": "1984-05-17", "phq9_1": 2, "medications": ["ssri"], "bp_systolic": None}

    token = cipher.seal(CONTEXT, value)

    assert b"1984" not in token and b"phq9" not in token
    assert cipher.open(CONTEXT, token) == value


def test_a_value_sealed_for_one_place_does_not_open_in_another(old_key):
    cipher = FieldCipher([old_key])
    token = cipher.seal("screening:one:answers", {"a": 1})

    with pytest.raises(SealedValueUnreadable) as raised:
        cipher.open("screening:two:answers", token)
    assert "another place" in str(raised.value)


def test_an_unknown_key_cannot_open_and_says_so_without_content(old_key, new_key):
    token = FieldCipher([old_key]).seal(CONTEXT, {"secret": "x-sentinel"})

    with pytest.raises(SealedValueUnreadable) as raised:
        FieldCipher([new_key]).open(CONTEXT, token)
    assert "x-sentinel" not in str(raised.value)


def test_rotation_moves_a_token_to_the_newest_key(old_key, new_key):
    token = FieldCipher([old_key]).seal(CONTEXT, ["v"])
    both = FieldCipher([new_key, old_key])
    assert not both.is_current(token)

    rotated = both.rotate(CONTEXT, token)

    assert both.is_current(rotated)
    assert FieldCipher([new_key]).open(CONTEXT, rotated) == ["v"]


def test_new_values_are_sealed_with_the_first_key(old_key, new_key):
    token = FieldCipher([new_key, old_key]).seal(CONTEXT, 1)

    assert FieldCipher([new_key]).open(CONTEXT, token) == 1
    with pytest.raises(SealedValueUnreadable):
        FieldCipher([old_key]).open(CONTEXT, token)


def test_rotation_refuses_a_token_of_another_place(old_key, new_key):
    token = FieldCipher([old_key]).seal("review:one:note", "n")

    with pytest.raises(SealedValueUnreadable):
        FieldCipher([new_key, old_key]).rotate("review:two:note", token)
