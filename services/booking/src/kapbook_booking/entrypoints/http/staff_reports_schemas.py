"""Query and answer of the director's report route."""
from __future__ import annotations

from marshmallow import Schema, fields

from kapbook_platform.contracts.http import TimeZoneName
from kapbook_platform.contracts.schemas import StrictSchema

PERCENT = {"description": "A percentage with one decimal; null when there was nothing to divide by"}


class DirectorReportQuerySchema(StrictSchema):
    first_day = fields.Date(load_default=None, data_key="from", metadata={
        "description": "First local date of the range (default: the Monday four full weeks ago)"})
    last_day = fields.Date(load_default=None, data_key="until", metadata={
        "description": "Last local date of the range, included (default: last Sunday); at most 366 days in all"})
    timezone = TimeZoneName(load_default=None, metadata={
        "description": "IANA zone of the dates and weeks (default: the first location's, by name)"})


class ReportRowSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    location_name = fields.String(metadata={"description": "Rooms only"})
    booked_hours = fields.Float(required=True, metadata={
        "description": "Appointment hours of bookings starting in the range that kept their time (no-shows too)"})
    available_hours = fields.Float(required=True, metadata={
        "description": "Working hours less time off (a room: while anyone works at its location)"})
    utilisation = fields.Float(required=True, allow_none=True, metadata=PERCENT)
    appointments = fields.Integer(required=True, metadata={"description": "Bookings starting in the range, cancelled ones too"})
    no_shows = fields.Integer(required=True)
    no_show_rate = fields.Float(required=True, allow_none=True, metadata=PERCENT)
    cancellations = fields.Integer(required=True)
    late_cancellations = fields.Integer(required=True, metadata={
        "description": "Cancelled less than the type's cancel_notice_hours before the start"})
    late_cancel_rate = fields.Float(required=True, allow_none=True, metadata=PERCENT)


class ReportWeekSchema(Schema):
    week_start = fields.Date(required=True, metadata={"description": "A Monday, or the range's first day"})
    booked_hours = fields.Float(required=True)
    available_hours = fields.Float(required=True)
    utilisation = fields.Float(required=True, allow_none=True, metadata=PERCENT)


class ReportFigureSchema(Schema):
    key = fields.String(required=True, metadata={"description": "Stable name, e.g. series_completion_rate"})
    label = fields.String(required=True)
    value = fields.Float(required=True, allow_none=True)
    unit = fields.String(required=True, metadata={"description": "% or days"})
    numerator = fields.Float(required=True)
    denominator = fields.Float(required=True, metadata={"description": "What the figure is out of (for days: patients)"})
    explanation = fields.String(required=True)


class DirectorReportSchema(Schema):
    first_day = fields.Date(required=True, data_key="from")
    last_day = fields.Date(required=True, data_key="until")
    timezone = fields.String(required=True)
    start = fields.AwareDateTime(required=True, metadata={"description": "Local midnight starting the range"})
    end = fields.AwareDateTime(required=True, metadata={"description": "Local midnight ending it (exclusive)"})
    clinicians = fields.List(fields.Nested(ReportRowSchema), required=True)
    rooms = fields.List(fields.Nested(ReportRowSchema), required=True, metadata={"description": "Chairs and rooms"})
    totals = fields.Nested(ReportRowSchema, required=True, metadata={"description": "The whole clinic (all clinicians)"})
    weeks = fields.List(fields.Nested(ReportWeekSchema), required=True)
    figures = fields.List(fields.Nested(ReportFigureSchema), required=True, metadata={
        "description": "Clinic-wide figures: utilisation, no-show and late-cancel rates, series completion, "
                       "median days from consultation to first dose"})
