"""Clinic branding: validated inputs and colours that stay readable."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kapbook_reminders.domain.branding import contrast_ratio, readable_text_colour


def test_contrast_ratio_matches_the_wcag_extremes():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#777777") == pytest.approx(1.0)


@pytest.mark.parametrize(("background", "text"), [("#1a6b5c", "#ffffff"), ("#ffd400", "#111111"), ("#e0f2f1", "#111111")])
def test_button_text_is_whichever_colour_reads_better(background, text):
    assert readable_text_colour(background) == text
    assert contrast_ratio(background, text) >= 4.5


def test_pale_brand_colour_is_not_used_for_links_on_white(branding):
    assert branding.link_colour == "#1a6b5c"
    assert replace(branding, brand_colour="#9fe3d4").link_colour == "#1f2933"


def test_discreet_name_is_what_inboxes_show(branding):
    assert branding.display_name == "Harbor Clinic"
    assert replace(branding, name="Harbor Ketamine Clinic", discreet_name="Harbor").display_name == "Harbor"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("brand_colour", "red; background:url(x)"),
        ("brand_colour", "#12345"),
        ("from_address", "not-an-address"),
        ("website_url", "javascript:alert(1)"),
    ],
)
def test_values_that_reach_html_or_headers_are_validated(branding, field, value):
    with pytest.raises(ValueError):
        replace(branding, **{field: value})
