"""Rate limits on the public write endpoints, the same way in every service (the ``limits`` package).

A view method marked ``@public_write`` (booking, holding, cancelling or rescheduling with a manage
link, submitting a screening) may be called ``KAPBOOK_RATE_LIMIT`` times by one client network:
an IPv4 address, or the /64 an IPv6 address belongs to (one subscriber gets a whole /64, so
counting single IPv6 addresses would let one client rotate through billions of them). Routes
that name the same ``scope`` share one count: the manage page's HTML form and the manage API
doing the same thing are one limit, not two. A route that says where the patient's email is
also counts per email (``KAPBOOK_RATE_LIMIT_PER_EMAIL``), so one inbox cannot be flooded from
many addresses. Emails are counted by a hash: the store never holds an address.

Nothing else is limited: staff routes need a token and are audited, reads are cheap, and staff
booking on a patient's behalf (a front desk shares one address) are signed in. A refused request
gets 429 in the shared error shape with ``Retry-After``. A route may ``spare`` a request over the
limit (the screening route spares answers that signal a crisis: help is never refused).

Counters live in ``KAPBOOK_RATE_LIMIT_STORAGE``: ``memory://`` counts in each process (so each
gunicorn worker separately; production refuses it), ``redis://`` counts across processes and
hosts. If that store stops answering, the process counts in memory rather than failing the request.
"""
from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from kapbook_platform.config import ConfigError, PlatformConfig
from kapbook_platform.web.errors import error_response

log = logging.getLogger(__name__)

PUBLIC_WRITE = "_kapbook_public_write"
LIMITER = "kapbook_limiter"
V = TypeVar("V", bound=Callable[..., Any])
NETWORK_MESSAGE = "Too many requests from your network; please wait a moment and try again."
EMAIL_MESSAGE = "Too many requests for this email address; please wait a while and try again."
IPV6_PREFIX = 64
# A store that hangs must not hang every public write with it: give up quickly (no retries with
# backoff, redis-py's default) and count in memory.
REDIS_TIMEOUT = 0.5
OUTAGE_LOG_INTERVAL = 60.0  # seconds between warnings while the store is down

RETRY_AFTER_DOC = {"Retry-After": {"description": "Seconds until the client may try again", "schema": {"type": "integer"}}}


@dataclass(frozen=True)
class WriteLimit:
    """How one public write is counted (set by ``@public_write``)."""

    scope: str | None = None  # the shared bucket; None: this route and method alone
    email: Callable[[], str | None] | None = None  # the patient's email in the request, if any
    spare: Callable[[], bool] | None = None  # True: serve this request even over the limit


def public_write(
    blp: Any = None, *, scope: str | None = None, email: Callable[[], str | None] | None = None,
    spare: Callable[[], bool] | None = None,
) -> Callable[[V], V]:
    """Mark a view function or MethodView method as a public write, rate limited per client network.

    ``scope`` names a count shared with every route giving the same name (an HTML form and its
    API twin); ``email`` returns the patient's email in the request, which is then counted too;
    ``spare`` returns True for a request that must be served even over the limit. Given the
    flask-smorest blueprint, the 429 answer is documented in the OpenAPI document too.
    """

    def decorator(view: V) -> V:
        if blp is not None:
            view = blp.alt_response(
                429, description="Too many requests from this network or for this email (rate_limited); see Retry-After",
                headers=RETRY_AFTER_DOC,
            )(view)
        setattr(view, PUBLIC_WRITE, WriteLimit(scope, email, spare))
        return view

    return decorator


def write_limit() -> WriteLimit | None:
    """How the current request is limited, or None when it is not a public write."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return None
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, request.method.lower(), None) if view_class is not None else view
    return getattr(handler, PUBLIC_WRITE, None)


def is_public_write() -> bool:
    """Whether the current request goes to a method marked ``@public_write``."""
    return write_limit() is not None


def client_key(address: str | None) -> str:
    """The network a client is counted by: an IPv4 address as is, an IPv6 address by its /64."""
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/{IPV6_PREFIX}", strict=False))
    return str(ip)


def email_key(email: str) -> str:
    """What an email is counted by: a hash, so the counter store holds no address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def patient_email_in_json() -> str | None:
    """``patient.email`` of a JSON body (bookings, screenings, series), if there is one."""
    body = request.get_json(silent=True)
    patient = body.get("patient") if isinstance(body, dict) else None
    email = patient.get("email") if isinstance(patient, dict) else None
    return email if isinstance(email, str) and email.strip() else None


class RateLimited(Exception):
    """A public write over its limit; answered 429."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@dataclass
class RateLimits:
    """The counters of one app: per client network and per patient email, in the configured store."""

    per_network: list[RateLimitItem]
    per_email: list[RateLimitItem]
    storage: Storage
    prefix: str

    def __post_init__(self) -> None:
        self.limiter = FixedWindowRateLimiter(self.storage)
        self.fallback = FixedWindowRateLimiter(MemoryStorage())
        self.moving = MovingWindowRateLimiter(self.storage)
        self.moving_fallback = MovingWindowRateLimiter(MemoryStorage())
        self._warned_at = -OUTAGE_LOG_INTERVAL

    def check(self, limit: WriteLimit) -> None:
        """Count the current request; raise RateLimited when it is over a limit and not spared."""
        scope = limit.scope or f"{request.endpoint}:{request.method}"
        refusal = self._hit(self.per_network, (self.prefix, scope, "net", client_key(request.remote_addr)),
                            NETWORK_MESSAGE)
        email = limit.email() if limit.email is not None and refusal is None else None
        if email:
            refusal = self._hit(self.per_email, (self.prefix, scope, "email", email_key(email)), EMAIL_MESSAGE)
        if refusal is None:
            return
        if limit.spare is not None and limit.spare():
            log.warning("request over the rate limit served (spared)", extra={"scope": scope})
            return
        raise refusal

    def _hit(self, items: list[RateLimitItem], identifiers: tuple[str, ...], message: str) -> RateLimited | None:
        for item in items:
            limiter = self.limiter
            try:
                allowed = limiter.hit(item, *identifiers)
            except self.storage.base_exceptions as error:
                # A store that stops answering must not take booking down with it: count here meanwhile.
                self._warn_outage(error)
                limiter = self.fallback
                allowed = limiter.hit(item, *identifiers)
            if not allowed:
                reset_at = limiter.get_window_stats(item, *identifiers).reset_time
                return RateLimited(message, max(math.ceil(reset_at - time.time()), 1))
        return None


    def hit_extra(self, items: list[RateLimitItem], scope: str, key: str) -> int | None:
        """One moving-window count for ``key`` in ``scope``; None when allowed, else seconds to wait."""
        identifiers = (self.prefix, scope, "extra", key)
        for item in items:
            limiter = self.moving
            try:
                allowed = limiter.hit(item, *identifiers)
            except self.storage.base_exceptions as error:
                self._warn_outage(error)
                limiter = self.moving_fallback
                allowed = limiter.hit(item, *identifiers)
            if not allowed:
                reset_at = limiter.get_window_stats(item, *identifiers).reset_time
                return max(math.ceil(reset_at - time.time()), 1)
        return None

    def _warn_outage(self, error: Exception) -> None:
        if time.monotonic() - self._warned_at >= OUTAGE_LOG_INTERVAL:
            self._warned_at = time.monotonic()
            log.warning("rate-limit store unavailable; counting in this process", extra={"error": type(error).__name__})


def _parse(env: str, limit: str) -> list[RateLimitItem]:
    try:
        return list(parse_many(limit))
    except ValueError:
        raise ConfigError(f"{env} must be like 30/minute or 10/minute;100/hour, not {limit!r}") from None


def _store_options(uri: str) -> dict[str, Any]:
    if not uri.startswith("redis"):
        return {}
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return {"socket_timeout": REDIS_TIMEOUT, "socket_connect_timeout": REDIS_TIMEOUT, "retry": Retry(NoBackoff(), 1)}


def _staff_signed_in() -> bool:
    auth = current_app.extensions.get("kapbook_staff_auth")
    return auth is not None and auth.current() is not None


def install_rate_limits(app: Flask, config: PlatformConfig) -> RateLimits:
    """Limit the app's ``@public_write`` routes as ``config`` says; refuse to start on a bad setting."""
    per_network = _parse("KAPBOOK_RATE_LIMIT", config.effective_rate_limit)
    per_email = _parse("KAPBOOK_RATE_LIMIT_PER_EMAIL", config.effective_rate_limit_per_email)
    try:
        storage = storage_from_string(config.rate_limit_storage, **_store_options(config.rate_limit_storage))
    except ConfigurationError as error:
        raise ConfigError(f"KAPBOOK_RATE_LIMIT_STORAGE {config.rate_limit_storage!r} cannot be used: {error}") from None
    limits = RateLimits(per_network, per_email, storage, prefix=f"{config.broker_namespace}:{config.service_name}")
    app.extensions[LIMITER] = limits

    @app.before_request
    def _count_public_writes() -> None:
        limit = write_limit()
        # Staff booking for patients at the front desk share one address; a signed-in staff member is not limited.
        if limit is not None and not _staff_signed_in():
            limits.check(limit)

    def too_many_requests(refusal: RateLimited):
        return error_response(429, "rate_limited", refusal.message, headers={"Retry-After": str(refusal.retry_after)})

    app.register_error_handler(RateLimited, too_many_requests)
    return limits


def hit_extra_limit(limit: str, scope: str, key: str) -> int | None:
    """Count one request against ``limit`` (e.g. ``5/hour``) for ``key`` within ``scope``, beyond the per-route limit.

    For limits keyed by something other than the route and client network (sign-in links per email
    address). A moving window, so a test or a patient never sees a count reset on the hour. Returns
    None when allowed, else the seconds until the next request would be. The key should not be
    personal data in clear (hash an email first).
    """
    limits: RateLimits = current_app.extensions[LIMITER]
    return limits.hit_extra(parse_many(limit), scope, key)
