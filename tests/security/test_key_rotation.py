"""Separate keys, each a rotation list, for CSRF, old manage links and unsubscribe links (issue 14, finding 12).

The first key of a list signs, every key verifies: a token made under the old key still works while the
old key is second in the list, and is refused once it is removed. Unset, each is derived from the
service's existing secret under a label of its own, so the three are different keys already.
"""
from __future__ import annotations

import pytest
from itsdangerous import URLSafeSerializer

from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.web import patient_access
from kapbook_booking.entrypoints.web.console import access
from kapbook_booking.service_layer.links import MANAGE_SALT
from kapbook_platform.config import ConfigError
from kapbook_reminders.config import RemindersConfig
from kapbook_reminders.domain.unsubscribe import unsubscribe_token
from support import production

OLD = "old-key-4d7a1c9e2b5f8a0d3c6e9b2f5a8d1c4e"
NEW = "new-key-9b2e5a8d1c4f7a0e3b6d9c2f5e8a1b4d"
UNSUBSCRIBE = "/api/reminders/v1/unsubscribe"


def test_the_three_keys_differ_from_each_other_and_from_the_secrets_by_default():
    booking = BookingConfig(secret_key="one-secret-for-both-7c1e9a3b5d2f4e6a8b0c", service_token="svc-token-3e5a7c9b1d2f4a6e8c0b")
    reminders = RemindersConfig(service_token=booking.service_token)
    csrf, manage = booking.effective_csrf_keys[0], booking.effective_manage_link_keys[0]
    unsubscribe = reminders.unsubscribe_key
    assert len({csrf, manage, unsubscribe.hex() if isinstance(unsubscribe, bytes) else unsubscribe,
                booking.secret_key, booking.service_token}) == 5
    assert unsubscribe not in (csrf.encode(), manage.encode(), booking.secret_key.encode(), booking.service_token.encode())


@pytest.mark.parametrize("variable", ["BOOKING_CSRF_KEYS", "BOOKING_MANAGE_LINK_KEYS"])
@pytest.mark.parametrize("bad", ["short-key", "dev-only-insecure-secret"])
def test_production_refuses_a_short_or_development_booking_key_naming_the_variable(variable, bad):
    env = production.production_environment("booking") | {variable: f"{NEW},{bad}"}
    with pytest.raises(ConfigError, match=variable):
        BookingConfig.from_env(env)
    BookingConfig.from_env(production.production_environment("booking") | {variable: f"{NEW},{OLD}"})


@pytest.mark.parametrize("bad", ["short-key", "dev-only-service-token"])
def test_production_refuses_a_short_or_development_unsubscribe_key_naming_the_variable(bad):
    with pytest.raises(ConfigError, match="REMINDERS_UNSUBSCRIBE_KEYS"):
        RemindersConfig.from_env(production.production_environment("reminders") | {"REMINDERS_UNSUBSCRIBE_KEYS": bad})
    RemindersConfig.from_env(production.production_environment("reminders") | {"REMINDERS_UNSUBSCRIBE_KEYS": NEW})


def _console_csrf(service, nonce: str, token: str | None = None):
    """The console sign-in form's CSRF token for ``nonce`` (or whether ``token`` passes), in ``service``."""
    cookie = {"Cookie": f"{access.SIGNIN_COOKIE}={nonce}"}
    with service.app.test_request_context("/staff/sign-in", method="POST", data={"csrf_token": token or ""}, headers=cookie):
        return access.csrf_token() if token is None else access.csrf_ok()


def _patient_csrf(service, nonce: str, token: str | None = None):
    cookie = {"Cookie": f"{patient_access.CSRF_COOKIE}={nonce}"}
    with service.app.test_request_context("/my/", method="POST", data={"csrf_token": token or ""}, headers=cookie):
        return patient_access.csrf_token() if token is None else patient_access.csrf_ok()


@pytest.mark.parametrize("csrf", [_console_csrf, _patient_csrf], ids=["console", "patient"])
def test_a_csrf_token_of_the_old_key_passes_while_it_is_listed_second_and_fails_once_removed(service_factory, csrf):
    before = service_factory("booking", csrf_keys=(OLD,), migrate=False)
    token = csrf(before, "nonce-1")
    rotated = service_factory("booking", csrf_keys=(NEW, OLD), migrate=False)
    retired = service_factory("booking", csrf_keys=(NEW,), migrate=False)
    assert csrf(rotated, "nonce-1") != token  # the new key signs
    assert csrf(rotated, "nonce-1", token) is True
    assert csrf(retired, "nonce-1", token) is False
    assert csrf(retired, "nonce-2", csrf(retired, "nonce-2")) is True


def test_an_old_style_manage_link_verifies_while_its_key_is_listed_and_not_once_removed(service_factory):
    before = service_factory("booking", manage_link_keys=(OLD,), migrate=False)
    token = before.container.lifecycle.links.legacy_token_for("booking-1")
    rotated = service_factory("booking", manage_link_keys=(NEW, OLD), migrate=False).container.lifecycle.links
    retired = service_factory("booking", manage_link_keys=(NEW,), migrate=False).container.lifecycle.links
    assert rotated.legacy_token_for("booking-1") != token  # the new key signs
    assert rotated._legacy_booking_id(token) == "booking-1"
    assert retired._legacy_booking_id(token) is None


def test_manage_links_signed_with_the_secret_key_itself_still_open_under_any_list(service_factory):
    """Links made before the lists existed were signed with BOOKING_SECRET_KEY: it stays a verifier."""
    secret = "links-1c9e7a5b3d2f4e6a8b0c1d2e3f4a5b6c"
    before = service_factory("booking", secret_key=secret, migrate=False).container.lifecycle.links
    token = URLSafeSerializer(secret, salt=MANAGE_SALT).dumps({"booking": "booking-1"})
    assert before._legacy_booking_id(token) == "booking-1"
    listed = service_factory("booking", secret_key=secret, manage_link_keys=(NEW,), migrate=False).container.lifecycle.links
    assert listed._legacy_booking_id(token) == "booking-1"


def test_an_unsubscribe_link_of_the_old_key_works_while_listed_second_and_not_once_removed(service_factory):
    before = service_factory("reminders", unsubscribe_keys=(OLD,))
    token = unsubscribe_token("pat@example.org", before.container.config.unsubscribe_key)
    rotated = service_factory("reminders", unsubscribe_keys=(NEW, OLD))
    retired = service_factory("reminders", unsubscribe_keys=(NEW,))
    assert unsubscribe_token("pat@example.org", rotated.container.config.unsubscribe_key) != token
    assert rotated.client.get(UNSUBSCRIBE, query_string={"token": token}).status_code == 200
    assert retired.client.get(UNSUBSCRIBE, query_string={"token": token}).status_code == 400


def test_unsubscribe_links_of_the_derived_default_keep_working_when_the_list_is_first_set(service_factory):
    before = service_factory("reminders")
    token = unsubscribe_token("pat@example.org", before.container.config.unsubscribe_key)
    listed = service_factory("reminders", unsubscribe_keys=(NEW,))
    assert listed.client.get(UNSUBSCRIBE, query_string={"token": token}).status_code == 200
    other_token = service_factory("reminders", service_token="svc-other-5e7a9c1b3d2f4a6e8c0b", unsubscribe_keys=(NEW,))
    assert other_token.client.get(UNSUBSCRIBE, query_string={"token": token}).status_code == 400
