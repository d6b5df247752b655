"""FHIR R4 resources and SMART Scheduling Links shapes of the booking catalogue, as pure functions.

Plain dicts in, plain JSON-ready dicts out: no I/O, no clock (``now`` is an argument). Ids stay
within FHIR's and SMART's id rule (at most 64 characters of ``A-Za-z0-9-.``).
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote_plus, urlencode

TYPE_SYSTEM = "https://kapbook.org/fhir/CodeSystem/appointment-type"
BOOKING_DEEP_LINK = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link"
BOOKING_PHONE = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-phone"
CLINICIAN_SCHEDULE, ROOM_SCHEDULE, SERVICE_SCHEDULE = "clinician-", "room-", "svc-"


def instant(value: datetime) -> str:
    """A FHIR instant (and SMART timestamp): UTC, to the millisecond, with ``Z``."""
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _digest(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()


def slot_id(type_code: str, clinician_id: str, start: datetime, room_id: str | None) -> str:
    """Stable id of one computed slot (slots are not stored: the same slot always gets the same id)."""
    return "slot-" + _digest(type_code, clinician_id, instant(start), room_id or "")


def service_schedule_id(location_id: str, type_code: str) -> str:
    """SMART's Schedule: one service (appointment type) at one Location."""
    return SERVICE_SCHEDULE + _digest(location_id, type_code)


def type_concept(code: str, name: str) -> dict:
    return {"coding": [{"system": TYPE_SYSTEM, "code": code, "display": name}], "text": name}


US_ADDRESS = re.compile(r"^(?P<lines>.+?),\s*(?P<city>[^,]+),\s*(?P<state>[A-Z]{2})\s+(?P<postal>\d{5}(?:-\d{4})?)$")


def postal_address(text: str | None) -> dict | None:
    """A one-line US address ("120 W 57th St, New York, NY 10019") as FHIR's Address, else None.

    SMART's Location needs line, city, state and postalCode; the catalogue stores one text line.
    """
    match = US_ADDRESS.match((text or "").strip())
    if not match:
        return None
    lines = [part.strip() for part in match["lines"].split(",") if part.strip()]
    return {"line": lines, "city": match["city"].strip(), "state": match["state"], "postalCode": match["postal"],
            "text": text.strip()}


def location(row: Mapping[str, Any], phone: str | None, website: str) -> dict:
    """A Location, with a structured address when the stored one reads as a postal address."""
    address = postal_address(row.get("address"))
    lines = [line.strip() for line in (row.get("address") or "").replace(",", "\n").splitlines() if line.strip()]
    telecom = ([{"system": "phone", "value": phone}] if phone else []) + [{"system": "url", "value": website}]
    resource = {
        "resourceType": "Location", "id": row["id"], "status": "active", "name": row["name"],
        "identifier": [{"system": website.rstrip("/") + "/locations", "value": row["id"]}],
        "telecom": telecom,
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/timezone", "valueCode": row["timezone"]}],
    }
    if address or lines:
        resource["address"] = address or {"line": lines, "text": ", ".join(lines)}
    return resource


def practitioner(row: Mapping[str, Any]) -> dict:
    return {"resourceType": "Practitioner", "id": row["id"], "active": bool(row["active"]), "name": [{"text": row["name"]}]}


def practitioner_role(row: Mapping[str, Any], location_ids: Iterable[str], types: Sequence[Mapping[str, Any]]) -> dict:
    return {
        "resourceType": "PractitionerRole", "id": row["id"], "active": bool(row["active"]),
        "practitioner": {"reference": f"Practitioner/{row['id']}", "display": row["name"]},
        "code": [{"text": row["role"]}],
        "location": [{"reference": f"Location/{loc}"} for loc in sorted(set(location_ids))],
        "healthcareService": [{"reference": f"HealthcareService/{kind['id']}"} for kind in types],
    }


def healthcare_service(row: Mapping[str, Any]) -> dict:
    return {
        "resourceType": "HealthcareService", "id": row["id"], "active": bool(row["active"]), "name": row["name"],
        "type": [type_concept(row["code"], row["name"])],
        "category": [{"text": row["category"]}],
        "comment": f"{row['duration_minutes']} minutes, {row['modality'].replace('_', ' ')}",
        "appointmentRequired": True,
    }


def clinician_schedule(row: Mapping[str, Any], location_ids: Iterable[str], types: Sequence[Mapping[str, Any]]) -> dict:
    return {
        "resourceType": "Schedule", "id": CLINICIAN_SCHEDULE + row["id"], "active": bool(row["active"]),
        "serviceType": [type_concept(kind["code"], kind["name"]) for kind in types],
        "actor": [{"reference": f"Practitioner/{row['id']}", "display": row["name"]}]
        + [{"reference": f"Location/{loc}"} for loc in sorted(set(location_ids))],
    }


def room_schedule(row: Mapping[str, Any]) -> dict:
    """A chair or room's Schedule (a FHIR Device has no place here; the room is described by its Location)."""
    return {
        "resourceType": "Schedule", "id": ROOM_SCHEDULE + row["id"], "active": bool(row["active"]),
        "actor": [{"reference": f"Location/{row['location_id']}", "display": row["name"]}],
        "comment": f"{row['kind']}: {row['name']}",
    }


def smart_schedule(location_id: str, kind: Mapping[str, Any]) -> dict:
    """SMART's Schedule shape: one service at one Location, ``actor`` exactly one Location reference."""
    return {
        "resourceType": "Schedule", "id": service_schedule_id(location_id, kind["code"]),
        "serviceType": [type_concept(kind["code"], kind["name"])],
        "actor": [{"reference": f"Location/{location_id}"}],
    }


def deep_link(widget_url: str, type_code: str, start: datetime, clinician_id: str) -> str:
    """The widget demo page with this slot preselected (see widget.js, "deep link")."""
    query = urlencode({"kapbook-type": type_code, "kapbook-start": instant(start), "kapbook-clinician": clinician_id})
    return f"{widget_url}?{query}"


class SlotWriter:
    """Builds the free Slots of one answer, with SMART's booking extensions.

    A week of a large clinic is thousands of slots sharing a few hundred start instants and a few
    dozen clinicians: each instant, quoted id and type concept is made once per answer, not per slot
    (urlencode per slot was most of the cost of a search).
    """

    def __init__(self, widget_url: str, phone: str | None) -> None:
        self.widget_url = widget_url
        self.phone = {"url": BOOKING_PHONE, "valueString": phone} if phone else None
        self._instants: dict[datetime, str] = {}
        self._quoted: dict[str, str] = {}
        self._concepts: dict[str, list[dict]] = {}

    def _instant(self, value: datetime) -> str:
        text = self._instants.get(value)
        if text is None:
            text = self._instants[value] = instant(value)
        return text

    def _quote(self, text: str) -> str:
        quoted = self._quoted.get(text)
        if quoted is None:
            quoted = self._quoted[text] = quote_plus(text)
        return quoted

    def __call__(self, slot_: Any, kind: Mapping[str, Any], schedule_ref: str) -> dict:
        code, start = kind["code"], self._instant(slot_.start_utc)
        link = (f"{self.widget_url}?kapbook-type={self._quote(code)}&kapbook-start={self._quote(start)}"
                f"&kapbook-clinician={self._quote(slot_.clinician_id)}")
        extension = [{"url": BOOKING_DEEP_LINK, "valueUrl": link}]
        if self.phone:
            extension.append(self.phone)
        concept = self._concepts.get(code)
        if concept is None:
            concept = self._concepts[code] = [type_concept(code, kind["name"])]
        return {
            "resourceType": "Slot",
            "id": "slot-" + _digest(code, slot_.clinician_id, start, slot_.room_id or ""),
            "schedule": {"reference": schedule_ref}, "status": "free", "serviceType": concept,
            "start": start, "end": self._instant(slot_.end_utc), "extension": extension,
        }


def slot(slot_: Any, kind: Mapping[str, Any], schedule_ref: str, *, widget_url: str, phone: str | None) -> dict:
    """One free Slot (see SlotWriter for many)."""
    return SlotWriter(widget_url, phone)(slot_, kind, schedule_ref)


def appointment(row: Mapping[str, Any], kind: Mapping[str, Any]) -> dict:
    """A booking as an Appointment (staff only: the patient's name is in it)."""
    status = "pending" if row["status"] == "held" else row["status"]
    participants = [
        {"actor": {"reference": f"Practitioner/{row['clinician_id']}"}, "status": "accepted"},
        {"actor": {"reference": f"Location/{row['location_id']}"}, "status": "accepted"},
    ]
    if row.get("patient_name"):
        participants.insert(0, {"actor": {"display": row["patient_name"]}, "status": "accepted"})
    return {
        "resourceType": "Appointment", "id": row["id"], "status": status,
        "serviceType": [type_concept(kind["code"], kind["name"])],
        "start": instant(row["start"]), "end": instant(row["end"]), "created": instant(row["created_at"]),
        "participant": participants,
    }


def searchset(base: str, entries: Sequence[dict], total: int, links: Mapping[str, str]) -> dict:
    return {
        "resourceType": "Bundle", "type": "searchset", "total": total,
        "link": [{"relation": relation, "url": url} for relation, url in links.items()],
        "entry": [{"fullUrl": f"{base}/{e['resourceType']}/{e['id']}", "resource": e, "search": {"mode": "match"}}
                  for e in entries],
    }


def operation_outcome(code: str, message: str, *, severity: str = "error") -> dict:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": severity, "code": code, "diagnostics": message}]}


SEARCH_PARAMS = {
    "Slot": [("schedule", "reference"), ("service-type", "token"), ("start", "date"), ("status", "token")],
    "Appointment": [("date", "date"), ("status", "token")],
}
READABLE = ("Location", "Practitioner", "PractitionerRole", "HealthcareService", "Schedule", "Appointment")


def capability_statement(base: str, now: datetime) -> dict:
    """What this read-only server answers."""
    resources = []
    for kind in ("Location", "Practitioner", "PractitionerRole", "HealthcareService", "Schedule", "Slot", "Appointment"):
        interactions = [{"code": "search-type"}] + ([{"code": "read"}] if kind in READABLE else [])
        params = [{"name": name, "type": kind_} for name, kind_ in SEARCH_PARAMS.get(kind, [])]
        params += [{"name": "_count", "type": "number"}]
        resources.append({"type": kind, "interaction": interactions, "searchParam": params})
    return {
        "resourceType": "CapabilityStatement", "status": "active", "date": instant(now), "kind": "instance",
        "software": {"name": "Kapbook booking"}, "implementation": {"description": "Kapbook FHIR R4 scheduling", "url": base},
        "fhirVersion": "4.0.1", "format": ["application/fhir+json", "json"],
        "rest": [{"mode": "server", "resource": resources,
                  "operation": [{"name": "bulk-publish", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/bulk-publish"}]}],
    }


def manifest(request_url: str, now: datetime, outputs: Sequence[tuple[str, str]], states: Sequence[str] = ()) -> dict:
    """The SMART Scheduling Links ``$bulk-publish`` manifest; ``states`` hints where the Slots are."""
    extension = {"extension": {"state": sorted(set(states))}} if states else {}
    return {"transactionTime": instant(now), "request": request_url,
            "output": [{"type": kind, "url": url} | (extension if kind == "Slot" else {}) for kind, url in outputs],
            "error": []}
