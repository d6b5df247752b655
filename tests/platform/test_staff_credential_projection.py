"""The staff credential projection every service keeps (finding 7: only events the booking service
signed are believed; finding 1: expiry, and tombstones): a revoked credential never comes back,
whatever order its events arrive in, and an expired one authenticates nobody."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import MetaData, create_engine
from sqlalchemy.orm import sessionmaker

from kapbook_platform.contracts import Envelope, EventType
from kapbook_platform.runtime import add_platform_tables
from kapbook_platform.staff.principal import authenticate
from kapbook_platform.staff.projection import staff_event_handlers
from kapbook_platform.staff.signing import DEVELOPMENT_SIGNING_KEY, DEVELOPMENT_VERIFY_KEY, new_key_pair, sign_credential_data
from kapbook_platform.staff.tokens import token_digest

NOW = datetime(2031, 5, 6, 12, tzinfo=timezone.utc)
TOKEN = "kbs_projection_test_token"


@pytest.fixture
def projection():
    metadata = MetaData()
    tables = add_platform_tables(metadata)
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    sessions = sessionmaker(engine)
    handlers = staff_event_handlers(tables["staff_credentials"], tables["staff_credential_tombstones"], DEVELOPMENT_VERIFY_KEY)

    def deliver(event_type: str, data: dict, signing_key: str | None = DEVELOPMENT_SIGNING_KEY) -> None:
        """Deliver ``data`` signed with ``signing_key`` (None: unsigned, as a forger would)."""
        signed = sign_credential_data(signing_key, data) if signing_key else data
        with sessions.begin() as session:
            handlers[event_type](session, Envelope(event_type, "test", signed))

    def who(token: str = TOKEN, at: datetime = NOW):
        with sessions() as session:
            return authenticate(session, tables["staff_credentials"], token, at)

    yield deliver, who
    engine.dispose()


def issued(expires_at: datetime | None = None, credential_id: str = "cred-1") -> dict:
    return {"credential_id": credential_id, "staff_id": "staff-1", "staff_name": "Dr Ana", "role": "admin",
            "token_sha256": token_digest(TOKEN), "issued_at": (NOW - timedelta(days=1)).isoformat(),
            "expires_at": expires_at.isoformat() if expires_at else None}


REVOKED = {"credential_id": "cred-1", "revoked_at": NOW.isoformat()}


def test_issued_then_revoked_is_refused(projection):
    deliver, who = projection
    deliver(EventType.STAFF_CREDENTIAL_ISSUED, issued())
    assert who().role == "admin"
    deliver(EventType.STAFF_CREDENTIAL_REVOKED, REVOKED)
    assert who() is None


def test_a_revoke_that_arrives_before_its_issue_is_a_tombstone_the_issue_cannot_pass(projection):
    deliver, who = projection
    deliver(EventType.STAFF_CREDENTIAL_REVOKED, REVOKED)
    deliver(EventType.STAFF_CREDENTIAL_ISSUED, issued())
    assert who() is None


def test_an_issue_replayed_after_the_revoke_does_not_resurrect_the_credential(projection):
    deliver, who = projection
    deliver(EventType.STAFF_CREDENTIAL_ISSUED, issued())
    deliver(EventType.STAFF_CREDENTIAL_REVOKED, REVOKED)
    deliver(EventType.STAFF_CREDENTIAL_REVOKED, REVOKED)  # twice: still one tombstone
    deliver(EventType.STAFF_CREDENTIAL_ISSUED, issued())
    assert who() is None


def test_an_expired_credential_authenticates_nobody(projection):
    deliver, who = projection
    deliver(EventType.STAFF_CREDENTIAL_ISSUED, issued(expires_at=NOW + timedelta(hours=1)))
    assert who(at=NOW + timedelta(minutes=59)) is not None
    assert who(at=NOW + timedelta(hours=1)) is None


def test_an_issue_event_without_an_expiry_still_projects_as_before(projection):
    deliver, who = projection
    data = issued()
    del data["expires_at"]
    deliver(EventType.STAFF_CREDENTIAL_ISSUED, data)
    assert who(at=NOW + timedelta(days=3650)) is not None


def test_an_unsigned_issue_event_mints_nothing(projection):
    deliver, who = projection
    deliver(EventType.STAFF_CREDENTIAL_ISSUED, issued(), signing_key=None)
    assert who() is None


def test_an_issue_event_signed_with_another_key_or_altered_after_signing_mints_nothing(projection):
    deliver, who = projection
    other_key, _ = new_key_pair()
    deliver(EventType.STAFF_CREDENTIAL_ISSUED, issued(), signing_key=other_key)
    assert who() is None
    tampered = sign_credential_data(DEVELOPMENT_SIGNING_KEY, issued() | {"role": "front_desk"}) | {"role": "admin"}
    deliver(EventType.STAFF_CREDENTIAL_ISSUED, tampered, signing_key=None)
    assert who() is None


def test_an_unsigned_revocation_cannot_lock_staff_out(projection):
    deliver, who = projection
    deliver(EventType.STAFF_CREDENTIAL_ISSUED, issued())
    deliver(EventType.STAFF_CREDENTIAL_REVOKED, REVOKED, signing_key=None)
    assert who() is not None


def test_an_issued_tokens_scopes_reach_the_projection_and_an_older_event_without_them_keeps_full_rights(projection):
    deliver, who = projection
    deliver(EventType.STAFF_CREDENTIAL_ISSUED, issued() | {"scopes": ["reviews"]})
    assert who().scopes == ("reviews",)
    deliver(EventType.STAFF_CREDENTIAL_ISSUED, issued(credential_id="cred-old") | {"token_sha256": token_digest("kbs_old")})
    assert who("kbs_old").scopes is None  # absent: the role's full rights, as before scopes


def test_widening_a_tokens_scopes_after_signing_mints_nothing(projection):
    deliver, who = projection
    tampered = sign_credential_data(DEVELOPMENT_SIGNING_KEY, issued() | {"scopes": ["read_only"]}) | {"scopes": None}
    deliver(EventType.STAFF_CREDENTIAL_ISSUED, tampered, signing_key=None)
    assert who() is None
