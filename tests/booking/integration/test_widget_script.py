"""The widget script as served: its stylesheet inlined from static/widget.css, cacheable, never sniffed."""
from __future__ import annotations

import json

import pytest

from kapbook_booking.entrypoints.web.widget_script import PLACEHOLDER, STYLESHEET

pytestmark = pytest.mark.integration


def test_the_served_script_carries_the_stylesheet_as_one_javascript_string(client):
    response = client.get("/widget.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    script = response.get_data(as_text=True)
    assert PLACEHOLDER not in script
    assert f"var CSS = {json.dumps(STYLESHEET.read_text(encoding='utf-8'))};" in script
    assert ":host{all:initial;" in STYLESHEET.read_text(encoding="utf-8")


def test_a_cached_copy_is_revalidated_without_sending_the_script_again(client):
    first = client.get("/widget.js")
    assert first.headers["Cache-Control"] == "public, max-age=300"
    again = client.get("/widget.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.data
