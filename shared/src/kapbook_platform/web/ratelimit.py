"""Rate limits on the public write endpoints, the same way in every service (flask-limiter).

A view method marked ``@public_write`` (booking, holding, cancelling or rescheduling with a manage
link, submitting a screening) may be called ``KAPBOOK_RATE_LIMIT`` times by one client IP, counted
per route and method. Nothing else is limited: staff routes need a token and are audited, reads
are cheap, and staff booking on a patient's behalf (a front desk shares one address) are signed in.
A refused request gets 429 in the shared error shape with ``Retry-After``.

Counters live in ``KAPBOOK_RATE_LIMIT_STORAGE``: ``memory://`` counts in each process (so each
gunicorn worker separately), a shared store such as ``redis://`` counts across processes and hosts.
If that store stops answering, each process falls back to counting in memory rather than failing
the request.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import parse_many
from limits.errors import ConfigurationError

from kapbook_platform.config import ConfigError, PlatformConfig
from kapbook_platform.web.errors import error_response

PUBLIC_WRITE = "_kapbook_public_write"
LIMITER = "kapbook_limiter"
V = TypeVar("V", bound=Callable[..., Any])


RETRY_AFTER_DOC = {"Retry-After": {"description": "Seconds until the client may try again", "schema": {"type": "integer"}}}


def public_write(blp: Any = None) -> Callable[[V], V]:
    """Mark a view function or MethodView method as a public write: it is rate limited per client IP.

    Given the flask-smorest blueprint, the 429 answer is documented in the OpenAPI document too.
    """

    def decorator(view: V) -> V:
        if blp is not None:
            view = blp.alt_response(
                429, description="Too many requests from this address (rate_limited); see Retry-After",
                headers=RETRY_AFTER_DOC,
            )(view)
        setattr(view, PUBLIC_WRITE, True)
        return view

    return decorator


def is_public_write() -> bool:
    """Whether the current request goes to a method marked ``@public_write``."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return False
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, request.method.lower(), None) if view_class is not None else view
    return bool(getattr(handler, PUBLIC_WRITE, False))


def _staff_signed_in() -> bool:
    auth = current_app.extensions.get("kapbook_staff_auth")
    return auth is not None and auth.current() is not None


def install_rate_limits(app: Flask, config: PlatformConfig) -> Limiter:
    """Limit the app's ``@public_write`` routes as ``config`` says; refuse to start on a bad setting."""
    limit = config.effective_rate_limit
    try:
        parse_many(limit)
    except ValueError:
        raise ConfigError(f"KAPBOOK_RATE_LIMIT must be like 30/minute or 10/minute;100/hour, not {limit!r}") from None
    try:
        limiter = Limiter(
            get_remote_address,  # the client's address; install_proxy_fix makes it the proxy's client
            app=app,
            default_limits=[limit],
            default_limits_per_method=True,
            storage_uri=config.rate_limit_storage,
            strategy="fixed-window",
            key_prefix=f"kapbook-{config.service_name}",
            in_memory_fallback_enabled=True,
        )
    except ConfigurationError as error:
        raise ConfigError(f"KAPBOOK_RATE_LIMIT_STORAGE {config.rate_limit_storage!r} cannot be used: {error}") from None
    # Staff booking for patients at the front desk share one address; a signed-in staff member is not limited.
    limiter.request_filter(lambda: not is_public_write() or _staff_signed_in())
    app.extensions[LIMITER] = limiter

    def too_many_requests(_error: RateLimitExceeded):
        window = limiter.current_limit
        wait = math.ceil(window.reset_at - time.time()) if window is not None else 60
        return error_response(
            429, "rate_limited", "Too many requests from your network; please wait a moment and try again.",
            headers={"Retry-After": str(max(wait, 1))},
        )

    app.register_error_handler(RateLimitExceeded, too_many_requests)
    return limiter


def hit_extra_limit(limit: str, scope: str, key: str) -> int | None:
    """Count one request against ``limit`` (e.g. ``5/hour``) for ``key`` within ``scope``, beyond the per-route limit.

    For limits keyed by something other than the route and IP (sign-in links per email address).
    A moving window, so a test or a patient never sees a count reset on the hour. Returns None when
    allowed, else the seconds until the next request would be. The key should not be personal data
    in clear (hash an email first). A counter store that stops answering allows the request, as the
    per-route limits' in-memory fallback does.
    """
    from limits.strategies import MovingWindowRateLimiter

    limiter: Limiter = current_app.extensions[LIMITER]
    try:
        strategy = MovingWindowRateLimiter(limiter.storage)
        for item in parse_many(limit):
            if not strategy.hit(item, scope, key):
                reset_at, _remaining = strategy.get_window_stats(item, scope, key)
                return max(math.ceil(reset_at - time.time()), 1)
    except Exception as error:  # the store is down: do not turn a patient away for it
        current_app.logger.warning("extra rate limit not counted", extra={"scope": scope, "error": repr(error)})
    return None
