"""Every email, serialised as for SMTP and parsed back with the standard library."""

from __future__ import annotations

import html as html_lib
import io
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

import pytest
from icalendar import Calendar

from kapbook_reminders.adapters.smtp import envelope, mail_bytes
from kapbook_reminders.domain.compose import MessageNoLongerRelevant, compose_crisis_alert, compose_email
from kapbook_reminders.domain.plan_config import load_notification_plans
from kapbook_reminders.domain.privacy import PrivacyViolation, find_health_terms

NOW = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)
UNSUBSCRIBE = "https://harbor.example/unsubscribe/tok-456"
PLANS = load_notification_plans()
PATIENT_KINDS = ("confirmation", "reminder", "preparation", "follow_up", "reschedule_notice", "cancellation_notice")
CATEGORIES = (
    "consultation",
    "evaluation",
    "preparation",
    "dosing_iv",
    "dosing_esketamine",
    "dosing_im",
    "integration",
    "booster",
)
TYPE_NAMES = {
    "dosing_iv": "IV ketamine infusion",
    "dosing_esketamine": "Spravato (esketamine) treatment",
    "dosing_im": "IM ketamine dosing (KAP)",
    "booster": "Ketamine booster infusion",
    "evaluation": "Psychiatric evaluation and PHQ-9 screening",
}
WHEN = "Tuesday 9 March 2027, 10:30"
ZONE = "(Eastern Time — America/New_York)"
PREVIEW_CHARACTERS = 240
STATUS_FOR_KIND = {"cancellation_notice": "cancelled"}


def booking_for(make_snapshot, kind="confirmation", category="dosing_iv", **changes):
    return make_snapshot(
        status=STATUS_FOR_KIND.get(kind, "booked"),
        category=category,
        appointment_type_name=TYPE_NAMES.get(category, "Preparation session"),
        **changes,
    )


def compose(kind, booking, branding, **options):
    """Compose as the service layer would, with the booking's own preparation guidance.

    A preparation message for a category without guidance (a clinic may
    configure one) borrows the IV guidance, so every kind meets every category.
    """
    guidance = PLANS.for_booking(booking).preparation
    if kind == "preparation" and guidance is None:
        guidance = PLANS.resolve("dosing_iv").preparation
    arguments = {
        "now": NOW,
        "dedupe_key": f"{booking.booking_id}:{booking.sequence}:{kind}",
        "preparation": guidance,
        "unsubscribe_url": UNSUBSCRIBE,
    }
    return compose_email(kind, booking, branding, **{**arguments, **options})


def round_trip(message: EmailMessage) -> EmailMessage:
    return message_from_bytes(message.as_bytes(policy=SMTP), policy=default)


def plain_body(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html_body(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def visible_text(markup: str) -> str:
    """A rough reading of the HTML body, independent of the code under test."""
    body = re.sub(r"(?is)<head>.*?</head>", " ", markup)
    body = re.sub(r"(?s)<[^>]+>", " ", body)
    text = html_lib.unescape(body).replace("\u034f", "").replace("\u200c", "")
    return " ".join(text.split())


def previews(message: EmailMessage) -> list[str]:
    """What a preview pane may show: the opening of the text part and of the HTML (with and without preheader)."""
    markup = html_body(message)
    without_preheader = re.sub(r"(?s)<div data-preheader.*?</div>", " ", markup)
    return [
        " ".join(plain_body(message).split())[:PREVIEW_CHARACTERS],
        visible_text(markup)[:PREVIEW_CHARACTERS],
        visible_text(without_preheader)[:PREVIEW_CHARACTERS],
    ]


def content_types(message: EmailMessage) -> list[str]:
    return [part.get_content_type() for part in message.walk()]


def test_confirmation_is_text_html_and_a_request_invite_also_attached(make_snapshot, branding):
    message = round_trip(compose("confirmation", booking_for(make_snapshot), branding))

    assert content_types(message) == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/calendar",
        "application/ics",
    ]
    inline, attached = [part for part in message.walk() if part.get_content_type() in {"text/calendar", "application/ics"}]
    assert inline.get_param("method") == "REQUEST"
    assert attached.get_filename() == "invite.ics"
    assert attached.get_content_disposition() == "attachment"
    assert Calendar.from_ical(inline.get_content())["METHOD"] == "REQUEST"
    assert Calendar.from_ical(attached.get_content())["METHOD"] == "REQUEST"


@pytest.mark.parametrize("kind", ["reminder", "preparation", "follow_up"])
def test_reminders_preparation_and_follow_up_carry_no_invite(make_snapshot, branding, kind):
    message = round_trip(compose(kind, booking_for(make_snapshot, kind), branding))

    assert content_types(message) == ["multipart/alternative", "text/plain", "text/html"]


def test_cancellation_notice_carries_a_cancel_invite_for_the_same_booking(make_snapshot, branding):
    booking = booking_for(make_snapshot, "cancellation_notice", sequence=4)

    message = round_trip(compose("cancellation_notice", booking, branding))

    inline = next(part for part in message.walk() if part.get_content_type() == "text/calendar")
    calendar = Calendar.from_ical(inline.get_content())
    (event,) = calendar.walk("VEVENT")
    assert inline.get_param("method") == "CANCEL"
    assert (calendar["METHOD"], event["STATUS"], event["SEQUENCE"]) == ("CANCEL", "CANCELLED", 4)
    assert event["UID"] == f"{booking.booking_id}@kapbook"


def test_reschedule_notice_carries_the_new_time_the_old_one_and_a_request_invite(make_snapshot, branding):
    booking = booking_for(make_snapshot, "reschedule_notice", sequence=2)
    previous = booking.start - timedelta(days=1)

    message = round_trip(compose("reschedule_notice", booking, branding, previous_start=previous))

    inline = next(part for part in message.walk() if part.get_content_type() == "text/calendar")
    assert inline.get_param("method") == "REQUEST"
    assert Calendar.from_ical(inline.get_content()).walk("VEVENT")[0]["SEQUENCE"] == 2
    for body in (plain_body(message), visible_text(html_body(message))):
        assert "Previously: Monday 8 March 2027, 10:30 (Eastern Time — America/New_York)" in body
        assert WHEN in body


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("kind", PATIENT_KINDS)
def test_every_patient_email_states_local_time_with_zone_manage_link_and_policy(make_snapshot, branding, kind, category):
    booking = booking_for(make_snapshot, kind, category)

    message = round_trip(compose(kind, booking, branding))

    for body in (plain_body(message), visible_text(html_body(message))):
        assert WHEN in body
        assert ZONE in body
        assert booking.manage_url in body
        assert "Please cancel or reschedule at least 24 hours before your appointment." in body
    assert f'href="{booking.manage_url}"' in html_body(message)


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("kind", PATIENT_KINDS)
def test_subject_and_preview_never_reveal_health_details(make_snapshot, branding, kind, category):
    booking = booking_for(make_snapshot, kind, category, location_name="Harbor Ketamine & Infusion Center")

    message = round_trip(compose(kind, booking, branding))

    subject = message["Subject"]
    assert subject.endswith(" – Harbor Clinic")
    assert "Tuesday 9 March" in subject
    assert find_health_terms(subject) == []
    assert find_health_terms(message["From"].addresses[0].display_name) == []
    for preview in previews(message):
        assert find_health_terms(preview) == [], preview
        assert booking.appointment_type_name not in preview
        assert booking.location_name not in preview


@pytest.mark.parametrize(
    ("kind", "subject"),
    [
        ("confirmation", "Your appointment on Tuesday 9 March – Harbor Clinic"),
        ("reminder", "Reminder: your appointment on Tuesday 9 March – Harbor Clinic"),
        ("preparation", "Getting ready for your appointment on Tuesday 9 March – Harbor Clinic"),
        ("follow_up", "After your appointment on Tuesday 9 March – Harbor Clinic"),
        ("reschedule_notice", "Updated: your appointment on Tuesday 9 March – Harbor Clinic"),
        ("cancellation_notice", "Your appointment on Tuesday 9 March has been cancelled – Harbor Clinic"),
    ],
)
def test_subjects_name_only_the_day_and_the_clinic(make_snapshot, branding, kind, subject):
    message = round_trip(compose(kind, booking_for(make_snapshot, kind, "dosing_esketamine"), branding))

    assert message["Subject"] == subject


def test_subject_day_is_the_patients_local_day(make_snapshot, branding):
    late_evening_in_los_angeles = datetime(2027, 3, 10, 5, 0, tzinfo=UTC)
    booking = booking_for(
        make_snapshot,
        start=late_evening_in_los_angeles,
        end=late_evening_in_los_angeles + timedelta(hours=1),
        patient_timezone="America/Los_Angeles",
        modality="telehealth",
    )

    message = compose("confirmation", booking, branding)

    assert message["Subject"] == "Your appointment on Tuesday 9 March – Harbor Clinic"
    assert "Tuesday 9 March 2027, 21:00 to 22:00 (Pacific Time — America/Los_Angeles)" in plain_body(message)


def test_clinic_named_after_a_drug_must_set_a_discreet_name(make_snapshot, branding):
    booking = booking_for(make_snapshot)
    legal_name_only = replace(branding, name="Harbor Ketamine Clinic")

    with pytest.raises(PrivacyViolation, match="discreet_name"):
        compose("confirmation", booking, legal_name_only)

    message = round_trip(compose("confirmation", booking, replace(legal_name_only, discreet_name="Harbor Clinic")))
    assert message["Subject"] == "Your appointment on Tuesday 9 March – Harbor Clinic"
    assert message["From"].addresses[0].display_name == "Harbor Clinic"


@pytest.mark.parametrize("kind", PATIENT_KINDS)
def test_list_unsubscribe_only_on_non_essential_messages(make_snapshot, branding, kind):
    message = round_trip(compose(kind, booking_for(make_snapshot, kind), branding))

    if kind == "follow_up":
        assert message["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert UNSUBSCRIBE in plain_body(message)
    else:
        assert message["List-Unsubscribe"] is None
        assert message["List-Unsubscribe-Post"] is None
        assert UNSUBSCRIBE not in message.as_string()


@pytest.mark.parametrize("url", [None, "mailto:x@harbor.example", "/unsubscribe", "javascript:alert(1)"])
def test_non_essential_message_needs_a_web_unsubscribe_url(make_snapshot, branding, url):
    with pytest.raises(ValueError, match="unsubscribe_url"):
        compose("follow_up", booking_for(make_snapshot, "follow_up"), branding, unsubscribe_url=url)


def test_plain_http_unsubscribe_link_is_not_offered_as_one_click(make_snapshot, branding):
    url = "http://127.0.0.1:8080/api/reminders/v1/unsubscribe?token=t"

    message = round_trip(compose("follow_up", booking_for(make_snapshot, "follow_up"), branding, unsubscribe_url=url))

    assert message["List-Unsubscribe"] == f"<{url}>"
    assert message["List-Unsubscribe-Post"] is None


def test_patient_name_is_escaped_in_html_and_quoted_in_headers(make_snapshot, branding):
    name = '<script>alert("x")</script> & Co'
    booking = booking_for(make_snapshot, patient_name=name)

    message = round_trip(compose("confirmation", booking, branding))

    markup = html_body(message)
    assert "<script>" not in markup
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in markup
    assert f"Hello {name}," in plain_body(message)
    assert message["To"].addresses[0].display_name == name
    assert message["To"].addresses[0].addr_spec == "alex@example.org"


def test_manage_link_is_attribute_escaped(make_snapshot, branding):
    booking = booking_for(make_snapshot, manage_url='https://book.harbor.example/m?a=1&b="2"')

    markup = html_body(round_trip(compose("reminder", booking, branding)))

    assert 'href="https://book.harbor.example/m?a=1&amp;b=&#34;2&#34;"' in markup


class TagBalance(HTMLParser):
    VOID = frozenset({"meta", "br", "img", "hr", "link"})

    def __init__(self):
        super().__init__()
        self.open_tags: list[str] = []
        self.mismatches: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open_tags.append(tag)

    def handle_endtag(self, tag):
        if self.open_tags and self.open_tags[-1] == tag:
            self.open_tags.pop()
        else:
            self.mismatches.append(tag)


@pytest.mark.parametrize("kind", PATIENT_KINDS)
def test_html_is_well_formed_with_language_title_heading_and_a_real_link_button(make_snapshot, branding, kind):
    markup = html_body(round_trip(compose(kind, booking_for(make_snapshot, kind), branding)))
    balance = TagBalance()
    balance.feed(markup)

    assert (balance.open_tags, balance.mismatches) == ([], [])
    assert '<html lang="en"' in markup
    assert re.search(r"<title>[^<]+</title>", markup)
    assert len(re.findall(r"<h1[ >]", markup)) == 1
    button = re.search(r'<a href="([^"]+)" style="display:inline-block;[^"]*color:#ffffff;[^"]*">([^<]+)</a>', markup)
    assert button and button.group(1) == make_snapshot().manage_url


def test_headers_come_from_the_injected_clock_and_a_stable_domain(make_snapshot, branding):
    booking = booking_for(make_snapshot)

    first = round_trip(compose("reminder", booking, branding, dedupe_key="k-1"))
    retried = round_trip(compose("reminder", booking, branding, dedupe_key="k-1", now=NOW + timedelta(minutes=5)))
    other = round_trip(compose("reminder", booking, branding, dedupe_key="k-2"))

    assert parsedate_to_datetime(first["Date"]) == NOW
    assert first["Message-ID"] == retried["Message-ID"] != other["Message-ID"]
    assert re.fullmatch(r"<[0-9a-f]{32}@harbor\.example>", first["Message-ID"])
    assert first["From"].addresses[0].addr_spec == "appointments@harbor.example"
    assert first["Reply-To"] == "frontdesk@harbor.example"
    assert first["Auto-Submitted"] == "auto-generated"


def test_iv_preparation_lists_fasting_with_clock_times_and_the_practical_steps(make_snapshot, branding):
    message = round_trip(compose("preparation", booking_for(make_snapshot, "preparation", "dosing_iv"), branding))

    for body in (plain_body(message), visible_text(html_body(message))):
        assert "No solid food after 04:30 (6 hours before your appointment)." in body
        assert "Clear liquids such as water are fine until 08:30 (2 hours before)" in body
        assert "No alcohol or recreational drugs beforehand." in body
        assert "Arrange for an adult to drive you home: you must not drive until the next day." in body
        assert "Wear comfortable clothes." in body
        assert "Arrive 15 minutes early." in body
        assert "Plan to stay with us" not in body


def test_esketamine_preparation_differs_no_food_two_hours_no_drinks_thirty_minutes_and_monitoring(
    make_snapshot, branding
):
    message = round_trip(compose("preparation", booking_for(make_snapshot, "preparation", "dosing_esketamine"), branding))

    for body in (plain_body(message), visible_text(html_body(message))):
        assert "No food after 08:30 (2 hours before your appointment)." in body
        assert "No drinks after 10:00 (30 minutes before your appointment)." in body
        assert "Plan to stay with us for at least 2 hours afterwards" in body
        assert "adult to drive you home" in body
        assert "No solid food" not in body


def test_fasting_time_before_midnight_names_the_day(make_snapshot, branding):
    early = datetime(2027, 3, 9, 10, 0, tzinfo=UTC)  # 05:00 in New York
    booking = booking_for(make_snapshot, "preparation", start=early, end=early + timedelta(hours=2))

    body = plain_body(compose("preparation", booking, branding))

    assert "No solid food after 23:00 on Monday 8 March (6 hours before your appointment)." in body
    assert "Clear liquids such as water are fine until 03:00 (2 hours before)" in body


def test_dosing_confirmation_repeats_the_checklist_and_consultation_has_none(make_snapshot, branding):
    dosing = plain_body(compose("confirmation", booking_for(make_snapshot, category="dosing_im"), branding))
    consultation = plain_body(compose("confirmation", booking_for(make_snapshot, category="consultation"), branding))

    assert "Before your appointment:" in dosing and "No solid food after" in dosing
    assert "Before your appointment:" not in consultation


def test_preparation_message_needs_guidance(make_snapshot, branding):
    with pytest.raises(ValueError, match="preparation guidance"):
        compose("preparation", booking_for(make_snapshot, category="consultation"), branding, preparation=None)


def test_video_call_says_where_to_join_and_when_to_be_ready(make_snapshot, branding):
    booking = booking_for(make_snapshot, "preparation", modality="telehealth", join_url="https://meet.example.org/kapbook-r00m")

    body = plain_body(compose("preparation", booking, branding))

    assert "Where: Video call, join here: https://meet.example.org/kapbook-r00m" in body
    assert "Be ready to join 15 minutes early." in body
    assert "Local time at the clinic" not in body


def test_video_call_without_a_join_url_says_the_clinic_sends_it(make_snapshot, branding):
    """Bookings made before join links existed have none: the email must not point at a page without one."""
    booking = booking_for(make_snapshot, "preparation", modality="telehealth")

    body = plain_body(compose("preparation", booking, branding))

    assert "Where: Video call: the clinic will send you the joining link" in body


def test_in_person_visit_in_another_zone_also_gives_the_clinics_local_time(make_snapshot, branding):
    booking = booking_for(make_snapshot, patient_timezone="America/Los_Angeles", location_timezone="America/New_York")

    body = plain_body(compose("reminder", booking, branding))

    assert "When: Tuesday 9 March 2027, 07:30 to 09:30 (Pacific Time — America/Los_Angeles)" in body
    assert "Local time at the clinic: Tuesday 9 March 2027, 10:30 to 12:30 (Eastern Time — America/New_York)" in body


def test_twelve_hour_clock_when_the_clinic_prefers_it(make_snapshot, branding):
    body = plain_body(compose("reminder", booking_for(make_snapshot), replace(branding, use_12_hour_clock=True)))

    assert "Tuesday 9 March 2027, 10:30 am to 12:30 pm (Eastern Time — America/New_York)" in body


def test_change_deadline_is_given_while_it_is_still_ahead(make_snapshot, branding):
    booking = booking_for(make_snapshot)

    early = plain_body(compose("confirmation", booking, branding))
    late = plain_body(compose("confirmation", booking, branding, now=booking.start - timedelta(hours=3)))

    deadline = "please make any change by Monday 8 March 2027, 10:30 (Eastern Time — America/New_York)."
    assert deadline in early
    assert deadline not in late


@pytest.mark.parametrize("kind", ["follow_up", "cancellation_notice"])
def test_no_change_deadline_or_checklist_once_there_is_no_visit_ahead(make_snapshot, branding, kind):
    body = plain_body(compose(kind, booking_for(make_snapshot, kind, "dosing_iv"), branding))

    assert "please make any change by" not in body
    assert "Before your appointment:" not in body
    assert "Please cancel or reschedule at least 24 hours before your appointment." in body


def test_policy_without_notice_period(make_snapshot, branding):
    body = plain_body(compose("reminder", booking_for(make_snapshot, cancellation_notice_hours=0), branding))

    assert "You can cancel or reschedule up to the start of your appointment." in body


@pytest.mark.parametrize(
    ("kind", "status"),
    [("reminder", "cancelled"), ("preparation", "noshow"), ("confirmation", "cancelled"), ("follow_up", "noshow")],
)
def test_no_email_for_a_booking_whose_status_rules_it_out(make_snapshot, branding, kind, status):
    with pytest.raises(MessageNoLongerRelevant):
        compose(kind, make_snapshot(status=status), branding)


def test_crisis_alert_asks_for_urgent_review_with_a_link_and_nothing_else(branding):
    review_url = "https://staff.harbor.example/screenings/scr-789/review"

    message = round_trip(compose_crisis_alert("scr-789", review_url, "oncall@harbor.example", branding, NOW))

    assert message["Subject"] == "Urgent: a screening needs clinician review – Harbor Clinic"
    assert message["To"].addresses[0].addr_spec == "oncall@harbor.example"
    assert message["Importance"] == "high"
    assert message["List-Unsubscribe"] is None
    assert parsedate_to_datetime(message["Date"]) == NOW
    assert content_types(message) == ["multipart/alternative", "text/plain", "text/html"]
    for body in (plain_body(message), visible_text(html_body(message))):
        assert "needs review by a clinician as soon as possible" in body
        assert review_url in body
        assert find_health_terms(body, allowed={"screening"}) == []
    assert f'href="{review_url}"' in html_body(message)


def test_crisis_alert_message_id_is_one_per_screening(branding):
    def alert(screening_id):
        url = f"https://staff.harbor.example/screenings/{screening_id}"
        return compose_crisis_alert(screening_id, url, "oncall@harbor.example", branding, NOW)

    assert alert("scr-1")["Message-ID"] == alert("scr-1")["Message-ID"] != alert("scr-2")["Message-ID"]


def test_crisis_alert_refuses_a_non_web_review_link(branding):
    with pytest.raises(ValueError, match="review_url"):
        compose_crisis_alert("scr-1", "javascript:alert(1)", "oncall@harbor.example", branding, NOW)


def test_long_subject_reads_back_exactly_after_smtp_serialisation(make_snapshot, branding):
    """Folding around the en dash's encoded word used to show two spaces in the subject."""
    long_name = replace(branding, name="Harbor Clinic for Integrative Mental Health")
    start = datetime(2027, 3, 11, 15, 30, tzinfo=UTC)
    booking = booking_for(make_snapshot, "cancellation_notice", start=start, end=start + timedelta(hours=2))
    message = compose("cancellation_notice", booking, long_name)
    buffer = io.BytesIO()
    BytesGenerator(buffer, mangle_from_=False).flatten(message, linesep="\r\n")  # as smtplib.send_message does

    parsed = message_from_bytes(buffer.getvalue(), policy=default)

    expected = "Your appointment on Thursday 11 March has been cancelled – Harbor Clinic for Integrative Mental Health"
    assert parsed["Subject"] == expected
    long_lines = [line for line in buffer.getvalue().split(b"\r\n") if len(line) > 78]
    assert long_lines and all(len(line) <= 998 for line in long_lines)
    assert all(re.match(rb"^[A-Za-z-]+: ", line) for line in long_lines), "only headers; bodies keep short lines"


@pytest.mark.parametrize("kind", ["confirmation", "reminder", "cancellation_notice"])
def test_a_patient_whose_name_contains_a_deny_listed_word_still_gets_their_email(make_snapshot, branding, kind):
    booking = booking_for(make_snapshot, kind, patient_name="Dana Dosing", clinician_name="Dr Psych Shah")
    message = round_trip(compose(kind, booking, branding))
    assert "Dana Dosing" in message.get_body(("plain",)).get_content()
    assert not find_health_terms(message["Subject"])


def test_names_are_ignored_only_as_names_not_as_words_elsewhere():
    from kapbook_reminders.domain.privacy import assert_preview_is_private

    assert_preview_is_private("Hello Dana Dosing, see you soon", people=["Dana Dosing"])
    with pytest.raises(PrivacyViolation):
        assert_preview_is_private("Hello Dana, your dosing session is soon", people=["Dana Dosing"])


JOIN_URL = "https://meet.example.org/kapbook-Zq3xRkP0bW8yT1mNcL5vAg"


@pytest.mark.parametrize("kind", ["confirmation", "reminder", "reschedule_notice"])
def test_telehealth_emails_give_the_join_link_in_the_body_never_the_subject(make_snapshot, branding, kind):
    booking = booking_for(make_snapshot, kind, category="consultation", modality="telehealth", join_url=JOIN_URL)

    message = compose(kind, booking, branding)

    assert JOIN_URL not in message["Subject"]
    assert f"Where: Video call, join here: {JOIN_URL}" in plain_body(message)
    markup = html_body(message)
    assert f'href="{JOIN_URL}"' in markup and "Join the video call" in visible_text(markup)
    assert all(JOIN_URL not in preview for preview in previews(message))


def test_cancellation_notice_does_not_repeat_the_join_link(make_snapshot, branding):
    booking = booking_for(make_snapshot, "cancellation_notice", category="consultation", modality="telehealth",
                          join_url=JOIN_URL)

    message = compose("cancellation_notice", booking, branding)

    assert JOIN_URL not in plain_body(message) and JOIN_URL not in html_body(message)


@pytest.mark.parametrize("kind", PATIENT_KINDS)
def test_the_smtp_adapter_sends_the_bytes_smtplib_would(make_snapshot, branding, kind):
    """``mail_bytes`` writes each body in one go; the bytes must be what smtplib's own generator writes."""
    booking = booking_for(make_snapshot, kind, patient_name="Zoë Ångström")
    message = compose(kind, booking, branding)
    standard = io.BytesIO()
    BytesGenerator(standard).flatten(message, linesep="\r\n")  # as smtplib.SMTP.send_message does
    assert mail_bytes(message) == standard.getvalue()
    assert envelope(message) == (branding.from_address, [booking.patient_email])
    message.replace_header("To", "Zoë <zoë@example.org>")
    assert envelope(message) is None, "a non-ASCII address is left to smtplib (SMTPUTF8)"
