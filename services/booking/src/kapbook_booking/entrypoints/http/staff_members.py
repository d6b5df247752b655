"""Staff routes for staff accounts: listing them and creating one with a password (admin only).

Passwords never come back in an answer, and the audit row names the fields, not their content.
"""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from kapbook_booking.entrypoints.http.staff_access import ADMIN, staff_only
from kapbook_booking.entrypoints.http.staff_schema_fields import NAME
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_platform.contracts.schemas import StrictSchema, no_control_characters
from kapbook_platform.staff.principal import ROLES

EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}$"

blp = Blueprint("staff_members", __name__, url_prefix="/api/booking/v1", description="Staff accounts (admin)")


class StaffMemberSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": list(ROLES)})
    clinician_id = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    has_password = fields.Boolean(required=True, metadata={"description": "Whether they can sign in to the console"})


class StaffMemberRequestSchema(StrictSchema):
    name = fields.String(required=True, validate=NAME)
    # The pattern tells the document what marshmallow's Email accepts (a dotted domain, a 2+ letter TLD).
    email = fields.Email(required=True, validate=[validate.Length(max=320), no_control_characters],
                         metadata={"pattern": EMAIL_PATTERN})
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    password = fields.String(required=True, load_only=True, metadata={
        "description": "At least 12 characters, not one of the most common passwords (422 weak_password says why)"})
    clinician_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=36), metadata={
        "description": "Role clinician only: the clinician record whose schedule they manage"})


class StaffLinkRequestSchema(StrictSchema):
    clinician_id = fields.String(required=True, allow_none=True, validate=validate.Length(max=36), metadata={
        "description": "The clinician record this clinician manages the schedule of; null unlinks"})


@blp.route("/staff-members")
class StaffMembers(MethodView):
    @staff_only(blp, *ADMIN)
    @blp.response(200, StaffMemberSchema(many=True))
    def get(self):
        """List staff accounts (admin)"""
        return container().accounts.members()

    @staff_only(blp, *ADMIN)
    @blp.arguments(StaffMemberRequestSchema)
    @blp.response(201, StaffMemberSchema)
    @blp.alt_response(409, description="A staff member has this email already (code staff_exists)")
    def post(self, body):
        """Create a staff account with a password (admin; 422 weak_password for an easy password)"""
        return container().accounts.create(current_staff(), body["name"], body["email"], body["role"], body["password"],
                                           body["clinician_id"])


@blp.route("/staff-members/<string:staff_id>")
class StaffMemberById(MethodView):
    @staff_only(blp, *ADMIN)
    @blp.arguments(StaffLinkRequestSchema)
    @blp.response(200, StaffMemberSchema)
    @blp.alt_response(404, description="No such staff member")
    @blp.alt_response(409, description="Another account is linked to this clinician (code clinician_taken)")
    def patch(self, body, staff_id):
        """Link a clinician's account to their clinician record, or unlink it (admin)"""
        return container().accounts.link_clinician(current_staff(), staff_id, body["clinician_id"])
