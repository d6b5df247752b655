"""Staff authentication shared by every service, and the audit log.

The booking service issues staff bearer tokens and stores only their SHA-256 digest. It
publishes each issue and revocation as an event; every other service keeps a projection of
those digests in its own ``staff_credentials`` table, so each service authenticates staff
without reading another's database.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from flask import current_app, g, request
from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table, select, update
from sqlalchemy.orm import Session, sessionmaker

from kapbook_platform.database import UtcDateTime

from kapbook_platform.contracts import Envelope, EventType
from kapbook_platform.web.errors import Forbidden, Unauthorized

ROLES = ("admin", "clinician", "front_desk")
TOKEN_PREFIX = "kbs_"


@dataclass(frozen=True)
class StaffPrincipal:
    staff_id: str
    name: str
    role: str
    credential_id: str


def new_staff_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def staff_credentials_table(metadata: MetaData) -> Table:
    return Table(
        "staff_credentials",
        metadata,
        Column("credential_id", String(64), primary_key=True),
        Column("staff_id", String(64), nullable=False),
        Column("staff_name", String(200), nullable=False),
        Column("role", String(20), nullable=False),
        Column("token_sha256", String(64), nullable=False, unique=True),
        Column("issued_at", UtcDateTime(), nullable=False),
        Column("revoked_at", UtcDateTime(), nullable=True),
    )


def audit_log_table(metadata: MetaData) -> Table:
    """Who did or saw what, when: one row an action, never the content itself."""
    return Table(
        "audit_log",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("at", UtcDateTime(), nullable=False),
        Column("actor", String(100), nullable=False),
        Column("action", String(100), nullable=False),
        Column("target", String(200), nullable=False),
        Column("detail", JSON, nullable=True),
        Index("ix_audit_target", "target"),
    )


def record_audit(session: Session, table: Table, actor: str, action: str, target: str, detail: dict | None = None) -> None:
    session.execute(
        table.insert().values(at=datetime.now(timezone.utc), actor=actor, action=action, target=target, detail=detail)
    )


def credential_issued_handler(table: Table) -> Callable[[Session, Envelope], None]:
    """Event handler: project an issued credential (idempotent upsert)."""

    def handle(session: Session, envelope: Envelope) -> None:
        data = envelope.data
        exists = session.execute(select(table.c.credential_id).where(table.c.credential_id == data["credential_id"])).first()
        if exists:
            return
        session.execute(
            table.insert().values(
                credential_id=data["credential_id"],
                staff_id=data["staff_id"],
                staff_name=data["staff_name"],
                role=data["role"],
                token_sha256=data["token_sha256"],
                issued_at=datetime.fromisoformat(data["issued_at"]),
            )
        )

    return handle


def credential_revoked_handler(table: Table) -> Callable[[Session, Envelope], None]:
    def handle(session: Session, envelope: Envelope) -> None:
        session.execute(
            update(table)
            .where(table.c.credential_id == envelope.data["credential_id"])
            .values(revoked_at=datetime.fromisoformat(envelope.data["revoked_at"]))
        )

    return handle


def staff_event_handlers(table: Table) -> dict[str, Callable[[Session, Envelope], None]]:
    return {
        EventType.STAFF_CREDENTIAL_ISSUED: credential_issued_handler(table),
        EventType.STAFF_CREDENTIAL_REVOKED: credential_revoked_handler(table),
    }


def authenticate(session: Session, table: Table, token: str) -> StaffPrincipal | None:
    """The staff member a bearer token belongs to, or None if it is unknown or revoked."""
    row = session.execute(select(table).where(table.c.token_sha256 == token_digest(token))).mappings().first()
    if row is None or row["revoked_at"] is not None:
        return None
    return StaffPrincipal(row["staff_id"], row["staff_name"], row["role"], row["credential_id"])


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STAFF_COOKIE = "kapbook_staff"


@dataclass(frozen=True)
class StaffAuth:
    """Resolves the staff member of the current request against a service's credential table.

    A bearer token works everywhere. The staff console's cookie works for reading, and for
    changes only on ``cookie_write_blueprints`` (the console's own CSRF-protected forms): a
    cookie is sent by the browser on its own, so a JSON API that honoured it on a POST could be
    driven by another page of the same site.
    """

    sessions: sessionmaker[Session]
    table: Table
    cookie_write_blueprints: frozenset[str] = frozenset()

    def _token(self) -> str | None:
        token = bearer_token()
        if token:
            return token
        if request.method in SAFE_METHODS or request.blueprint in self.cookie_write_blueprints:
            return request.cookies.get(STAFF_COOKIE)
        return None

    def current(self) -> StaffPrincipal | None:
        if "staff" not in g:
            token = self._token()
            g.staff = None
            if token:
                with self.sessions() as session:
                    g.staff = authenticate(session, self.table, token)
        return g.staff


def require_staff(*roles: str) -> Callable:
    """Decorate a view: 401 without a valid staff token, 403 without one of ``roles`` (any if none)."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = current_app.extensions["kapbook_staff_auth"].current()
            if principal is None:
                raise Unauthorized("Sign in with a staff token.", headers={"WWW-Authenticate": 'Bearer realm="kapbook"'})
            if roles and principal.role not in roles:
                raise Forbidden(f"This needs one of the roles: {', '.join(roles)}.")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def require_service_token(view: Callable) -> Callable:
    """Decorate a view that only other Kapbook services may call."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        expected = current_app.extensions["kapbook_config"].service_token
        if not hmac.compare_digest(bearer_token() or "", expected):
            raise Unauthorized("A service credential is required.", headers={"WWW-Authenticate": 'Bearer realm="kapbook-service"'})
        return view(*args, **kwargs)

    return wrapper
