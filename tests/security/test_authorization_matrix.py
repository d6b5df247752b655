"""Who may call what: every route of every service, for every kind of caller.

The matrix below decides each (route, method) of each app's url_map. A route added without a
decision fails ``test_every_route_has_a_decision``, and a decision for a route that is gone fails it
too, so the matrix is the reviewed list of what is public. Callers: anonymous, a patient holding a
manage token (sent as a bearer token where staff would send theirs), each staff role, and the
service-to-service token.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from kapbook_platform.staff.principal import ROLES
from kapbook_platform.staff.scopes import ALL, ANY, BOOKINGS, READ_ONLY, REVIEWS, SCHEDULES, SCOPES, describe
from kapbook_reminders.domain.unsubscribe import unsubscribe_token
from support.check_ins import check_in_token

pytestmark = pytest.mark.integration

ADMIN, CLINICIAN, FRONT_DESK = "admin", "clinician", "front_desk"
SCHEDULERS = (ADMIN, FRONT_DESK)
# Schedule writes: a clinician too, on their own schedule only (403 not_your_schedule otherwise,
# tested in tests/booking/integration/test_own_schedule.py).
SCHEDULE_WRITERS = (ADMIN, FRONT_DESK, CLINICIAN)
REVIEWERS = (CLINICIAN, ADMIN)
CALLERS = ("anonymous", "manage_token", "service_token", *ROLES)
UNAUTHENTICATED = ("anonymous", "manage_token", "service_token")


@dataclass(frozen=True)
class Access:
    kind: str  # public, staff, service, manage_link, secret_url, console
    roles: tuple[str, ...] = ROLES
    refused: int = 403  # for secret_url: the status of a URL whose secret is wrong
    scope: str | tuple[str, ...] | None = None  # for staff: what an API token's scopes must allow

    def __str__(self) -> str:
        return self.kind if self.roles == ROLES else f"{self.kind} ({', '.join(self.roles)})"


PUBLIC = Access("public")
SERVICE = Access("service")
MANAGE_LINK = Access("manage_link")
SIGN_IN_LINK = Access("sign_in_link")  # a patient's one-time emailed link: its token is the credential
WAITLIST_LINK = Access("waitlist_link")  # an emailed waitlist link (offer or leave): its token is the credential
PATIENT_SESSION = Access("patient_session")  # the /my session cookie; no other credential stands in for it


def staff(*roles: str, scope: str | tuple[str, ...]) -> Access:
    """A staff route: any of ``roles`` (all if none), with a token whose scopes allow ``scope`` (ANY: a read)."""
    return Access("staff", roles or ROLES, scope=scope)


def console(*roles: str) -> Access:
    return Access("console", roles or ROLES)


def secret_url(refused: int) -> Access:
    return Access("secret_url", refused=refused)


def health(prefix: str) -> dict[tuple[str, str], Access]:
    return {(f"{path}/{name}", "GET"): PUBLIC for path in ("", prefix) for name in ("healthz", "readyz", "openapi.json")}


B = "/api/booking/v1"
F = "/api/booking/fhir/r4"
FHIR_KINDS = "Location, Practitioner, PractitionerRole, HealthcareService, Schedule"
E = "/api/eligibility/v1"
R = "/api/reminders/v1"

MATRIX: dict[str, dict[tuple[str, str], Access]] = {
    "booking": health("/api/booking") | {
        # Patients: the widget's calls, no sign-in.
        (f"{B}/catalog", "GET"): PUBLIC,
        # FHIR R4 and SMART Scheduling Links: the catalogue and free slots are public; appointments
        # name patients, so any staff role and nobody else.
        **{(f"{F}{path}", "GET"): PUBLIC for path in (
            "/metadata", "/Slot", "/$bulk-publish",
            "/$bulk-publish/<any('locations.ndjson', 'schedules.ndjson', 'slots.ndjson'):name>",
            f"/<any({FHIR_KINDS}):kind>", f"/<any({FHIR_KINDS}):kind>/<resource_id>")},
        **{(f"{F}/<path:rest>", method): PUBLIC for method in ("GET", "POST", "PUT", "PATCH", "DELETE")},  # 404/405
        (f"{F}/Appointment", "GET"): staff(scope=ANY),
        (f"{F}/Appointment/<booking_id>", "GET"): staff(scope=ANY),
        (f"{B}/availability", "GET"): PUBLIC,
        (f"{B}/holds", "POST"): PUBLIC,
        (f"{B}/holds/<string:hold_id>", "DELETE"): PUBLIC,  # a hold's id is a random UUID only its maker knows
        (f"{B}/bookings", "POST"): PUBLIC,
        # The manage link: its token is the credential.
        (f"{B}/manage/<string:token>", "GET"): MANAGE_LINK,
        (f"{B}/manage/<string:token>/cancel", "POST"): MANAGE_LINK,
        (f"{B}/manage/<string:token>/reschedule", "POST"): MANAGE_LINK,
        ("/manage/<string:token>", "GET"): MANAGE_LINK,
        ("/manage/<string:token>/cancel", "POST"): MANAGE_LINK,
        ("/manage/<string:token>/reschedule", "POST"): MANAGE_LINK,
        ("/manage/<string:token>/series/cancel-remaining", "POST"): MANAGE_LINK,
        # Treatment series: protocols and proposals are public, a series is booked like a booking,
        # reached through any session's manage link, and read or cancelled by any staff role.
        (f"{B}/protocols", "GET"): PUBLIC,
        (f"{B}/protocols", "POST"): staff(ADMIN, scope=SCHEDULES),
        (f"{B}/protocols/<string:protocol_id>", "PATCH"): staff(ADMIN, scope=SCHEDULES),
        (f"{B}/series/proposals", "GET"): PUBLIC,
        (f"{B}/series", "POST"): PUBLIC,
        (f"{B}/series/<string:series_id>", "GET"): staff(scope=ANY),
        (f"{B}/series/<string:series_id>/cancel-remaining", "POST"): staff(scope=BOOKINGS),
        (f"{B}/manage/<string:token>/series", "GET"): MANAGE_LINK,
        (f"{B}/manage/<string:token>/series/cancel-remaining", "POST"): MANAGE_LINK,
        # The waitlist: anyone may join (the eligibility gate applies); the emailed offer and leave
        # links are the credentials of their pages; staff read any type's waitlist and offer by hand.
        (f"{B}/waitlist", "POST"): PUBLIC,
        (f"{B}/waitlist", "GET"): staff(scope=ANY),
        (f"{B}/waitlist/entries/<string:entry_id>", "DELETE"): staff(scope=BOOKINGS),
        (f"{B}/waitlist/entries/<string:entry_id>/offers", "POST"): staff(scope=BOOKINGS),
        **{(f"{prefix}/waitlist/{path}", method): WAITLIST_LINK
           for prefix in (B, "") for path, method in (
               ("leave/<string:token>", "GET"), ("leave/<string:token>", "POST"), ("offers/<string:token>", "GET"),
               ("offers/<string:token>/claim", "POST"), ("offers/<string:token>/decline", "POST"))},
        ("/waitlist/offers/<string:token>/leave", "POST"): WAITLIST_LINK,
        ("/staff/waitlist", "GET"): console(),
        ("/staff/waitlist/<string:entry_id>/offer", "POST"): console(ADMIN, FRONT_DESK),
        ("/staff/waitlist/<string:entry_id>/remove", "POST"): console(ADMIN, FRONT_DESK),
        # A clinician's calendar app: the feed URL's token is the credential.
        (f"{B}/calendars/<string:token>.ics", "GET"): secret_url(404),
        # Staff on bookings: any role.
        (f"{B}/bookings/<string:booking_id>", "GET"): staff(scope=ANY),
        (f"{B}/bookings/<string:booking_id>/cancel", "POST"): staff(scope=BOOKINGS),
        (f"{B}/bookings/<string:booking_id>/reschedule", "POST"): staff(scope=BOOKINGS),
        (f"{B}/bookings/<string:booking_id>/arrive", "POST"): staff(scope=BOOKINGS),
        (f"{B}/bookings/<string:booking_id>/complete", "POST"): staff(scope=BOOKINGS),
        (f"{B}/bookings/<string:booking_id>/no-show", "POST"): staff(scope=BOOKINGS),
        (f"{B}/bookings/<string:booking_id>/rotate-manage-link", "POST"): staff(scope=BOOKINGS),
        (f"{B}/calendar", "GET"): staff(scope=ANY),
        (f"{B}/reports/director", "GET"): staff(ADMIN, scope=ANY),
        # The catalogue: any role reads, admins write.
        **{(f"{B}/{things}", "GET"): staff(scope=ANY) for things in ("locations", "rooms", "appointment-types", "clinicians")},
        **{(f"{B}/{things}", "POST"): staff(ADMIN, scope=SCHEDULES) for things in ("locations", "rooms", "appointment-types", "clinicians")},
        **{(f"{B}/{things}/<string:{key}>", "GET"): staff(scope=ANY)
           for things, key in (("locations", "location_id"), ("rooms", "room_id"), ("appointment-types", "type_id"),
                               ("clinicians", "clinician_id"))},
        **{(f"{B}/{things}/<string:{key}>", method): staff(ADMIN, scope=SCHEDULES)
           for things, key in (("locations", "location_id"), ("rooms", "room_id"), ("appointment-types", "type_id"),
                               ("clinicians", "clinician_id"))
           for method in ("PATCH", "DELETE")},
        (f"{B}/clinicians/<string:clinician_id>/calendar-feed", "GET"): staff(ADMIN, scope=ANY),
        (f"{B}/clinicians/<string:clinician_id>/calendar-feed", "POST"): staff(ADMIN, scope=SCHEDULES),
        # Schedules: any role reads, admins, front desk and the clinician themselves write.
        **{(f"{B}/clinicians/<string:clinician_id>/{things}", "GET"): staff(scope=ANY)
           for things in ("working-hours", "overrides", "time-off")},
        **{(f"{B}/clinicians/<string:clinician_id>/{things}", "POST"): staff(*SCHEDULE_WRITERS, scope=SCHEDULES)
           for things in ("working-hours", "overrides", "time-off")},
        (f"{B}/working-hours/<string:hours_id>", "PATCH"): staff(*SCHEDULE_WRITERS, scope=SCHEDULES),
        (f"{B}/working-hours/<string:hours_id>", "DELETE"): staff(*SCHEDULE_WRITERS, scope=SCHEDULES),
        (f"{B}/overrides/<string:override_id>", "DELETE"): staff(*SCHEDULE_WRITERS, scope=SCHEDULES),
        (f"{B}/time-off/<string:time_off_id>", "DELETE"): staff(*SCHEDULE_WRITERS, scope=SCHEDULES),
        # Clinicians' own calendars: any role reads (a clinician only their own, in the use case);
        # admins and the clinician themselves connect and change.
        (f"{B}/clinicians/<string:clinician_id>/calendar-connections", "GET"): staff(scope=ANY),
        (f"{B}/clinicians/<string:clinician_id>/calendar-connections", "POST"): staff(ADMIN, CLINICIAN, scope=SCHEDULES),
        (f"{B}/calendar-connections/<string:connection_id>", "GET"): staff(scope=ANY),
        (f"{B}/calendar-connections/<string:connection_id>/busy", "GET"): staff(scope=ANY),
        **{(f"{B}/calendar-connections/<string:connection_id>", method): staff(ADMIN, CLINICIAN, scope=SCHEDULES)
           for method in ("PATCH", "DELETE")},
        (f"{B}/calendar-connections/<string:connection_id>/sync", "POST"): staff(ADMIN, CLINICIAN, scope=SCHEDULES),
        # Returning patients: ask for a link (same answer for any address), sign in with it, /my.
        (f"{B}/patient/sign-in-links", "POST"): PUBLIC,
        (f"{B}/patient/status", "POST"): PUBLIC,  # the widget proof in the body is the credential
        (f"{B}/patient/proof", "POST"): PATIENT_SESSION,
        ("/my", "GET"): PUBLIC,  # the sign-in form until a patient session exists
        ("/my/sign-in-link", "POST"): PUBLIC,
        ("/my/sign-in/<string:token>", "GET"): SIGN_IN_LINK,
        ("/my/sign-in/<string:token>", "POST"): SIGN_IN_LINK,
        ("/my/sign-out", "POST"): PUBLIC,
        # Staff accounts: admins only.
        (f"{B}/staff-members", "GET"): staff(ADMIN, scope=ANY),
        (f"{B}/staff-members", "POST"): staff(ADMIN, scope=ALL),
        (f"{B}/staff-members/<string:staff_id>", "PATCH"): staff(ADMIN, scope=ALL),
        # Webhook endpoints: admins only (their secrets sign what the clinic's systems trust).
        (f"{B}/webhooks", "GET"): staff(ADMIN, scope=ANY),
        (f"{B}/webhooks", "POST"): staff(ADMIN, scope=ALL),
        (f"{B}/webhooks/<string:endpoint_id>", "GET"): staff(ADMIN, scope=ANY),
        **{(f"{B}/webhooks/<string:endpoint_id>", method): staff(ADMIN, scope=ALL) for method in ("PATCH", "DELETE")},
        (f"{B}/webhooks/<string:endpoint_id>/rotate-secret", "POST"): staff(ADMIN, scope=ALL),
        (f"{B}/webhooks/<string:endpoint_id>/deliveries", "GET"): staff(ADMIN, scope=ANY),
        (f"{B}/webhooks/<string:endpoint_id>/deliveries/<string:delivery_id>/replay", "POST"): staff(ADMIN, scope=ALL),
        # Pages for patients.
        ("/", "GET"): PUBLIC,
        ("/widget.js", "GET"): PUBLIC,
        ("/screening/frame", "GET"): PUBLIC,  # the questionnaire on our origin, framed by the widget (issue 14 finding 8)
        ("/assets/<path:filename>", "GET"): PUBLIC,
        # The staff console: signed in (else to the sign-in page), some pages by role.
        ("/staff/sign-in", "GET"): PUBLIC,
        ("/staff/sign-in", "POST"): PUBLIC,
        ("/staff/forgot-password", "GET"): PUBLIC,
        ("/staff/forgot-password", "POST"): PUBLIC,
        # A reset link's secret is its credential: a wrong one is 410 Gone, like a spent one.
        ("/staff/reset-password/<string:token>", "GET"): PUBLIC,
        ("/staff/reset-password/<string:token>", "POST"): PUBLIC,
        ("/staff/sign-out", "POST"): console(),
        ("/staff/sign-out-everywhere", "POST"): console(),
        ("/staff/two-step", "GET"): console(),
        ("/staff/two-step", "POST"): console(),
        ("/staff/two-step/reset", "POST"): console(),
        ("/staff/team", "GET"): console(ADMIN),
        ("/staff/team", "POST"): console(ADMIN),
        ("/staff/team/<string:staff_id>/clinician", "POST"): console(ADMIN),
        ("/staff/credentials", "GET"): console(ADMIN),
        ("/staff/credentials", "POST"): console(ADMIN),
        ("/staff/credentials/<string:credential_id>/revoke", "POST"): console(ADMIN),
        ("/staff/audit", "GET"): console(ADMIN),  # audit page
        ("/staff/audit.csv", "GET"): console(ADMIN),
        ("/staff/reports/director", "GET"): console(ADMIN),  # the director's report
        ("/staff/reports/director.csv", "GET"): console(ADMIN),
        ("/staff/clinicians/<string:clinician_id>/calendars", "POST"): console(ADMIN, CLINICIAN),
        **{(f"/staff/clinicians/<string:clinician_id>/calendars/<string:connection_id>/{action}", "POST"): console(ADMIN, CLINICIAN)
           for action in ("active", "remove", "sync")},
        ("/staff/webhooks", "GET"): console(ADMIN),
        ("/staff/webhooks", "POST"): console(ADMIN),
        ("/staff/webhooks/<string:endpoint_id>", "GET"): console(ADMIN),
        ("/staff/webhooks/<string:endpoint_id>/deliveries/<string:delivery_id>/replay", "POST"): console(ADMIN),
        ("/staff/bookings/<string:booking_id>/notifications", "GET"): console(),
        ("/staff/", "GET"): console(),
        ("/staff/calendar", "GET"): console(),
        ("/staff/bookings/new", "GET"): console(),
        ("/staff/bookings", "POST"): console(),
        ("/staff/bookings/<string:booking_id>", "GET"): console(),
        ("/staff/bookings/<string:booking_id>/cancel", "POST"): console(),
        ("/staff/bookings/<string:booking_id>/reschedule", "POST"): console(),
        ("/staff/bookings/<string:booking_id>/visit", "POST"): console(),
        ("/staff/bookings/<string:booking_id>/rotate-manage-link", "POST"): console(),
        ("/staff/clinicians", "GET"): console(),
        ("/staff/clinicians/<string:clinician_id>", "GET"): console(),
        ("/staff/clinicians/<string:clinician_id>/working-hours", "POST"): console(*SCHEDULE_WRITERS),
        ("/staff/clinicians/<string:clinician_id>/working-hours/<string:hours_id>", "POST"): console(*SCHEDULE_WRITERS),
        ("/staff/clinicians/<string:clinician_id>/working-hours/<string:hours_id>/remove", "POST"): console(*SCHEDULE_WRITERS),
        ("/staff/clinicians/<string:clinician_id>/overrides", "POST"): console(*SCHEDULE_WRITERS),
        ("/staff/clinicians/<string:clinician_id>/overrides/<string:override_id>/remove", "POST"): console(*SCHEDULE_WRITERS),
        ("/staff/clinicians/<string:clinician_id>/time-off", "POST"): console(*SCHEDULE_WRITERS),
        ("/staff/clinicians/<string:clinician_id>/time-off/<string:time_off_id>/remove", "POST"): console(*SCHEDULE_WRITERS),
        # Treatment series and protocols in the console (entrypoints/web/console/series.py).
        ("/staff/series/new", "GET"): console(*SCHEDULERS),
        ("/staff/series", "POST"): console(*SCHEDULERS),
        ("/staff/series/<string:series_id>", "GET"): console(),
        ("/staff/series/<string:series_id>/cancel-remaining", "POST"): console(*SCHEDULERS),
        ("/staff/protocols", "GET"): console(),
        ("/staff/protocols", "POST"): console("admin"),
        ("/staff/protocols/<string:protocol_id>", "POST"): console("admin"),
        ("/staff/screenings", "GET"): console(*REVIEWERS),
        ("/staff/screenings/<string:screening_id>", "GET"): console(*REVIEWERS),
        ("/staff/screenings/<string:screening_id>/review", "POST"): console(*REVIEWERS),
        ("/staff/trends/<string:record_id>", "GET"): console(*REVIEWERS),
        ("/staff/trends/<string:record_id>/check-ins/<string:check_in_id>/follow-up", "POST"): console(*REVIEWERS),
    },
    "eligibility": health("/api/eligibility") | {
        (f"{E}/questionnaire", "GET"): PUBLIC,
        (f"{E}/questionnaire/fhir", "GET"): PUBLIC,
        (f"{E}/screenings", "POST"): PUBLIC,
        (f"{E}/reviews", "GET"): staff(*REVIEWERS, scope=REVIEWS),
        (f"{E}/screenings/<string:screening_id>", "GET"): staff(*REVIEWERS, scope=REVIEWS),
        (f"{E}/screenings/<string:screening_id>/review", "POST"): staff(*REVIEWERS, scope=REVIEWS),
        (f"{E}/rule-sets", "GET"): staff(*REVIEWERS, scope=REVIEWS),
        (f"{E}/rule-sets", "POST"): staff(*REVIEWERS, scope=REVIEWS),
        (f"{E}/decisions/<string:screening_id>", "GET"): SERVICE,
        (f"{E}/check-in", "GET"): secret_url(400),  # the emailed link's token is the credential
        (f"{E}/check-in", "POST"): secret_url(400),
        (f"{E}/trends/<string:record_id>", "GET"): staff(*REVIEWERS, scope=REVIEWS),
        (f"{E}/check-ins", "GET"): staff(*REVIEWERS, scope=REVIEWS),
        (f"{E}/check-ins/<string:check_in_id>/review", "POST"): staff(*REVIEWERS, scope=REVIEWS),
    },
    "reminders": health("/api/reminders") | {
        (f"{R}/notifications", "GET"): staff(scope=(READ_ONLY, BOOKINGS)),
        (f"{R}/notifications/<string:message_id>", "GET"): staff(scope=(READ_ONLY, BOOKINGS)),
        (f"{R}/notifications/<string:message_id>/resend", "POST"): staff(scope=BOOKINGS),
        (f"{R}/unsubscribe", "GET"): secret_url(400),
        (f"{R}/unsubscribe", "POST"): secret_url(400),
    },
}


def routes(app) -> set[tuple[str, str]]:
    return {(rule.rule, method) for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}}


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    from security_services import build_service

    built = {name: build_service(name, tmp_path_factory.mktemp(name)) for name in MATRIX}
    booking = built["booking"]
    first = date.today() + timedelta(days=2)
    slots = booking.client.get(f"{B}/availability", query_string={
        "appointment_type": "free-consultation", "start": first.isoformat(),
        "end": (first + timedelta(days=7)).isoformat(), "timezone": "UTC"}).json["slots"]
    made = booking.client.post(f"{B}/bookings", json={
        "appointment_type": "free-consultation", "start": slots[0]["start"],
        "patient": {"name": "Pat Example", "email": "pat@example.org", "timezone": "Europe/Berlin"}})
    assert made.status_code == 201, made.json
    admin = booking.staff_headers(ADMIN)
    clinician = booking.client.get(f"{B}/clinicians", headers=admin).json[0]["id"]
    feed = booking.client.get(f"{B}/clinicians/{clinician}/calendar-feed", headers=admin).json["url"]
    booking.secrets = {
        "manage_token": made.json["manage_url"].rsplit("/", 1)[1],
        "feed_token": feed.rsplit("/", 1)[1].removesuffix(".ics"),
        "sign_in_token": sign_in_token(booking.container, "pat@example.org"),
        **waitlist_tokens(booking, slots[-1]),  # far from the slot just booked
    }
    reminders = built["reminders"]
    reminders.secrets = {"unsubscribe": unsubscribe_token("pat@example.org", reminders.container.config.unsubscribe_key)}
    built["eligibility"].secrets = {"check_in": check_in_token("booking-matrix", built["eligibility"].container.check_ins.clock() + timedelta(days=2),
                                                               keys=built["eligibility"].container.config.check_in_keys)}
    yield built
    for service in built.values():
        service.close()


def sign_in_token(container, email: str) -> str:
    """A genuine one-time sign-in token, as the emailed link carries it (read from the outbox)."""
    from sqlalchemy import select

    from kapbook_platform.contracts import EventType

    container.patients.request_sign_in_link(email)
    outbox = container.runtime.tables["outbox"]
    with container.runtime.engine.connect() as connection:
        envelope = connection.execute(select(outbox.c.envelope).where(outbox.c.type == EventType.PATIENT_SIGN_IN_LINK)).scalar_one()
    return envelope["data"]["link_url"].rsplit("/", 1)[1]


def waitlist_tokens(booking, slot: dict) -> dict[str, str]:
    """A genuine leave link (from joining) and offer link (a slot offered by hand, read from the outbox)."""
    from sqlalchemy import select

    from kapbook_platform.contracts import EventType

    windows = [{"weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "00:00"}]
    joined = booking.client.post(f"{B}/waitlist", json={
        "appointment_type": "free-consultation", "windows": windows,
        "patient": {"name": "Wren Waiting", "email": "wren@example.org", "timezone": "Europe/Berlin"}})
    assert joined.status_code == 201, joined.json
    offered = booking.client.post(f"{B}/waitlist/entries/{joined.json['id']}/offers", headers=booking.staff_headers(ADMIN),
                                  json={"start": slot["start"], "clinician_id": slot["clinician_id"]})
    assert offered.status_code == 201, offered.json
    outbox = booking.container.runtime.tables["outbox"]
    with booking.container.runtime.engine.connect() as connection:
        envelope = connection.execute(select(outbox.c.envelope).where(outbox.c.type == EventType.WAITLIST_OFFERED)).scalar_one()
    return {"leave_token": joined.json["leave_url"].rsplit("/", 1)[1],
            "offer_token": envelope["data"]["claim_url"].rsplit("/", 1)[1]}


def caller_headers(service, caller: str, manage_token: str) -> dict[str, str]:
    if caller == "anonymous":
        return {}
    if caller == "manage_token":
        return {"Authorization": f"Bearer {manage_token}"}
    if caller == "service_token":
        return {"Authorization": f"Bearer {service.container.config.service_token}"}
    return service.staff_headers(caller)


def path_for(rule: str, secret: str | None) -> str:
    """The rule with every variable filled: the secret (token) if given, ids of nothing otherwise."""
    filled = rule
    for name, value in (("<string:token>", secret or "forged-token"), ("<path:filename>", "patient.css")):
        filled = filled.replace(name, value)
    while "<" in filled:
        start, end = filled.index("<"), filled.index(">")
        filled = filled[:start] + "no-such-row" + filled[end + 1:]
    return filled


def call(service, rule: str, method: str, headers: dict[str, str], secret: str | None = None, query: dict | None = None):
    kwargs: dict[str, Any] = {"headers": headers, "query_string": query or {}}
    if method in ("POST", "PATCH"):
        # Empty bodies, except where the body is read before the credential is: a forged manage link
        # with an invalid body gets 422 (and learns nothing); with a valid one the link is checked.
        body = {"start": "2030-01-07T10:00:00+00:00"} if rule.endswith("/manage/<string:token>/reschedule") else {}
        kwargs["json" if rule.startswith("/api/") else "data"] = body
    return service.client.open(path_for(rule, secret), method=method, **kwargs)


def describe_response(response) -> str:
    return f"{response.status_code} {response.headers.get('Location', '')} {response.get_data(as_text=True)[:160]}"


def signed_in_page(response) -> bool:
    return response.status_code not in (401, 403) and "/staff/sign-in" not in response.headers.get("Location", "")


def check(service, rule: str, method: str, access: Access) -> list[str]:
    """What goes wrong for this route, caller by caller (empty: the matrix holds)."""
    problems: list[str] = []
    secrets = getattr(service, "secrets", {})
    manage = secrets.get("manage_token", "")
    for caller in CALLERS:
        headers = caller_headers(service, caller, manage)
        if access.kind == "public":
            response = call(service, rule, method, headers)
            ok = response.status_code not in (401, 403) and "/staff/sign-in" not in response.headers.get("Location", "")
        elif access.kind == "staff":
            response = call(service, rule, method, headers)
            expected = 401 if caller in UNAUTHENTICATED else None if caller in access.roles else 403
            ok = response.status_code == expected if expected else response.status_code not in (401, 403)
        elif access.kind == "service":
            response = call(service, rule, method, headers)
            ok = response.status_code not in (401, 403) if caller == "service_token" else response.status_code == 401
        elif access.kind == "console":
            response = call(service, rule, method, headers)
            if caller in UNAUTHENTICATED:
                ok = response.status_code == 302 and response.headers["Location"].startswith("/staff/sign-in")
            elif caller in access.roles:
                ok = signed_in_page(response)
            else:
                ok = response.status_code == 403
        elif access.kind == "waitlist_link":
            # A forged link finds nothing, whoever sends it; staff credentials do not stand in for it.
            response = call(service, rule, method, headers)
            ok = response.status_code == 404
        elif access.kind == "manage_link":
            # A forged link opens nothing, whoever sends it; staff credentials do not stand in for it.
            response = call(service, rule, method, headers)
            ok = response.status_code == 403
        elif access.kind in ("sign_in_link", "patient_session"):
            # A forged link signs nobody in, and no staff, service or manage credential is a patient session.
            response = call(service, rule, method, headers)
            ok = response.status_code == 403
        elif access.kind == "secret_url":
            if rule.endswith(".ics"):
                response = call(service, rule, method, headers)
            else:
                response = call(service, rule, method, headers, query={"token": "forged.token"})
            ok = response.status_code == access.refused
        else:
            raise AssertionError(f"unknown access {access}")
        if not ok:
            problems.append(f"{method} {rule} [{access}] as {caller}: {describe_response(response)}")
    if access.kind == "staff":
        problems += scope_problems(service, rule, method, access)
    if access.kind == "console":  # a scoped API token opens no console page: its scopes would not be checked there
        response = call(service, rule, method, service.scoped_headers(access.roles[0], SCOPES))
        if response.status_code != 403 or "insufficient_scope" not in response.get_data(as_text=True):
            problems.append(f"{method} {rule} [{access}] with a scoped API token: {describe_response(response)}")
    # The genuine secret opens what it is for, without any other credential.
    if access.kind == "manage_link":
        response = call(service, rule, method, {}, secret=manage)
        if response.status_code in (401, 403):
            problems.append(f"{method} {rule} with its genuine manage token: {describe_response(response)}")
    if access.kind == "sign_in_link" and method == "GET":  # (the POST would use it up; it needs the page's CSRF token)
        response = call(service, rule, method, {}, secret=secrets["sign_in_token"])
        if response.status_code != 200:
            problems.append(f"{method} {rule} with its genuine sign-in token: {describe_response(response)}")
    if access.kind == "waitlist_link" and method == "GET":  # (a POST would claim, decline or leave)
        response = call(service, rule, method, {}, secret=secrets["leave_token" if "/leave/" in rule else "offer_token"])
        if response.status_code != 200:
            problems.append(f"{method} {rule} with its genuine token: {describe_response(response)}")
    if access.kind == "secret_url":
        if rule.endswith(".ics"):
            response = call(service, rule, method, {}, secret=secrets["feed_token"])
        elif rule.endswith("/check-in"):
            response = call(service, rule, method, {}, query={"token": secrets["check_in"]})
            if method == "POST" and response.status_code == 422:  # let in: an empty form is answered with the form again
                return problems
        else:
            response = call(service, rule, method, {}, query={"token": secrets["unsubscribe"]})
        if response.status_code != 200:
            problems.append(f"{method} {rule} with its genuine secret: {describe_response(response)}")
    return problems


def lacking_and_having(needed: str | tuple[str, ...]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The scopes of a token that lacks ``needed``, and of tokens that each just have it."""
    if needed == ANY:
        return (), [(READ_ONLY,)]  # an empty list (never issued, refused anyway); read_only suffices
    if needed == ALL:
        return SCOPES[:-1], [SCOPES]
    wanted = (needed,) if isinstance(needed, str) else needed
    return tuple(scope for scope in SCOPES if scope not in wanted), [(scope,) for scope in wanted]


def scope_problems(service, rule: str, method: str, access: Access) -> list[str]:
    """An API token of a permitted role lacking the route's scope gets 403 insufficient_scope naming it;
    one holding just that scope passes."""
    role = access.roles[0]
    lacking, having = lacking_and_having(access.scope)
    problems = []
    response = call(service, rule, method, service.scoped_headers(role, lacking))
    body = response.get_data(as_text=True)
    if response.status_code != 403 or "insufficient_scope" not in body or describe(access.scope) not in body:
        problems.append(f"{method} {rule} [needs {describe(access.scope)}] with scopes {lacking or '[]'}: {describe_response(response)}")
    for scopes in having:
        response = call(service, rule, method, service.scoped_headers(role, scopes))
        if response.status_code in (401, 403):
            problems.append(f"{method} {rule} [needs {describe(access.scope)}] with scopes {scopes}: {describe_response(response)}")
    return problems


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_every_route_has_a_decision(services, name):
    actual = routes(services[name].app)
    decided = set(MATRIX[name])
    assert not actual - decided, f"routes without an access decision in the matrix: {sorted(actual - decided)}"
    assert not decided - actual, f"decisions for routes that do not exist: {sorted(decided - actual)}"


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_every_route_answers_each_caller_as_the_matrix_says(services, name):
    service = services[name]
    problems = [problem for (rule, method), access in sorted(MATRIX[name].items())
                # Genuine manage-link writes change the booking; they go last so the others see it booked.
                if not (access.kind == "manage_link" and method == "POST")
                for problem in check(service, rule, method, access)]
    problems += [problem for (rule, method), access in sorted(MATRIX[name].items())
                 if access.kind == "manage_link" and method == "POST"
                 for problem in check(service, rule, method, access)]
    assert not problems, "\n".join(problems)
