"""Telehealth join links: the template, the clinician's fixed room, unguessable ids, config checks."""
from __future__ import annotations

import base64
import re

import pytest

from kapbook_booking.config import BookingConfig
from kapbook_booking.domain.video import DEFAULT_VIDEO_ROOM_TEMPLATE, join_url_for, new_room_id
from kapbook_platform.config import ConfigError
from support.production import production_environment

TEMPLATE = "https://meet.example.org/kapbook-{room}"


def test_a_telehealth_booking_gets_the_template_with_a_new_room_id():
    url = join_url_for("telehealth", TEMPLATE, new_room=lambda: "r00m")

    assert url == "https://meet.example.org/kapbook-r00m"


def test_the_clinicians_fixed_room_wins_over_the_template():
    fixed = "https://video.clinic.example/dr-rivera"

    assert join_url_for("telehealth", TEMPLATE, fixed) == fixed


def test_an_in_person_booking_gets_no_join_url():
    assert join_url_for("in_person", TEMPLATE) is None
    assert join_url_for("in_person", TEMPLATE, "https://video.clinic.example/dr-rivera") is None


def test_room_ids_are_unguessable_url_safe_and_unique():
    ids = [new_room_id() for _ in range(2000)]

    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22,}", room) for room in ids)
    # At least 128 bits of randomness: 16 bytes behind each id.
    assert all(len(base64.urlsafe_b64decode(room + "==")) >= 16 for room in ids)
    urls = {join_url_for("telehealth", TEMPLATE) for _ in range(200)}
    assert len(urls) == 200 and all(url.startswith("https://meet.example.org/kapbook-") for url in urls)


def test_the_default_template_works_offline_and_passes_production_checks():
    config = BookingConfig.from_env({})

    assert config.video_room_template == DEFAULT_VIDEO_ROOM_TEMPLATE
    assert "{room}" in DEFAULT_VIDEO_ROOM_TEMPLATE


@pytest.mark.parametrize("template, problem", [
    ("https://meet.example.org/kapbook", "{room}"),
    ("https://meet.example.org/{room}/{room}", "{room}"),
    ("meet.example.org/{room}", "absolute"),
    ("ftp://meet.example.org/{room}", "absolute"),
])
def test_a_template_without_one_room_or_not_a_web_url_is_refused_at_start(template, problem):
    with pytest.raises(ConfigError, match=re.escape(problem)):
        BookingConfig.from_env({"BOOKING_VIDEO_ROOM_TEMPLATE": template})


def test_production_needs_an_https_template():
    with pytest.raises(ConfigError, match="BOOKING_VIDEO_ROOM_TEMPLATE must be an https URL in production"):
        BookingConfig.from_env(
            production_environment("booking") | {"BOOKING_VIDEO_ROOM_TEMPLATE": "http://meet.clinic.example/{room}"}
        )
    assert BookingConfig.from_env({"BOOKING_VIDEO_ROOM_TEMPLATE": "http://127.0.0.1:9000/{room}"}).video_room_template
