"""What the reminders service knows about a booking: a frozen snapshot built from booking events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class BookingStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    NOSHOW = "noshow"
    FULFILLED = "fulfilled"


class Category(StrEnum):
    CONSULTATION = "consultation"
    EVALUATION = "evaluation"
    PREPARATION = "preparation"
    DOSING_IV = "dosing_iv"
    DOSING_ESKETAMINE = "dosing_esketamine"
    DOSING_IM = "dosing_im"
    INTEGRATION = "integration"
    BOOSTER = "booster"

    @property
    def is_dosing(self) -> bool:
        """A session where the drug is given: an infusion, esketamine, IM/sublingual dosing or a booster."""
        return self in DOSING_CATEGORIES


DOSING_CATEGORIES = frozenset({Category.DOSING_IV, Category.DOSING_ESKETAMINE, Category.DOSING_IM, Category.BOOSTER})


class Modality(StrEnum):
    IN_PERSON = "in_person"
    TELEHEALTH = "telehealth"


@dataclass(frozen=True)
class SeriesPlace:
    """Where a session sits in its treatment series (ids and counts, and the protocol's name)."""

    series_id: str
    protocol_name: str
    position: int
    size: int

    def __post_init__(self) -> None:
        if not 1 <= self.position <= self.size:
            raise ValueError("position must be between 1 and size")

    @property
    def label(self) -> str:
        """'Session 3 of 6'."""
        return f"Session {self.position} of {self.size}"

    @classmethod
    def from_event(cls, data: dict[str, Any] | None) -> SeriesPlace | None:
        return None if data is None else cls(data["series_id"], data["protocol_name"], data["position"], data["size"])


@dataclass(frozen=True)
class BookingSnapshot:
    """A booking as of one event; `sequence` is raised on every change.

    String values for status, category and modality are accepted and turned
    into their enums, so the plumbing can build a snapshot straight from an event.
    """

    booking_id: str
    sequence: int
    status: BookingStatus
    appointment_type_code: str
    appointment_type_name: str
    category: Category
    start: datetime
    end: datetime
    patient_timezone: str
    location_name: str
    location_timezone: str
    modality: Modality
    clinician_name: str
    patient_name: str
    patient_email: str
    manage_url: str
    cancellation_notice_hours: int
    location_address: str | None = None
    join_url: str | None = None  # telehealth: where the patient joins the video call
    series: SeriesPlace | None = None  # a session of a treatment series

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", BookingStatus(self.status))
        object.__setattr__(self, "category", Category(self.category))
        object.__setattr__(self, "modality", Modality(self.modality))
        object.__setattr__(self, "start", require_aware_utc(self.start, "start"))
        object.__setattr__(self, "end", require_aware_utc(self.end, "end"))
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.sequence < 0:
            raise ValueError("sequence must not be negative")
        if self.cancellation_notice_hours < 0:
            raise ValueError("cancellation_notice_hours must not be negative")
        require_zone(self.patient_timezone)
        require_zone(self.location_timezone)
        require_web_url(self.manage_url, "manage_url")
        if self.join_url is not None:
            require_web_url(self.join_url, "join_url")
        if "@" not in self.patient_email:
            raise ValueError("patient_email must be an email address")

    @classmethod
    def from_event(cls, data: dict[str, Any]) -> BookingSnapshot:
        """The snapshot in a validated booking event payload (or a message context stored from one)."""
        appointment_type, location, patient = data["appointment_type"], data["location"], data["patient"]
        return cls(
            booking_id=data["booking_id"],
            sequence=data["sequence"],
            status=data["status"],
            appointment_type_code=appointment_type["code"],
            appointment_type_name=appointment_type["name"],
            category=appointment_type["category"],
            start=datetime.fromisoformat(data["start"]),
            end=datetime.fromisoformat(data["end"]),
            patient_timezone=patient["timezone"],
            location_name=location["name"],
            location_timezone=location["timezone"],
            location_address=location.get("address"),
            modality=appointment_type["modality"],
            clinician_name=data["clinician"]["name"],
            patient_name=patient["name"],
            patient_email=patient["email"],
            manage_url=data["manage_url"],
            cancellation_notice_hours=data["cancellation_notice_hours"],
            join_url=data.get("join_url"),
            series=SeriesPlace.from_event(data.get("series")),
        )

    @property
    def is_telehealth(self) -> bool:
        return self.modality is Modality.TELEHEALTH

    @property
    def video_call_url(self) -> str | None:
        """The join URL of a booked telehealth appointment (none once it is cancelled or over)."""
        return self.join_url if self.is_telehealth and self.status is BookingStatus.BOOKED else None

    @property
    def cancellation_policy(self) -> str:
        """The clinic's notice rule as one sentence for emails and invites."""
        if self.cancellation_notice_hours == 0:
            return "You can cancel or reschedule up to the start of your appointment."
        hours = self.cancellation_notice_hours
        unit = "hour" if hours == 1 else "hours"
        return f"Please cancel or reschedule at least {hours} {unit} before your appointment."


def require_aware_utc(moment: datetime, name: str) -> datetime:
    """Return `moment` in UTC, refusing naive datetimes (their meaning is a guess)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)


def require_zone(name: str) -> ZoneInfo:
    """Return the IANA zone called `name`, or raise ValueError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone: {name!r}") from error


def require_web_url(url: str, name: str) -> str:
    """Accept only absolute http(s) URLs: they end up in href attributes and headers."""
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.netloc:
        raise ValueError(f"{name} must be an absolute http(s) URL")
    return url
