"""Webhooks as rules: which events go out, their thin payloads, signatures, retry times, safe targets.

Pure functions (time passed in, no I/O). The payload carries ids and times only, never a
patient's name, email or phone: a receiver fetches details with its own scoped token.
Signatures follow the Standard Webhooks spec (https://www.standardwebhooks.com/).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from kapbook_platform.contracts.events import EventType

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for 24 to 64 random bytes

# Public event name -> the internal event types that produce it.
EVENT_SOURCES: dict[str, tuple[str, ...]] = {
    "booking.created": (EventType.BOOKING_CREATED,),
    "booking.rescheduled": (EventType.BOOKING_RESCHEDULED,),
    "booking.cancelled": (EventType.BOOKING_CANCELLED,),
    "booking.noshow": (EventType.BOOKING_NOSHOW,),
    "booking.completed": (EventType.BOOKING_COMPLETED,),
    "series.booked": (EventType.SERIES_BOOKED,),
    "series.cancelled": (EventType.SERIES_CANCELLED,),
    "screening.decided": (EventType.SCREENING_DECIDED, EventType.SCREENING_DECIDED_V1),
}
WEBHOOK_EVENT_TYPES: tuple[str, ...] = tuple(EVENT_SOURCES)
PUBLIC_NAME: dict[str, str] = {internal: public for public, internals in EVENT_SOURCES.items() for internal in internals}

# Waits after each failed attempt: 8 attempts over about 28 hours, then the delivery has failed.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
    timedelta(hours=5), timedelta(hours=10), timedelta(hours=10),
)


def public_event_name(internal_type: str) -> str | None:
    """``booking.created`` for ``kapbook.booking.created.v1``; None for events webhooks do not carry."""
    return PUBLIC_NAME.get(internal_type)


def thin_payload(public_name: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The ``data`` a receiver gets: ids, statuses and times. Never contact details or clinical content."""
    if public_name.startswith("booking."):
        series = data.get("series") or {}
        return {
            "booking_id": data["booking_id"], "status": data["status"], "sequence": data["sequence"],
            "start": data["start"], "end": data["end"], "previous_start": data.get("previous_start"),
            "location_id": data["location"]["id"], "clinician_id": data["clinician"]["id"],
            "series_id": series.get("series_id"), "series_position": series.get("position"),
        }
    if public_name == "series.booked":
        return {
            "series_id": data["series_id"], "protocol_id": data["protocol"]["id"],
            "booking_ids": [session["booking_id"] for session in data["sessions"]], "booked_at": data["booked_at"],
        }
    if public_name == "series.cancelled":
        return {
            "series_id": data["series_id"], "cancelled_booking_ids": list(data["cancelled_booking_ids"]),
            "kept_booking_ids": list(data["kept_booking_ids"]), "cancelled_at": data["cancelled_at"],
        }
    if public_name == "screening.decided":
        # Not the outcome: "crisis" or "ineligible" next to an id is health data.
        return {"screening_id": data["screening_id"], "decided_at": data["decided_at"]}
    raise ValueError(f"no webhook payload for {public_name!r}")


def message_body(public_name: str, occurred_at: datetime, data: Mapping[str, Any]) -> str:
    """The JSON body the spec recommends: ``type``, ``timestamp``, ``data`` (compact, stable key order)."""
    body = {"type": public_name, "timestamp": occurred_at.isoformat(), "data": thin_payload(public_name, data)}
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def secret_bytes(secret: str) -> bytes:
    """The key inside a ``whsec_<base64>`` secret."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def format_secret(key: bytes) -> str:
    return SECRET_PREFIX + base64.b64encode(key).decode()


def signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` (Standard Webhooks symmetric signature)."""
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets: Sequence[str], message_id: str, timestamp: int, body: str) -> str:
    """One signature per valid secret, space-separated (both during a rotation's grace period)."""
    return " ".join(signature(secret, message_id, timestamp, body) for secret in secrets)


def next_attempt_at(attempts_made: int, now: datetime) -> datetime | None:
    """When to try again after ``attempts_made`` failed attempts; None once the schedule is used up."""
    if attempts_made < 1 or attempts_made > len(RETRY_DELAYS):
        return None
    return now + RETRY_DELAYS[attempts_made - 1]


def succeeded(status_code: int | None) -> bool:
    """Any 2xx is a delivery; everything else (3xx included: redirects are not followed) is a failure."""
    return status_code is not None and 200 <= status_code < 300


# --- Safe targets (SSRF) ---------------------------------------------------------------------

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values if value.strip())


def address_refusal(address: Address, allowed: Iterable[Network] = ()) -> str | None:
    """Why a webhook may not be sent to ``address`` in production (None: it may).

    IPv4-mapped and NAT64 IPv6 forms are judged as the IPv4 address they carry.
    ``allowed`` networks (an in-house receiver, the tests) are accepted whatever they are.
    """
    if any(address.version == network.version and address in network for network in allowed):
        return None
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in NAT64 else None
        )
        if embedded is not None:
            return address_refusal(embedded, allowed)
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified or address.is_reserved:
        return "reserved"
    if address.is_private or not address.is_global:
        return "private"
    return None


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def url_problems(url: str, production: bool) -> list[str]:
    """What is wrong with a target URL as written (before any name is resolved)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return ["Not a valid URL."]
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        return ["Must be an absolute http(s) URL."]
    if production and parts.scheme != "https":
        return ["Must be an https URL in production."]
    if parts.username or parts.password:
        return ["Must not carry a user name or password."]
    if parts.fragment:
        return ["Must not have a #fragment."]
    return []


def literal_address(host: str) -> Address | None:
    """The IP address a host name is written as, if it is one."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
