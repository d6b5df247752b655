"""The public catalogue the booking widget starts from: what a patient can book, and where."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from kapbook_booking.entrypoints.wiring import container
from kapbook_booking.service_layer.catalog import APPOINTMENT_CATEGORIES, StaffCatalog

blp = Blueprint(
    "public_catalog", __name__, url_prefix="/api/booking/v1",
    description="What patients can book (the widget's first request)",
)


class BookableTypeSchema(Schema):
    code = fields.String(required=True, metadata={"description": "Pass as appointment_type to availability and bookings"})
    name = fields.String(required=True)
    category = fields.String(required=True)
    duration_minutes = fields.Integer(required=True)
    modality = fields.String(required=True, metadata={"description": "in_person or telehealth"})
    requires_eligibility = fields.Boolean(required=True, metadata={"description": "Needs an eligible screening first"})
    requires_driver = fields.Boolean(required=True, metadata={"description": "The patient must confirm an adult driver"})
    min_notice_minutes = fields.Integer(required=True)
    horizon_days = fields.Integer(required=True)
    cancel_notice_hours = fields.Integer(required=True)
    reschedule_notice_hours = fields.Integer(required=True)


class PublicLocationSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    timezone = fields.String(required=True)
    address = fields.String(allow_none=True)


class PublicCatalogSchema(Schema):
    appointment_types = fields.List(fields.Nested(BookableTypeSchema), required=True,
                                    metadata={"description": "Active types someone delivers, in the order of the care pathway"})
    locations = fields.List(fields.Nested(PublicLocationSchema), required=True)


def catalog() -> StaffCatalog:
    """The catalogue use cases (read-only here)."""
    return container().catalog


def bookable_types(types: list[dict[str, Any]], clinicians: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Active types that at least one active clinician delivers, consultation first, booster last."""
    delivered = {code for clinician in clinicians if clinician["active"] for code in clinician["appointment_types"]}
    order = {category: position for position, category in enumerate(APPOINTMENT_CATEGORIES)}
    offered = [kind for kind in types if kind["active"] and kind["code"] in delivered]
    return sorted(offered, key=lambda kind: (order.get(kind["category"], len(order)), kind["name"]))


@blp.route("/catalog")
class PublicCatalog(MethodView):
    @blp.response(200, PublicCatalogSchema)
    def get(self):
        """The appointment types patients can book and the clinic's locations (public)"""
        use_cases = catalog()
        return {
            "appointment_types": bookable_types(use_cases.appointment_types(), use_cases.clinicians()),
            "locations": use_cases.locations(),
        }


@blp.after_request
def _cacheable(response):
    if response.status_code == 200:
        response.headers["Cache-Control"] = "public, max-age=60"
    return response
