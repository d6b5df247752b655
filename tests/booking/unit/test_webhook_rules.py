"""Webhook rules as pure functions: safe addresses (IPv4, IPv6, mapped forms), URLs, retries, signatures, payloads."""
from __future__ import annotations

import ipaddress
import json
from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks import Webhook

from kapbook_booking.adapters.secret_box import SealedSecretUnreadable, SecretBox
from kapbook_booking.adapters.webhook_http import TargetGuard, UnsafeTarget, WebhookSender
from kapbook_booking.domain.webhooks import (
    RETRY_DELAYS,
    address_refusal,
    format_secret,
    message_body,
    next_attempt_at,
    parse_networks,
    signature_header,
    succeeded,
    url_problems,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("address, reason", [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("10.0.0.1", "private"), ("172.16.5.4", "private"), ("192.168.1.1", "private"), ("fd00::1", "private"),
    ("100.64.0.1", "private"),  # carrier-grade NAT: not reachable from the internet either
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("0.0.0.0", "reserved"), ("::", "reserved"), ("240.0.0.1", "reserved"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:10.0.0.1", "private"), ("::ffff:169.254.169.254", "link-local"),
    ("64:ff9b::a00:1", "private"),  # NAT64 form of 10.0.0.1
])
def test_internal_addresses_are_refused_with_their_kind(address, reason):
    assert address_refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address):
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_the_allowlist_admits_its_networks_only():
    allowed = parse_networks(["127.0.0.1/32", "10.20.0.0/16"])
    assert address_refusal(ipaddress.ip_address("127.0.0.1"), allowed) is None
    assert address_refusal(ipaddress.ip_address("::ffff:10.20.3.4"), allowed) is None
    assert address_refusal(ipaddress.ip_address("127.0.0.2"), allowed) == "loopback"
    assert address_refusal(ipaddress.ip_address("10.21.0.1"), allowed) == "private"


@pytest.mark.parametrize("url, production, ok", [
    ("https://hooks.example/x", True, True), ("http://hooks.example/x", True, False),
    ("http://hooks.example/x", False, True), ("ftp://hooks.example/x", False, False),
    ("https://user:pw@hooks.example/x", False, False), ("https://hooks.example:99999/x", False, False),
    ("hooks.example/x", False, False), ("https://hooks.example/x#frag", False, False),
])
def test_url_problems(url, production, ok):
    assert (url_problems(url, production) == []) is ok


def test_the_production_guard_refuses_literal_and_resolved_internal_targets_but_development_does_not():
    production = TargetGuard(production=True)
    for url in ("https://127.0.0.1/x", "https://[::ffff:192.168.0.1]/x", "https://169.254.169.254/x"):
        with pytest.raises(UnsafeTarget):
            production.check_url(url)
    with pytest.raises(UnsafeTarget, match="loopback"):
        production.addresses("https://localhost/x")  # a name: refused once resolved
    assert TargetGuard(production=False).addresses("http://127.0.0.1:9/x") == [ipaddress.ip_address("127.0.0.1")]
    allowed = TargetGuard(production=True, allowed=parse_networks(["127.0.0.0/8"]))
    assert allowed.addresses("https://127.0.0.1/x") == [ipaddress.ip_address("127.0.0.1")]


def test_a_refused_target_is_an_error_result_not_an_exception():
    result = WebhookSender(TargetGuard(production=True)).post("https://10.0.0.1/x", "{}", {})
    assert result.status_code is None and result.error.startswith("refused:")


def test_the_retry_schedule_spans_about_a_day_then_gives_up():
    total = sum(RETRY_DELAYS, timedelta())
    assert timedelta(hours=20) <= total <= timedelta(hours=30)
    assert next_attempt_at(1, NOW) == NOW + timedelta(seconds=5)
    assert next_attempt_at(2, NOW) == NOW + timedelta(minutes=5)
    assert next_attempt_at(len(RETRY_DELAYS), NOW) == NOW + RETRY_DELAYS[-1]
    assert next_attempt_at(len(RETRY_DELAYS) + 1, NOW) is None


def test_only_2xx_counts_as_delivered():
    assert succeeded(200) and succeeded(204)
    assert not succeeded(301) and not succeeded(410) and not succeeded(503) and not succeeded(None)


def test_signatures_verify_with_the_standardwebhooks_library_for_each_secret():
    old, new = format_secret(b"o" * 32), format_secret(b"n" * 32)
    timestamp = int(datetime.now(timezone.utc).timestamp())  # the library checks it against the real clock
    body = '{"type":"booking.created"}'
    header = signature_header([new, old], "msg_1", timestamp, body)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(timestamp), "webhook-signature": header}
    assert Webhook(new).verify(body, headers) == {"type": "booking.created"}
    assert Webhook(old).verify(body, headers) == {"type": "booking.created"}
    with pytest.raises(Exception):
        Webhook(format_secret(b"x" * 32)).verify(body, headers)
    tampered = headers | {"webhook-id": "msg_2"}
    with pytest.raises(Exception):
        Webhook(new).verify(body, tampered)


def test_a_booking_payload_keeps_ids_and_times_and_drops_patient_details():
    data = {
        "booking_id": "b1", "sequence": 0, "status": "booked", "start": "2026-12-10T15:00:00+00:00",
        "end": "2026-12-10T15:30:00+00:00", "appointment_type": {"code": "iv", "name": "IV", "category": "dosing_iv", "modality": "in_person"},
        "location": {"id": "l1", "name": "Main", "timezone": "UTC", "address": "1 Main St"},
        "clinician": {"id": "c1", "name": "Dr A"}, "patient": {"name": "Pat Example", "email": "pat@example.org", "timezone": "UTC", "phone": "+15550100"},
        "manage_url": "https://book.example/manage/secret-token", "cancellation_notice_hours": 24,
        "join_url": "https://video.example/room-secret", "series": {"series_id": "s1", "protocol_name": "Six infusions", "position": 2, "size": 6},
    }
    body = message_body("booking.created", NOW, data)
    parsed = json.loads(body)
    assert parsed["type"] == "booking.created" and parsed["timestamp"] == NOW.isoformat()
    assert parsed["data"] == {
        "booking_id": "b1", "status": "booked", "sequence": 0, "start": data["start"], "end": data["end"],
        "previous_start": None, "location_id": "l1", "clinician_id": "c1", "series_id": "s1", "series_position": 2,
    }
    for secret_or_phi in ("Pat", "pat@example.org", "+15550100", "secret-token", "room-secret", "Dr A", "1 Main St", "dosing_iv", "Six infusions"):
        assert secret_or_phi not in body


def test_series_and_screening_payloads_are_thin():
    booked = json.loads(message_body("series.booked", NOW, {
        "series_id": "s1", "protocol": {"id": "p1", "name": "Six infusions"}, "patient": {"name": "Pat", "email": "p@x.org", "timezone": "UTC"},
        "sessions": [{"booking_id": "b1"}, {"booking_id": "b2"}], "booked_at": NOW.isoformat(),
    }))
    assert booked["data"] == {"series_id": "s1", "protocol_id": "p1", "booking_ids": ["b1", "b2"], "booked_at": NOW.isoformat()}
    decided = json.loads(message_body("screening.decided", NOW, {
        "screening_id": "x", "patient_email": "p@x.org", "outcome": "crisis", "ruleset_version": "1",
        "decided_at": NOW.isoformat(), "valid_until": NOW.isoformat(),
    }))
    assert decided["data"] == {"screening_id": "x", "decided_at": NOW.isoformat()}


def test_sealed_secrets_open_only_with_the_same_service_key():
    sealed = SecretBox("key-one").seal("whsec_abc")
    assert "whsec_abc" not in sealed and SecretBox("key-one").open(sealed) == "whsec_abc"
    with pytest.raises(SealedSecretUnreadable):
        SecretBox("key-two").open(sealed)
