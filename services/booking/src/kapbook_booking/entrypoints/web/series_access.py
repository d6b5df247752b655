"""What the patient and console pages ask of the treatment-series use cases (issue 12 §3).

One place between the pages and the series service layer, so the pages stay thin and read the
same view dictionaries the Series HTTP API returns: a series view is ``{"id", "protocol",
"status", "sessions": [booking view, ...]}``; times in the sessions are aware datetimes.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from kapbook_booking.entrypoints.http.series_schemas import ProtocolChangeSchema, ProtocolRequestSchema, SeriesRequestSchema
from kapbook_booking.entrypoints.wiring import container
from kapbook_booking.service_layer.series import BookSeries, ProposeSeries
from kapbook_platform.staff.principal import StaffPrincipal


def instant(value: datetime | str) -> datetime:
    """A session time as an aware datetime, whether the view holds it as one or as ISO text."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _sessions_with_times(series: dict[str, Any]) -> dict[str, Any]:
    sessions = [session | {"start": instant(session["start"]), "end": instant(session["end"])} for session in series["sessions"]]
    return series | {"sessions": sorted(sessions, key=lambda session: session["start"])}


def series_for_token(token: str) -> dict[str, Any]:
    """The series of the session behind a manage link."""
    return _sessions_with_times(container().series.view_for_token(token))


def cancel_remaining_for_token(token: str) -> dict[str, Any]:
    """Cancel the future sessions of that series under the cancellation policy; past ones stay."""
    return _sessions_with_times(container().series.cancel_remaining_by_patient(token))


def series_view(series_id: str) -> dict[str, Any]:
    """One series by its id (raises ``SeriesNotFound``)."""
    return _sessions_with_times(container().series.view_by_id(series_id))


def cancel_remaining_by_staff(series_id: str, staff: StaffPrincipal, reason: str) -> dict[str, Any]:
    return _sessions_with_times(container().series.cancel_remaining_by_staff(series_id, staff, reason))


def propose(protocol: str, start: datetime, zone: str, clinician_id: str | None) -> dict[str, Any]:
    return _sessions_with_times(container().series.propose(ProposeSeries(protocol, start, zone, clinician_id)))


def book_series(body: dict[str, Any], idempotency_key: str | None, staff: StaffPrincipal) -> dict[str, Any]:
    """Book a whole plan for a patient from the console; ``body`` is the POST /series body
    (raises ``ValidationError`` for bad fields, a ``BookingError`` for a refusal)."""
    loaded = SeriesRequestSchema().load(body)
    sessions = tuple((item["start"], item["clinician_id"]) for item in loaded.pop("sessions"))
    series, _created = container().series.book(BookSeries(**loaded, sessions=sessions, idempotency_key=idempotency_key, staff=staff))
    return _sessions_with_times(series)


def protocols(active_only: bool = True) -> list[dict[str, Any]]:
    return container().series.protocols(None, active_only=active_only)


def create_protocol(values: dict[str, Any], staff: StaffPrincipal) -> dict[str, Any]:
    """Add a protocol (raises ``ValidationError`` for bad fields); audited by the use case."""
    return container().series.create_protocol(staff, ProtocolRequestSchema().load(values))


def update_protocol(protocol_id: str, values: dict[str, Any], staff: StaffPrincipal) -> dict[str, Any]:
    """Change a protocol (raises ``ValidationError`` for bad fields); audited by the use case."""
    return container().series.update_protocol(staff, protocol_id, ProtocolChangeSchema().load(values))
