"""The deny-list that keeps health details out of subjects, sender names and previews."""

from __future__ import annotations

import pytest

from kapbook_reminders.domain.privacy import (
    PrivacyViolation,
    assert_html_preview_is_private,
    assert_preview_is_private,
    assert_subject_is_private,
    find_health_terms,
    html_text,
)


@pytest.mark.parametrize(
    "subject",
    [
        "Your ketamine infusion on Tuesday 9 March – Harbor Clinic",
        "Esketamine session tomorrow",
        "Your SPRAVATO visit",
        "Dosing day – Harbor Clinic",
        "Your depression check-in",
        "Suicidal thoughts follow-up",
        "Your PHQ-9 result",
        "GAD-7 score: 12",
        "Screening outcome",
        "Psychosis history review",
        "About your diagnosis",
        "Your IV session",
        "Booster dose reminder",
        "Bipolar disorder review",
    ],
)
def test_subjects_naming_health_details_are_refused(subject):
    with pytest.raises(PrivacyViolation):
        assert_subject_is_private(subject)


@pytest.mark.parametrize(
    "subject",
    [
        "Your appointment on Tuesday 9 March – Harbor Clinic",
        "Reminder: your appointment on Saturday 13 March – Harbor Clinic",
        "Your appointment on Tuesday 9 March has been cancelled – Romania Wellness",
        "Updated: your appointment on Friday 1 October – Gad & Ivy Partners",
        "After your appointment on Monday 4 January – Kapbook Demo Clinic",
    ],
)
def test_generic_subjects_pass_even_with_lookalike_words(subject):
    assert assert_subject_is_private(subject) == subject


def test_found_terms_are_reported_and_can_be_allowed_for_staff_wording():
    assert find_health_terms("Urgent: a screening needs clinician review") == ["screening"]
    assert find_health_terms("Urgent: a screening needs clinician review", allowed={"screening"}) == []


def test_violation_message_suggests_a_discreet_clinic_name():
    with pytest.raises(PrivacyViolation, match="discreet_name"):
        assert_subject_is_private("Your appointment on Tuesday 9 March – Harbor Ketamine Clinic")


def test_preview_check_looks_only_at_the_opening_of_the_body():
    opening = "Hello Alex,\n\n" + "Your appointment is confirmed. " * 10
    assert_preview_is_private(opening + "Appointment: IV ketamine infusion")

    with pytest.raises(PrivacyViolation):
        assert_preview_is_private("Hello Alex,\n\nYour ketamine infusion is confirmed.")


def test_html_preview_checks_the_hidden_preheader_and_the_visible_opening():
    clean = '<div data-preheader style="display:none">Your appointment.</div><p>Hello</p>'
    leaky_preheader = '<div data-preheader style="display:none">Your infusion.</div><p>Hello</p>'
    leaky_body = '<div data-preheader style="display:none">Your appointment.</div><p>Your infusion</p>'

    assert assert_html_preview_is_private(clean) == clean
    for html in (leaky_preheader, leaky_body):
        with pytest.raises(PrivacyViolation):
            assert_html_preview_is_private(html)


def test_html_text_skips_head_and_styles_and_can_leave_out_the_preheader():
    html = (
        "<html><head><title>Infusion</title><style>p{}</style></head><body>"
        '<div data-preheader>Preview words</div><p>Visible &amp; <b>bold</b></p></body></html>'
    )

    assert html_text(html, include_preheader=True) == "Preview words Visible & bold"
    assert html_text(html, include_preheader=False) == "Visible & bold"
