"""Unsubscribe tokens: made for one address, unforgeable, case-insensitive."""
from __future__ import annotations

import pytest

from kapbook_reminders.domain.unsubscribe import email_from_token, unsubscribe_token

KEY = b"k" * 32


def test_token_names_its_address_back():
    assert email_from_token(unsubscribe_token("Alex.Morgan@Example.org", KEY), KEY) == "alex.morgan@example.org"


def test_token_is_url_safe_and_does_not_show_the_address():
    token = unsubscribe_token("alex@example.org", KEY)
    assert "@" not in token and "example" not in token
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_token_from_another_key_is_refused():
    assert email_from_token(unsubscribe_token("alex@example.org", b"other-key"), KEY) is None


def test_address_swapped_into_a_genuine_token_is_refused():
    genuine = unsubscribe_token("alex@example.org", KEY)
    forged_address = unsubscribe_token("victim@example.org", KEY).split(".")[0]
    assert email_from_token(f"{forged_address}.{genuine.split('.')[1]}", KEY) is None


@pytest.mark.parametrize("token", ["", ".", "abc", "abc.", ".abc", "a.b.c", "%%%.***", "x" * 5000, "\u00e9.\u00e9"])
def test_garbage_is_refused(token):
    assert email_from_token(token, KEY) is None


def test_a_token_verifies_under_any_key_of_a_rotation_list_and_under_none_without_its_key():
    token = unsubscribe_token("alex@example.org", b"old-key")
    assert email_from_token(token, b"new-key", b"old-key") == "alex@example.org"
    assert email_from_token(token, b"new-key") is None
    assert email_from_token(token) is None
