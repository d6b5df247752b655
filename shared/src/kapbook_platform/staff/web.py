"""The Flask side of staff authentication: who the current request's staff member is, and the
decorators that let only staff (or only other Kapbook services) call a view."""
from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, request
from sqlalchemy import Table
from sqlalchemy.orm import Session, sessionmaker

from kapbook_platform.clock import Clock, utc_now
from kapbook_platform.staff.principal import StaffPrincipal, authenticate
from kapbook_platform.staff.scopes import ALL, ANY, allows, describe
from kapbook_platform.web.errors import Forbidden, Unauthorized

STAFF_COOKIE = "kapbook_staff"
# The booking console names the staff member's browser address here when it calls another service.
CLIENT_ADDRESS_HEADER = "Kapbook-Client-Address"


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass(frozen=True)
class StaffAuth:
    """Resolves the staff member of the current request against a service's credential table.

    A bearer token works everywhere. The staff console's cookie holds a session secret, not a
    credential: it counts only on ``cookie_blueprints`` (the console's pages, whose forms carry
    CSRF tokens) and only through ``cookie_principal`` (the booking service's session lookup). A
    JSON API never honours a cookie: the browser sends one on its own, so another page of the same
    site could drive it.
    """

    sessions: sessionmaker[Session]
    table: Table
    cookie_blueprints: frozenset[str] = frozenset()
    cookie_principal: Callable[[str], StaffPrincipal | None] | None = None
    clock: Clock = utc_now  # when tokens expire (a test travels it)

    def current(self) -> StaffPrincipal | None:
        if "staff" not in g:
            g.staff = None
            token = bearer_token()
            if token:
                with self.sessions() as session:
                    g.staff = authenticate(session, self.table, token, self.clock())
            elif self.cookie_principal is not None and request.blueprint in self.cookie_blueprints:
                secret = request.cookies.get(STAFF_COOKIE)
                g.staff = self.cookie_principal(secret) if secret else None
        return g.staff


def current_staff() -> StaffPrincipal | None:
    """The staff member of the current request, or None; never None in a view behind ``require_staff``."""
    return current_app.extensions["kapbook_staff_auth"].current()


def audited_address() -> str | None:
    """The address to write in the audit log for this staff request: the browser's, as the booking
    console vouches for it on a session's delegate credential (no one else can present one), else the
    connection's own. A header sent with any other credential is ignored, so it cannot be spoofed."""
    staff = current_staff()
    forwarded = request.headers.get(CLIENT_ADDRESS_HEADER, "").strip()[:64]
    if staff is not None and staff.is_console_delegate and forwarded:
        return forwarded
    return request.remote_addr


def require_staff(*roles: str, scope: str | tuple[str, ...] | None = None) -> Callable:
    """Decorate a view: 401 without a valid staff token, 403 without one of ``roles`` (any if none), 403
    ``insufficient_scope`` when the token's scopes lack ``scope`` (one scope, or a tuple of which any
    will do). Undeclared, a read needs any scope and a write every scope: a route forgotten fails closed."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_staff()
            if principal is None:
                raise Unauthorized("Sign in with a staff token.", headers={"WWW-Authenticate": 'Bearer realm="kapbook"'})
            if roles and principal.role not in roles:
                raise Forbidden(f"This needs one of the roles: {', '.join(roles)}.")
            needed = scope or (ANY if request.method in ("GET", "HEAD") else ALL)
            if not allows(principal.scopes, needed):
                raise Forbidden(f"This token's scopes do not allow this: it needs {describe(needed)}.",
                                code="insufficient_scope", errors={"scope": [describe(needed)]})
            return view(*args, **kwargs)

        return wrapper

    return decorator


def require_service_token(view: Callable) -> Callable:
    """Decorate a view that only other Kapbook services may call."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        expected = current_app.extensions["kapbook_config"].service_token
        # Bytes: compare_digest raises TypeError on a str that is not ASCII (a 500, not a 401).
        if not hmac.compare_digest((bearer_token() or "").encode(), expected.encode()):
            raise Unauthorized("A service credential is required.", headers={"WWW-Authenticate": 'Bearer realm="kapbook-service"'})
        return view(*args, **kwargs)

    return wrapper
