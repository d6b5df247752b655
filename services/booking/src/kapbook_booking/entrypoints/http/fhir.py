"""FHIR R4 read-only scheduling API and the SMART Scheduling Links publisher, at /api/booking/fhir/r4.

Thin: parse the search, ask `service_layer.fhir`, answer application/fhir+json. Refusals are FHIR
OperationOutcomes (400 bad search, 401 no staff token, 404 unknown id), never the JSON error shape
of the v1 API, because FHIR clients expect them.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, time, timedelta, timezone
from urllib.parse import urlencode

from flask import Blueprint, Response, request

from kapbook_booking.domain import fhir
from kapbook_booking.domain.errors import BookingError, NotFound
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_booking.service_layer.fhir import (
    FhirDirectory, InvalidSearch, SlotSearch, find, published_locations, resources_of, smart_schedules,
)
from kapbook_platform.staff.scopes import ANY, allows

PREFIX = "/api/booking/fhir/r4"
FHIR_JSON = "application/fhir+json"
NDJSON = "application/fhir+ndjson"
DEFAULT_COUNT, MAX_COUNT = 100, 1000
MAX_CURSOR = 10_000_000  # far past any real result; keeps OFFSET inside a database integer
PUBLISH_MAX_AGE = 300  # seconds: SMART's hint for how often directories poll
CATALOGUE_KINDS = ("Location", "Practitioner", "PractitionerRole", "HealthcareService", "Schedule")
APPOINTMENT_STATUSES = frozenset({"proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow",
                                  "entered-in-error", "checked-in", "waitlist"})
DATE_PREFIXES = ("ge", "gt", "le", "lt", "eq")
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

bp = Blueprint("fhir", __name__, url_prefix=PREFIX)


class BadSearch(Exception):
    """A malformed search parameter (answered 400 with an OperationOutcome)."""


def _answer(body: dict, status: int = 200, content_type: str = FHIR_JSON) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status=status, content_type=content_type)


def outcome(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    response = _answer(fhir.operation_outcome(code, message), status)
    response.headers.update(headers or {})
    return response


@bp.errorhandler(BadSearch)
@bp.errorhandler(InvalidSearch)
def _bad_search(error: Exception) -> Response:
    return outcome(400, "invalid", str(error))


@bp.errorhandler(NotFound)
def _not_found(error: BookingError) -> Response:
    return outcome(404, "not-found", str(error))


def directory() -> FhirDirectory:
    return FhirDirectory(container().runtime.sessions, container().clock, container().config.max_availability_days)


def base_url() -> str:
    return request.host_url.rstrip("/") + PREFIX


def widget_url() -> str:
    return container().config.public_base_url.rstrip("/") + "/"


def phone() -> str | None:
    return container().config.booking_phone or None


# --- search parameters --------------------------------------------------------------------------------


def _only(allowed: set[str]) -> None:
    unknown = sorted(set(request.args) - allowed - {"_format"})
    if unknown:
        raise BadSearch(f"Unsupported search parameter(s): {', '.join(unknown)}.")


def _single(name: str) -> str | None:
    values = request.args.getlist(name)
    if len(values) > 1:
        raise BadSearch(f"{name} may be given once.")
    return values[0] if values else None


def _paging() -> tuple[int, int]:
    count, cursor = _single("_count"), _single("_cursor")
    try:
        size = DEFAULT_COUNT if count is None else int(count)
        offset = 0 if cursor is None else int(cursor)
    except ValueError:
        raise BadSearch("_count and _cursor must be whole numbers.") from None
    if not 1 <= size <= MAX_COUNT or not 0 <= offset <= MAX_CURSOR:
        raise BadSearch(f"_count must be 1 to {MAX_COUNT}; _cursor 0 to {MAX_CURSOR}.")
    return size, offset


def _instant(text: str, name: str) -> datetime:
    """A FHIR date or dateTime with a zone; a bare date is that UTC day's start."""
    try:
        if DATE_ONLY.match(text):
            value = datetime.combine(datetime.fromisoformat(text).date(), time(0), timezone.utc)
        else:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadSearch(f"{name}: {text!r} is not a FHIR date or dateTime.") from None
    if value.tzinfo is None:
        raise BadSearch(f"{name}: {text!r} needs a time zone offset (or Z).")
    if not 1970 <= value.year <= 9000:  # the engine adds days and zones: keep clear of datetime's limits
        raise BadSearch(f"{name}: {text!r} is out of range.")
    return value.astimezone(timezone.utc)


def _range(name: str, default_start: datetime, default_days: int) -> tuple[datetime, datetime]:
    """[start, end) from repeated ``name=ge…``/``lt…`` (gt/le/eq too) parameters."""
    start, end = None, None
    for raw in request.args.getlist(name):
        prefix, text = (raw[:2], raw[2:]) if raw[:2] in DATE_PREFIXES else ("eq", raw)
        value = _instant(text, name)
        if prefix in ("ge", "gt"):
            start = value
        elif prefix in ("lt", "le"):
            end = value + (timedelta(days=1) if prefix == "le" and DATE_ONLY.match(text) else timedelta(0))
        else:
            start, end = value, value + (timedelta(days=1) if DATE_ONLY.match(text) else timedelta(seconds=1))
    start = start or default_start
    return start, end or start + timedelta(days=default_days)


def _links(size: int, offset: int, total: int) -> dict[str, str]:
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k not in ("_cursor", "_count")]
    url = f"{base_url()}{request.path[len(PREFIX):]}"

    def at(position: int) -> str:
        return f"{url}?{urlencode(pairs + [('_count', size), ('_cursor', position)])}"

    links = {"self": at(offset), "first": at(0)}
    if offset + size < total:
        links["next"] = at(offset + size)
    if offset > 0:
        links["previous"] = at(max(0, offset - size))
    return links


def _bundle(entries: list[dict], total: int, size: int, offset: int) -> Response:
    return _answer(fhir.searchset(base_url(), entries, total, _links(size, offset, total)))


# --- FHIR R4 --------------------------------------------------------------------------------------------


@bp.get("/metadata")
def metadata():
    return _answer(fhir.capability_statement(base_url(), container().clock()))


@bp.get("/<any(Location, Practitioner, PractitionerRole, HealthcareService, Schedule):kind>")
def search_catalogue(kind: str):
    _only({"_count", "_cursor", "_id"})
    size, offset = _paging()
    found = resources_of(directory().catalogue(), kind, phone=phone(), website=widget_url())
    wanted = _single("_id")
    if wanted is not None:
        found = [resource for resource in found if resource["id"] in wanted.split(",")]
    return _bundle(found[offset:offset + size], len(found), size, offset)


@bp.get("/<any(Location, Practitioner, PractitionerRole, HealthcareService, Schedule):kind>/<resource_id>")
def read_catalogue(kind: str, resource_id: str):
    found = resources_of(directory().catalogue(), kind, phone=phone(), website=widget_url())
    return _answer(find(found, kind, resource_id))


@bp.get("/Slot")
def search_slots():
    _only({"schedule", "service-type", "start", "status", "_count", "_cursor"})
    size, offset = _paging()
    status = _single("status")
    if status is not None and status not in ("free", "busy", "busy-unavailable", "busy-tentative", "entered-in-error"):
        raise BadSearch(f"status: {status!r} is not a Slot status.")
    start, end = _range("start", container().clock(), 7)
    search = SlotSearch(start=start, end=end, type_codes=_service_types(), **_schedule_filter())
    # Only free slots are computed: busy time is never published (it would describe patients' bookings).
    pairs = [] if status not in (None, "free") else directory().free_slots(search, directory().active_types())
    write = fhir.SlotWriter(widget_url(), phone())
    by_room = search.room_id is not None
    page = [write(slot, kind, f"Schedule/{fhir.ROOM_SCHEDULE}{slot.room_id}" if by_room
                  else f"Schedule/{fhir.CLINICIAN_SCHEDULE}{slot.clinician_id}")
            for slot, kind in pairs[offset:offset + size]]
    return _bundle(page, len(pairs), size, offset)


def _service_types() -> frozenset[str] | None:
    raw = _single("service-type")
    if raw is None:
        return None
    codes = set()
    for token in raw.split(","):
        system, _, code = token.rpartition("|")
        if system and system != fhir.TYPE_SYSTEM or not code:
            raise BadSearch(f"service-type: {token!r} is not a code of {fhir.TYPE_SYSTEM}.")
        codes.add(code)
    return frozenset(codes)


def _schedule_filter() -> dict:
    raw = _single("schedule")
    if raw is None:
        return {}
    ref = raw.removeprefix(base_url() + "/").removeprefix("Schedule/")
    if ref.startswith(fhir.CLINICIAN_SCHEDULE) and len(ref) > len(fhir.CLINICIAN_SCHEDULE):
        return {"clinician_id": ref[len(fhir.CLINICIAN_SCHEDULE):]}
    if ref.startswith(fhir.ROOM_SCHEDULE) and len(ref) > len(fhir.ROOM_SCHEDULE):
        return {"room_id": ref[len(fhir.ROOM_SCHEDULE):]}
    raise BadSearch(f"schedule: {raw!r} is not a Schedule of this server.")


@bp.get("/Appointment")
def search_appointments():
    refused = _staff_refusal()
    if refused:
        return refused
    _only({"date", "status", "_count", "_cursor"})
    size, offset = _paging()
    start, end = _range("date", container().clock() - timedelta(days=1), 30)
    if end - start > timedelta(days=366):
        raise BadSearch("date: ask for at most a year of appointments at a time.")
    status = _single("status")
    statuses = None if status is None else status.split(",")
    if statuses and not set(statuses) <= APPOINTMENT_STATUSES:
        raise BadSearch(f"status: {status!r} holds a code that is not an Appointment status.")
    pairs, total = directory().appointments(start, end, statuses, size, offset)
    return _bundle([fhir.appointment(row, kind) for row, kind in pairs], total, size, offset)


@bp.get("/Appointment/<booking_id>")
def read_appointment(booking_id: str):
    refused = _staff_refusal()
    if refused:
        return refused
    return _answer(fhir.appointment(*directory().appointment(booking_id)))


def _staff_refusal() -> Response | None:
    """Appointments name patients: staff tokens only (any staff role reads the clinic's day)."""
    principal = current_staff()
    if principal is None:
        return outcome(401, "login", "Appointments need a staff bearer token.",
                       {"WWW-Authenticate": 'Bearer realm="kapbook"'})
    if principal.role not in ("admin", "front_desk", "clinician"):
        return outcome(403, "forbidden", "This token may not read appointments.")
    if not allows(principal.scopes, ANY):  # the JSON API's insufficient_scope, as an OperationOutcome
        return outcome(403, "forbidden", "insufficient_scope: this token's scopes do not allow this: it needs any scope.")
    return None


# --- SMART Scheduling Links ------------------------------------------------------------------------------


@bp.get("/$bulk-publish")
def bulk_publish():
    _only({"_since"})
    since = _single("_since")
    if since is not None:
        _timestamp(since)  # validated; every file is recomputed live, so the full set is the answer
    now = container().clock().replace(microsecond=0)
    files = f"{base_url()}/$bulk-publish"
    outputs = [("Location", f"{files}/locations.ndjson"), ("Schedule", f"{files}/schedules.ndjson"),
               ("Slot", f"{files}/slots.ndjson")]
    states = [fhir.postal_address(row["address"])["state"] for row in published_locations(directory().catalogue())]
    body = fhir.manifest(request.url, now, outputs, states)
    return _published(json.dumps(body, separators=(",", ":")), "application/json", now)


def _timestamp(text: str) -> datetime:
    """SMART timestamps: to the second at least, with an offset or Z."""
    if not re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", text):
        raise BadSearch(f"_since: {text!r} is not a timestamp like 2021-01-01T00:00:00Z.")
    return _instant(text, "_since")


@bp.get("/$bulk-publish/<any('locations.ndjson', 'schedules.ndjson', 'slots.ndjson'):name>")
def bulk_file(name: str):
    if name == "locations.ndjson":
        lines = [fhir.location(row, phone(), widget_url()) for row in published_locations(directory().catalogue())]
    elif name == "schedules.ndjson":
        lines = smart_schedules(directory().catalogue())
    else:
        lines = _published_slots()
    text = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    return _published(text, NDJSON, container().clock().replace(microsecond=0))


def _published_slots() -> list[dict]:
    """Free slots at the published locations only (a Slot must point at a published Schedule)."""
    places = {row["id"] for row in published_locations(directory().catalogue())}
    now = container().clock()
    days = min(container().config.fhir_publish_days, container().config.max_availability_days)
    pairs = directory().free_slots(SlotSearch(start=now, end=now + timedelta(days=days)), directory().active_types())
    write, schedule_ids = fhir.SlotWriter(widget_url(), phone()), {}
    pairs = [(slot, kind) for slot, kind in pairs if slot.location_id in places]
    for slot, kind in pairs:
        key = (slot.location_id, kind["code"])
        if key not in schedule_ids:
            schedule_ids[key] = f"Schedule/{fhir.service_schedule_id(*key)}"
    return [write(slot, kind, schedule_ids[(slot.location_id, kind["code"])]) for slot, kind in pairs]


def _published(text: str, content_type: str, now: datetime) -> Response:
    """Public, cacheable for PUBLISH_MAX_AGE, with an ETag and Last-Modified for conditional polls."""
    response = Response(text, content_type=content_type)
    response.cache_control.public, response.cache_control.max_age = True, PUBLISH_MAX_AGE
    response.last_modified = now
    response.add_etag()
    response.headers["Access-Control-Allow-Origin"] = "*"  # directories read it from anywhere
    return response.make_conditional(request)


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unsupported(rest: str):
    """Anything else under the FHIR base: an OperationOutcome, as FHIR clients expect, not the v1 error shape."""
    if request.method != "GET":
        return outcome(405, "not-supported", "This FHIR server is read-only.", {"Allow": "GET"})
    return outcome(404, "not-supported", f"This server does not serve {rest.split('/')[0]!r}.")
