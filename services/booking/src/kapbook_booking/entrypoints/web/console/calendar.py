"""The console's calendar: a day of every clinician (or room) at a location side by side, or a week
of one clinician (or room). Bookings, holds, time off and working hours, from the calendar use case."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import redirect, request, url_for

from kapbook_booking.entrypoints.http.staff_access import catalog, schedules, staff_calendar
from kapbook_booking.entrypoints.web.console.access import bp, console_view, page
from kapbook_booking.entrypoints.web.console.choices import pick_zone, read_date
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_booking.service_layer.staff_calendar import CalendarQuery

MINUTES_PER_DAY = 24 * 60
DEFAULT_HOURS = (7, 20)
STATUS_NAMES = {"held": "Held", "booked": "Booked", "arrived": "Arrived", "fulfilled": "Completed",
                "cancelled": "Cancelled", "noshow": "No-show"}


@dataclass(frozen=True)
class Block:
    """Something drawn in a calendar column, placed by local wall-clock minutes."""

    kind: str  # booking, buffer, time_off or working
    start_minute: int
    end_minute: int
    title: str = ""
    detail: str = ""
    href: str | None = None
    status: str | None = None


@dataclass
class Column:
    heading: str
    subheading: str
    href: str
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True)
class Grid:
    columns: list[Column]
    first_hour: int
    last_hour: int

    @property
    def hours(self) -> range:
        return range(self.first_hour, self.last_hour)

    def top(self, block: Block) -> float:
        return round(100 * (block.start_minute - self.first_hour * 60) / self.span_minutes, 3)

    def height(self, block: Block) -> float:
        return round(100 * (block.end_minute - block.start_minute) / self.span_minutes, 3)

    @property
    def span_minutes(self) -> int:
        return (self.last_hour - self.first_hour) * 60


def minutes_within(day: date, start: datetime, end: datetime) -> tuple[int, int] | None:
    """Local wall-clock minutes of [start, end) on ``day`` (both already in the calendar's zone)."""
    if end.date() < day or start.date() > day:
        return None
    first = 0 if start.date() < day else start.hour * 60 + start.minute
    last = MINUTES_PER_DAY if end.date() > day else end.hour * 60 + end.minute
    return (first, last) if last > first else None


def blocks_for_day(view: dict[str, Any], day: date, by: str) -> list[Block]:
    """The working intervals, time off and bookings (with their buffers) of a calendar view that fall on ``day``."""
    blocks = []
    for interval in view["working_intervals"]:
        if span := minutes_within(day, interval["start"], interval["end"]):
            blocks.append(Block("working", *span, title=interval["location_name"]))
    for period in view["time_off"]:
        if span := minutes_within(day, period["start"], period["end"]):
            blocks.append(Block("time_off", *span, title="Time off", detail=period["reason"] or ""))
    for period in view["calendar_busy"]:
        if span := minutes_within(day, period["start"], period["end"]):
            blocks.append(Block("time_off", *span, title="Busy", detail="in their own calendar"))
    for booking in view["bookings"]:
        for edge in ((booking["blocked_start"], booking["start"]), (booking["end"], booking["blocked_end"])):
            if span := minutes_within(day, *edge):
                blocks.append(Block("buffer", *span))
        if span := minutes_within(day, booking["start"], booking["end"]):
            blocks.append(booking_block(booking, span, by))
    return blocks


def booking_block(booking: dict[str, Any], span: tuple[int, int], by: str) -> Block:
    """A booking's block: who and what; in a room's calendar with whom, in a clinician's where."""
    held = booking["status"] == "held"
    who = "Held while a patient books" if held else booking["patient_name"] or "Patient"
    times = f"{booking['start']:%H:%M}–{booking['end']:%H:%M}"
    room = booking["room"]["name"] if booking["room"] else None
    where = booking["clinician"]["name"] if by == "room" or room is None else room
    return Block(
        "booking", *span, title=f"{times} {who}", detail=f"{booking['appointment_type']['name']} · {where}",
        href=None if held else url_for("console.booking_detail", booking_id=booking["id"]), status=booking["status"],
    )


def hour_range(columns: list[Column]) -> tuple[int, int]:
    """7:00 to 20:00, widened to show everything drawn."""
    first, last = DEFAULT_HOURS
    for block in (block for column in columns for block in column.blocks):
        first = min(first, block.start_minute // 60)
        last = max(last, -(-block.end_minute // 60))
    return first, last


@dataclass(frozen=True)
class CalendarRequest:
    """What the calendar page was asked to show, read from its query string with defaults."""

    view: str
    by: str
    day: date
    zone: str
    location: dict[str, Any]
    subject_id: str | None
    include_cancelled: bool

    def link(self, **changes: Any) -> str:
        args = {"view": self.view, "by": self.by, "date": self.day.isoformat(), "location": self.location["id"],
                "tz": self.zone, "subject": self.subject_id} | changes
        if self.include_cancelled:
            args["cancelled"] = "1"
        return url_for("console.calendar", **{k: v for k, v in args.items() if v})

    @property
    def step(self) -> timedelta:
        return timedelta(days=1 if self.view == "day" else 7)

    @property
    def week_start(self) -> date:
        return self.day - timedelta(days=self.day.weekday())


def read_calendar_request(locations: list[dict[str, Any]]) -> CalendarRequest:
    args = request.args
    location = next((place for place in locations if place["id"] == args.get("location")), locations[0])
    zone = pick_zone(args.get("tz"), location["timezone"])
    return CalendarRequest(
        view="week" if args.get("view") == "week" else "day",
        by="room" if args.get("by") == "room" else "clinician",
        day=read_date(args.get("date"), container().clock().astimezone(ZoneInfo(zone)).date()),
        zone=zone, location=location, subject_id=args.get("subject") or None,
        include_cancelled=args.get("cancelled") == "1",
    )


def subjects(ask: CalendarRequest) -> list[dict[str, Any]]:
    """Active clinicians working at the location, or its active rooms and chairs."""
    if ask.by == "room":
        return [room | {"role": room["kind"].replace("_", " ")} for room in catalog().rooms(ask.location["id"]) if room["active"]]
    return [person for person in catalog().clinicians() if person["active"] and ask.location["id"] in person["location_ids"]]


def calendar_view(ask: CalendarRequest, view: str, day: date, subject_id: str) -> dict[str, Any]:
    key = "room_id" if ask.by == "room" else "clinician_id"
    query = CalendarQuery(view=view, day=day, zone=ZoneInfo(ask.zone), include_cancelled=ask.include_cancelled,
                          **{key: subject_id})
    shown = staff_calendar().view(query)
    # One audit row per calendar shown (a day view shows several): whose calendar, not what is on it.
    container().audit_trail.staff_read(current_staff(), "calendar", f"{ask.by}:{subject_id}", request.remote_addr)
    return shown


def day_columns(ask: CalendarRequest, people: list[dict[str, Any]]) -> tuple[list[Column], list[dict]]:
    columns, bookings = [], []
    for subject in people:
        view = calendar_view(ask, "day", ask.day, subject["id"])
        link = ask.link(view="week", subject=subject["id"])
        columns.append(Column(subject["name"], subject["role"].replace("_", " "), link, blocks_for_day(view, ask.day, ask.by)))
        bookings += view["bookings"]
    return columns, bookings


def week_columns(ask: CalendarRequest, subject: dict[str, Any]) -> tuple[list[Column], list[dict]]:
    view = calendar_view(ask, "week", ask.day, subject["id"])
    days = [ask.week_start + timedelta(days=offset) for offset in range(7)]
    columns = [Column(f"{day:%a} {day.day} {day:%b}", "", ask.link(view="day", date=day.isoformat()),
                      blocks_for_day(view, day, ask.by)) for day in days]
    return columns, view["bookings"]


@bp.get("/calendar")
@console_view()
def calendar():
    """Day: everyone at a location side by side. Week: one clinician or room, Monday to Sunday."""
    locations = catalog().locations()
    if not locations:
        return page("console/calendar.html", ask=None, grid=None, bookings=[], people=[], locations=[])
    if not request.args and (own := _own_calendar(locations)):
        return redirect(own, code=302)
    ask = read_calendar_request(locations)
    people = subjects(ask)
    subject = next((p for p in people if p["id"] == ask.subject_id), people[0] if people else None)
    if ask.view == "week" and subject is not None:
        columns, bookings = week_columns(ask, subject)
    elif ask.view == "day":
        columns, bookings = day_columns(ask, people)
    else:
        columns, bookings = [], []
    grid = Grid(columns, *hour_range(columns)) if columns else None
    unique = {booking["id"]: booking for booking in bookings}
    return page(
        "console/calendar.html", ask=ask, grid=grid, people=people, subject=subject, locations=locations,
        bookings=sorted(unique.values(), key=lambda b: (b["start"], b["clinician"]["name"])), status_names=STATUS_NAMES,
        zones=sorted({place["timezone"] for place in locations} | {ask.zone, "UTC"}),
        today=container().clock().astimezone(ZoneInfo(ask.zone)).date(),
    )


# --- a linked clinician's own calendar by default (clin) -------------------------------------------


def _own_calendar(locations: list[dict[str, Any]]) -> str | None:
    """For a clinician linked to a clinician record: their week at a location they work at."""
    staff = current_staff()
    own = schedules().own_clinician_id(staff) if staff is not None and staff.role == "clinician" else None
    if own is None:
        return None
    where = catalog().clinician(own)["location_ids"]
    location = next((place["id"] for place in locations if place["id"] in where), locations[0]["id"])
    return url_for("console.calendar", view="week", subject=own, location=location)
