"""A small CalDAV client (RFC 4791) for clinicians' own calendars: read the events of a time
range, write and remove Kapbook's own events. Every request goes through the SSRF guard and
the webhook sender's safe request (checked address, no redirects, a timeout, a size cap).

Events are read with a ``calendar-query`` REPORT for VEVENTs overlapping the range and expanded
locally (domain/external_calendar.py), so servers that cannot expand recurrences work too.
"""
from __future__ import annotations

import base64
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote

from kapbook_booking.adapters.webhook_http import Answer, TargetGuard, UnsafeTarget, guarded_request

DAV, CALDAV = "DAV:", "urn:ietf:params:xml:ns:caldav"
USER_AGENT = "Kapbook-CalDAV/1"


class CalDavError(Exception):
    """The calendar could not be read or written; the message is safe to show staff."""


@dataclass(frozen=True)
class CalDavCredentials:
    url: str  # the calendar collection, e.g. https://caldav.example.org/dav/alice/work/
    username: str
    password: str

    def __repr__(self) -> str:  # never the password, whatever logs it
        return f"CalDavCredentials(url={self.url!r}, username={self.username!r})"


@dataclass(frozen=True)
class CalDavClient:
    guard: TargetGuard
    timeout: float = 10.0
    max_body: int = 5 * 1024 * 1024
    ca_file: str | None = None

    def calendar_data(self, credentials: CalDavCredentials, start: datetime, end: datetime) -> list[str]:
        """The iCalendar text of every event resource with an occurrence in [start, end)."""
        answer = self._request(credentials, "REPORT", _collection(credentials.url), _query(start, end),
                               {"Depth": "1", "Content-Type": "application/xml; charset=utf-8"})
        if answer.status != 207:
            raise CalDavError(_status_problem(answer.status, "read"))
        return _calendar_data(answer.body)

    def put_event(self, credentials: CalDavCredentials, uid: str, ics: bytes) -> None:
        """Create or replace the event resource ``<uid>.ics`` in the calendar."""
        answer = self._request(credentials, "PUT", _resource(credentials.url, uid), ics,
                               {"Content-Type": "text/calendar; charset=utf-8"})
        if not 200 <= answer.status < 300:
            raise CalDavError(_status_problem(answer.status, "write to"))

    def delete_event(self, credentials: CalDavCredentials, uid: str) -> None:
        """Remove ``<uid>.ics``; one that is gone already is fine."""
        answer = self._request(credentials, "DELETE", _resource(credentials.url, uid), None, {})
        if not (200 <= answer.status < 300 or answer.status in (404, 410)):
            raise CalDavError(_status_problem(answer.status, "remove an event from"))

    def _request(self, credentials: CalDavCredentials, method: str, url: str, body: bytes | None,
                 headers: dict[str, str]) -> Answer:
        login = base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()
        headers = {**headers, "Authorization": f"Basic {login}", "User-Agent": USER_AGENT}
        try:
            answer = guarded_request(self.guard, method, url, body, headers, timeout=self.timeout,
                                     max_body=self.max_body, ca_file=self.ca_file)
        except UnsafeTarget as refusal:
            raise CalDavError(f"Refused: {refusal}") from None
        except Exception as error:  # a timeout, a refused connection, TLS: a sync error, never a crash
            raise CalDavError(f"The calendar server could not be reached ({_network_problem(error)}).") from None
        if answer.cut_off:
            raise CalDavError(f"The calendar server answered more than {self.max_body // (1024 * 1024) or 1} MB; "
                              "sync a shorter period or a smaller calendar.")
        return answer


def _collection(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _resource(url: str, uid: str) -> str:
    return _collection(url) + quote(uid, safe="") + ".ics"


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _query(start: datetime, end: datetime) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<C:calendar-query xmlns:D="{DAV}" xmlns:C="{CALDAV}">'
        "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        f'<C:time-range start="{_utc(start)}" end="{_utc(end)}"/>'
        "</C:comp-filter></C:comp-filter></C:filter>"
        "</C:calendar-query>"
    ).encode()


def _calendar_data(body: bytes) -> list[str]:
    """Each ``calendar-data`` text of a 207 multistatus answer."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise CalDavError("The calendar server's answer is not the XML CalDAV expects.") from None
    if root.tag != f"{{{DAV}}}multistatus":
        raise CalDavError("The calendar server's answer is not a CalDAV multistatus.")
    return [element.text for element in root.iter(f"{{{CALDAV}}}calendar-data") if element.text and element.text.strip()]


def _status_problem(status: int, doing: str) -> str:
    if status in (401, 403):
        return "The calendar server refused the user name or password (or this user may not use the calendar)."
    if status == 404:
        return "The calendar server has no calendar at this URL."
    if 300 <= status < 400:
        return f"The calendar server answered a redirect ({status}); enter the calendar's final URL."
    return f"The calendar server would not let Kapbook {doing} the calendar (HTTP {status})."


def _network_problem(error: Exception) -> str:
    text = str(error)
    if "timed out" in text.lower() or "timeout" in type(error).__name__.lower():
        return "it did not answer in time"
    return type(error).__name__
