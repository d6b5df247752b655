"""Staff routes for webhook endpoints (Standard Webhooks): admins only, every write audited."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from kapbook_booking.entrypoints.http.staff_access import ADMIN, staff_only
from kapbook_booking.entrypoints.http.staff_webhooks_schemas import (
    WebhookChangeSchema,
    WebhookDeliverySchema,
    WebhookRequestSchema,
    WebhookSchema,
    WebhookWithSecretSchema,
)
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_booking.service_layer.webhooks import WebhookEndpoints

blp = Blueprint(
    "staff_webhooks", __name__, url_prefix="/api/booking/v1",
    description="Webhook endpoints: signed event deliveries to the clinic's own systems (admin)",
)


def webhooks() -> WebhookEndpoints:
    return container().webhooks


@blp.route("/webhooks")
class Webhooks(MethodView):
    @staff_only(blp, *ADMIN)
    @blp.response(200, WebhookSchema(many=True))
    def get(self):
        """List webhook endpoints (admin)"""
        return webhooks().list()

    @staff_only(blp, *ADMIN)
    @blp.arguments(WebhookRequestSchema)
    @blp.response(201, WebhookWithSecretSchema)
    def post(self, body):
        """Register an endpoint; the answer shows its whsec_ secret once (admin)"""
        return webhooks().create(current_staff(), body)


@blp.route("/webhooks/<string:endpoint_id>")
class WebhookById(MethodView):
    @staff_only(blp, *ADMIN)
    @blp.response(200, WebhookSchema)
    @blp.alt_response(404, description="No such endpoint")
    def get(self, endpoint_id):
        """Read a webhook endpoint (admin)"""
        return webhooks().get(endpoint_id)

    @staff_only(blp, *ADMIN)
    @blp.arguments(WebhookChangeSchema)
    @blp.response(200, WebhookSchema)
    @blp.alt_response(404, description="No such endpoint")
    def patch(self, body, endpoint_id):
        """Change the URL, events or description, pause or re-enable (admin)"""
        return webhooks().update(current_staff(), endpoint_id, body)

    @staff_only(blp, *ADMIN)
    @blp.response(204)
    @blp.alt_response(404, description="No such endpoint")
    def delete(self, endpoint_id):
        """Delete an endpoint and its delivery log (admin)"""
        webhooks().delete(current_staff(), endpoint_id)


@blp.route("/webhooks/<string:endpoint_id>/rotate-secret")
class RotateSecret(MethodView):
    @staff_only(blp, *ADMIN)
    @blp.response(200, WebhookWithSecretSchema)
    @blp.alt_response(404, description="No such endpoint")
    def post(self, endpoint_id):
        """New secret, shown once; the old one also signs during the grace period (admin)"""
        return webhooks().rotate_secret(current_staff(), endpoint_id)


@blp.route("/webhooks/<string:endpoint_id>/deliveries")
class Deliveries(MethodView):
    @staff_only(blp, *ADMIN)
    @blp.response(200, WebhookDeliverySchema(many=True))
    @blp.alt_response(404, description="No such endpoint")
    def get(self, endpoint_id):
        """The newest 50 deliveries with their attempts and status codes (admin)"""
        return webhooks().deliveries(endpoint_id)


@blp.route("/webhooks/<string:endpoint_id>/deliveries/<string:delivery_id>/replay")
class Replay(MethodView):
    @staff_only(blp, *ADMIN)
    @blp.response(200, WebhookDeliverySchema)
    @blp.alt_response(404, description="No such endpoint or delivery")
    def post(self, endpoint_id, delivery_id):
        """Send a delivery again now, with the same webhook-id (admin)"""
        return webhooks().replay(current_staff(), endpoint_id, delivery_id)
