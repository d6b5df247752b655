"""Webhooks: admins manage endpoints; events fan out into deliveries; a worker sends them.

* ``WebhookEndpoints``: the admin's use cases (audited). The secret is shown once, at creation
  or rotation, and stored encrypted.
* ``WebhookFanout``: called in the transaction that writes an outbox event (or consumes a
  screening decision); writes one delivery per subscribed endpoint, so an event and its
  deliveries commit together.
* ``WebhookDispatcher``: claims due deliveries and commits, sends with no transaction open,
  then records each result (retry with backoff, give up, disable the endpoint, alert admins).
"""
from __future__ import annotations

import logging
import secrets
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from kapbook_booking.adapters import tables
from kapbook_booking.adapters import webhook_repository as hooks_repo
from kapbook_booking.adapters.secret_box import SealedSecretUnreadable, SecretBox
from kapbook_booking.adapters.webhook_http import SendResult, TargetGuard, UnsafeTarget, WebhookSender
from kapbook_booking.domain.webhooks import (
    SECRET_BYTES,
    format_secret,
    message_body,
    next_attempt_at,
    public_event_name,
    signature_header,
    succeeded,
)
from kapbook_booking.service_layer.errors import Invalid, NotFound
from kapbook_booking.service_layer.staff_records import StaffWrites, fetch_or_404
from kapbook_platform.clock import Clock, utc_now
from kapbook_platform.contracts import Envelope
from kapbook_platform.contracts.events import EventType
from kapbook_platform.messaging.consumer import EventHandler
from kapbook_platform.messaging.outbox import Outbox
from kapbook_platform.staff.principal import StaffPrincipal

log = logging.getLogger(__name__)
Record = dict[str, Any]
ENDPOINT_FIELDS = ("id", "url", "description", "event_types", "active", "disabled_reason",
                   "failed_deliveries_in_row", "previous_secret_expires_at", "created_at", "updated_at")
USER_AGENT = "Kapbook-Webhooks/1"


def new_secret() -> str:
    return format_secret(secrets.token_bytes(SECRET_BYTES))


def new_message_id() -> str:
    return "msg_" + uuid.uuid4().hex


def endpoint_view(row: Mapping[str, Any]) -> Record:
    return {name: row[name] for name in ENDPOINT_FIELDS}


@dataclass(frozen=True)
class WebhookEndpoints:
    """What an admin does with webhook endpoints. Each write is audited (field names only)."""

    writes: StaffWrites
    box: SecretBox
    guard: TargetGuard
    clock: Clock
    rotation_grace: timedelta = timedelta(hours=24)

    def list(self) -> list[Record]:
        with self.writes.reading() as session:
            return [endpoint_view(row) for row in hooks_repo.all_endpoints(session)]

    def get(self, endpoint_id: str) -> Record:
        with self.writes.reading() as session:
            return endpoint_view(fetch_or_404(session, tables.webhook_endpoints, endpoint_id, "webhook endpoint"))

    def create(self, actor: StaffPrincipal, values: Mapping[str, Any]) -> Record:
        """Register an endpoint; the answer holds its ``secret``, shown this once."""
        self._check_url(values["url"])
        secret, now = new_secret(), self.clock()
        row = {
            "url": values["url"], "description": values.get("description", ""), "event_types": sorted(set(values["event_types"])),
            "secret_sealed": self.box.seal(secret), "active": True, "failed_deliveries_in_row": 0,
            "created_at": now, "updated_at": now,
        }
        with self.writes.unit_of_work() as session:
            endpoint_id = self.writes.insert(session, actor, tables.webhook_endpoints, "webhook", row)
            created = fetch_or_404(session, tables.webhook_endpoints, endpoint_id, "webhook endpoint")
            return endpoint_view(created) | {"secret": secret}

    def update(self, actor: StaffPrincipal, endpoint_id: str, changes: Mapping[str, Any]) -> Record:
        """Change the URL, events, description, or (re)activate; reactivating clears the failure run."""
        if "url" in changes:
            self._check_url(changes["url"])
        values = dict(changes)
        if "event_types" in values:
            values["event_types"] = sorted(set(values["event_types"]))
        if values.get("active") is True:
            values |= {"disabled_reason": None, "failed_deliveries_in_row": 0}
        with self.writes.unit_of_work() as session:
            row = fetch_or_404(session, tables.webhook_endpoints, endpoint_id, "webhook endpoint", lock=True)
            if any(row[name] != value for name, value in values.items()):
                values["updated_at"] = self.clock()
            self.writes.update(session, actor, tables.webhook_endpoints, "webhook", row, values)
            return endpoint_view(fetch_or_404(session, tables.webhook_endpoints, endpoint_id, "webhook endpoint"))

    def delete(self, actor: StaffPrincipal, endpoint_id: str) -> None:
        with self.writes.unit_of_work() as session:
            fetch_or_404(session, tables.webhook_endpoints, endpoint_id, "webhook endpoint", lock=True)
            hooks_repo.delete_endpoint_with_history(session, endpoint_id)
            self.writes.audit(session, actor, "webhook.deleted", f"webhook:{endpoint_id}")

    def rotate_secret(self, actor: StaffPrincipal, endpoint_id: str) -> Record:
        """A new secret (shown once); the old one keeps signing too until the grace period ends."""
        secret, now = new_secret(), self.clock()
        with self.writes.unit_of_work() as session:
            row = fetch_or_404(session, tables.webhook_endpoints, endpoint_id, "webhook endpoint", lock=True)
            rotated = {
                "secret_sealed": self.box.seal(secret), "previous_secret_sealed": row["secret_sealed"],
                "previous_secret_expires_at": now + self.rotation_grace, "updated_at": now,
            }
            self.writes.update(session, actor, tables.webhook_endpoints, "webhook", row, rotated)
            self.writes.audit(session, actor, "webhook.secret_rotated", f"webhook:{endpoint_id}")
            view = endpoint_view(fetch_or_404(session, tables.webhook_endpoints, endpoint_id, "webhook endpoint"))
        return view | {"secret": secret}

    def deliveries(self, endpoint_id: str, limit: int = 50) -> list[Record]:
        with self.writes.reading() as session:
            fetch_or_404(session, tables.webhook_endpoints, endpoint_id, "webhook endpoint")
            return [delivery_view(row) for row in hooks_repo.deliveries_of(session, endpoint_id, limit)]

    def replay(self, actor: StaffPrincipal, endpoint_id: str, delivery_id: str) -> Record:
        """Send a delivery again, now, with a fresh retry schedule and the same webhook-id."""
        now = self.clock()
        with self.writes.unit_of_work() as session:
            row = hooks_repo.delivery(session, delivery_id, lock=True)
            if row is None or row["endpoint_id"] != endpoint_id:
                raise NotFound(f"There is no delivery {delivery_id!r} for this webhook endpoint.")
            hooks_repo.update_delivery(session, delivery_id, {
                "status": "pending", "attempts": 0, "next_attempt_at": now, "claimed_until": None,
            })
            self.writes.audit(session, actor, "webhook.delivery_replayed", f"webhook:{endpoint_id}", ["delivery_id"])
            return delivery_view(hooks_repo.delivery(session, delivery_id))

    def _check_url(self, url: str) -> None:
        try:
            self.guard.check_url(url)
        except UnsafeTarget as refusal:
            raise Invalid(str(refusal), errors={"url": [str(refusal)]}) from None


def delivery_view(row: Mapping[str, Any]) -> Record:
    return {
        "id": row["id"], "event_id": row["event_id"], "event_type": row["event_type"], "status": row["status"],
        "attempts": row["attempts"], "next_attempt_at": row["next_attempt_at"], "last_status_code": row["last_status_code"],
        "last_error": row["last_error"], "created_at": row["created_at"], "delivered_at": row["delivered_at"],
        "attempt_log": [
            {"attempted_at": a["attempted_at"], "status_code": a["status_code"], "error": a["error"], "duration_ms": a["duration_ms"]}
            for a in row.get("attempt_log", [])
        ],
    }


@dataclass(frozen=True)
class WebhookFanout:
    """Turns an event into deliveries, in the transaction that wrote (or consumed) the event."""

    clock: Clock

    def on_event(self, session: Session, envelope: Envelope) -> None:
        public_name = public_event_name(envelope.type)
        if public_name is None:
            return
        body, now = message_body(public_name, envelope.time, envelope.data), self.clock()
        for endpoint in hooks_repo.active_endpoints_for(session, public_name):
            hooks_repo.insert_delivery(session, {
                "id": new_message_id(), "endpoint_id": endpoint["id"], "event_id": envelope.id, "event_type": public_name,
                "body": body, "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
            })

    def also_on(self, handler: EventHandler) -> EventHandler:
        """``handler``, then the deliveries for the same consumed event (one transaction, inbox-guarded)."""

        def handle(session: Session, envelope: Envelope) -> None:
            handler(session, envelope)
            self.on_event(session, envelope)

        return handle


@dataclass
class WebhookDispatcher:
    """Sends due deliveries: at least once, signed, with backoff; disables endpoints that keep failing."""

    sessions: sessionmaker[Session]
    sender: WebhookSender
    box: SecretBox
    outbox: Outbox
    clock: Clock
    disable_after: int = 5
    batch_size: int = 20
    lease: timedelta = timedelta(minutes=2)
    # The webhook-timestamp header is compared with the receiver's own clock, so it is the real time.
    wall_clock: Clock = utc_now

    def deliver_due(self) -> int:
        """Send what is due now; returns how many were attempted."""
        now = self.clock()
        with self.sessions.begin() as session:
            claimed = [dict(row) for row in hooks_repo.claim_due(session, now, now + self.lease, self.batch_size)]
        for delivery in claimed:  # no transaction is open while sending
            result = self._send(delivery)
            with self.sessions.begin() as session:
                self._record(session, delivery, result)
        return len(claimed)

    def _send(self, delivery: Mapping[str, Any]) -> SendResult:
        try:
            secrets_now = self._secrets(delivery)
        except SealedSecretUnreadable:
            return SendResult(None, "The endpoint's secret cannot be read (BOOKING_SECRET_KEY changed?): rotate it.", 0)
        timestamp = int(self.wall_clock().timestamp())
        headers = {
            "webhook-id": delivery["id"], "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(secrets_now, delivery["id"], timestamp, delivery["body"]),
            "content-type": "application/json", "user-agent": USER_AGENT,
        }
        return self.sender.post(delivery["url"], delivery["body"], headers)

    def _secrets(self, delivery: Mapping[str, Any]) -> list[str]:
        valid = [self.box.open(delivery["secret_sealed"])]
        expires = delivery["previous_secret_expires_at"]
        if delivery["previous_secret_sealed"] and expires is not None and expires > self.clock():
            valid.append(self.box.open(delivery["previous_secret_sealed"]))
        return valid

    def _record(self, session: Session, delivery: Mapping[str, Any], result: SendResult) -> None:
        now = self.clock()
        current = hooks_repo.delivery(session, delivery["id"], lock=True)
        if current is None:  # the endpoint was deleted while we were sending
            return
        attempts = current["attempts"] + 1
        hooks_repo.record_attempt(session, {
            "delivery_id": delivery["id"], "attempted_at": now, "status_code": result.status_code,
            "error": result.error, "duration_ms": result.duration_ms,
        })
        values: dict[str, Any] = {"attempts": attempts, "claimed_until": None, "last_status_code": result.status_code,
                                  "last_error": result.error}
        if succeeded(result.status_code):
            values |= {"status": "succeeded", "delivered_at": now, "next_attempt_at": None}
            hooks_repo.reset_endpoint_failures(session, delivery["endpoint_id"])
        else:
            retry_at = next_attempt_at(attempts, now)
            values |= {"status": "pending" if retry_at else "failed", "next_attempt_at": retry_at}
            if retry_at is None:
                self._gave_up(session, delivery["endpoint_id"], now)
        hooks_repo.update_delivery(session, delivery["id"], values)

    def _gave_up(self, session: Session, endpoint_id: str, now: datetime) -> None:
        failed_in_row = hooks_repo.bump_endpoint_failures(session, endpoint_id)
        if failed_in_row < self.disable_after:
            return
        reason = f"Every attempt of {failed_in_row} deliveries in a row failed."
        if not hooks_repo.disable_endpoint(session, endpoint_id, reason, now):
            return
        endpoint = fetch_or_404(session, tables.webhook_endpoints, endpoint_id, "webhook endpoint")
        log.warning("webhook endpoint disabled after sustained failure", extra={"endpoint_id": endpoint_id})
        self.outbox.add(session, EventType.WEBHOOK_ENDPOINT_DISABLED, {
            "endpoint_id": endpoint_id, "url": endpoint["url"], "description": endpoint["description"],
            "recipients": hooks_repo.admin_emails(session), "failed_deliveries": failed_in_row,
            "disabled_at": now.isoformat(),
        })

    def run(self, stop: threading.Event, idle_interval: float = 1.0) -> None:
        """Deliver until ``stop`` is set."""
        while not stop.is_set():
            try:
                if self.deliver_due():
                    continue
            except Exception:
                log.exception("webhook delivery cycle failed")
            stop.wait(idle_interval)


def webhook_loop(dispatcher: WebhookDispatcher, idle_interval: float) -> Callable[[threading.Event], None]:
    return lambda stop: dispatcher.run(stop, idle_interval)
