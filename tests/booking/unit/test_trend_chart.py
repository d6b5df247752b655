"""The console's trend chart: the SVG holds the right points, the bands and the dosing marks, and nothing external."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from kapbook_booking.entrypoints.web.console.trends import trend_rows
from kapbook_booking.entrypoints.web.trend_chart import PHQ9_BANDS, trend_svg

NEW_YORK = ZoneInfo("America/New_York")
T0 = datetime(2027, 3, 1, 15, tzinfo=UTC)
POINTS = [(T0, 18), (T0 + timedelta(days=7), 12), (T0 + timedelta(days=14), 4)]
DOSES = [T0 + timedelta(days=2), T0 + timedelta(days=5), T0 + timedelta(days=9)]
SVG = "{http://www.w3.org/2000/svg}"


def series(svg: str) -> list[list[str]]:
    """Each series' point values ("1 Mar: 18"), in drawing order."""
    found: dict[int, list[str]] = {}
    for group in ET.fromstring(svg).iter(f"{SVG}g"):
        match = re.search(r"\bserie-(\d+)\b", group.get("class", ""))
        if match:
            found.setdefault(int(match.group(1)), []).extend(
                desc.text for desc in group.iter(f"{SVG}desc") if desc.get("class") == "value")
    return [found[number] for number in sorted(found)]


def test_the_chart_draws_each_total_over_the_bands_with_each_dose_marked():
    svg = trend_svg("PHQ-9", POINTS, PHQ9_BANDS, DOSES, NEW_YORK)

    groups = series(svg)
    assert len(groups) == len(PHQ9_BANDS) + 2  # five shaded bands, the totals, the dosing sessions
    line, doses = groups[len(PHQ9_BANDS)], groups[-1]
    assert line == ["1 Mar: 18", "8 Mar: 12", "15 Mar: 4"]  # days in the clinic's zone
    assert doses == ["3 Mar: 0", "6 Mar: 0", "10 Mar: 0"]
    legend = [text for text in ET.fromstring(svg).itertext() if "–" in text]
    assert legend[:5] == ["Severe (20–27)", "Moderately severe (15–19)", "Moderate (10–14)", "Mild (5–9)", "Minimal (0–4)"]


def test_the_chart_needs_no_script_and_no_internet():
    svg = trend_svg("PHQ-9", POINTS, PHQ9_BANDS, DOSES, NEW_YORK)

    assert "<script" not in svg
    assert not re.search(r"""(?:href|src)=["']https?://""", svg)


def test_the_table_rows_mark_the_baseline_and_read_in_the_clinic_zone():
    trend = {"outcome": {"baseline_id": "s1"}, "points": [
        {"id": "s1", "source": "screening", "taken_at": T0.isoformat(), "phq9": 18, "gad7": 12, "alert": False},
        {"id": "c1", "source": "check_in", "taken_at": (T0 + timedelta(days=7)).isoformat(), "phq9": 9, "gad7": 6,
         "alert": True}]}

    rows = trend_rows(trend, NEW_YORK)

    assert [(row["source_name"], row["is_baseline"], row["phq9"]) for row in rows] == [
        ("Screening", True, 18), ("Check-in", False, 9)]
    assert rows[0]["taken_at"].tzinfo == NEW_YORK and rows[0]["taken_at"].hour == 10
