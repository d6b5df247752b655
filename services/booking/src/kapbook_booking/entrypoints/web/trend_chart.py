"""The console's trend chart: PHQ-9 or GAD-7 totals over time as an SVG drawn on the server (pygal).

Severity bands are shaded behind the line (filled constant series, highest band first so each lower
one paints over it), dosing sessions are marked on the time axis, and no script or external file is
referenced: the SVG renders offline and is inlined in the page. The page also gives every value in a
table, for screen readers.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pygal
from pygal.style import Style


@dataclass(frozen=True)
class Band:
    label: str
    low: int
    high: int
    colour: str


PHQ9_BANDS = (Band("Minimal", 0, 4, "#e3f2e1"), Band("Mild", 5, 9, "#f4f1d0"), Band("Moderate", 10, 14, "#fbe3c4"),
              Band("Moderately severe", 15, 19, "#f8cfc0"), Band("Severe", 20, 27, "#f2b8b5"))
GAD7_BANDS = (Band("Minimal", 0, 4, "#e3f2e1"), Band("Mild", 5, 9, "#f4f1d0"), Band("Moderate", 10, 14, "#fbe3c4"),
              Band("Severe", 15, 21, "#f2b8b5"))
LINE_COLOUR, DOSE_COLOUR = "#1f5f5b", "#5b3f8c"


def trend_svg(title: str, points: Sequence[tuple[datetime, int]], bands: Sequence[Band], doses: Sequence[datetime],
              zone: ZoneInfo) -> str:
    """An inline SVG of ``points`` (time, total) over shaded ``bands``, with ``doses`` marked at the foot."""
    times = [when for when, _ in points] + list(doses)
    first, last = (min(times), max(times)) if times else (datetime.now(zone), datetime.now(zone))
    span = (first - timedelta(days=1), last + timedelta(days=1))
    top = bands[-1].high
    style = Style(
        background="white", plot_background="white", opacity=".9", opacity_hover="1",
        colors=tuple(band.colour for band in reversed(bands)) + (LINE_COLOUR, DOSE_COLOUR),
        font_family="Arial, Helvetica, sans-serif",
    )
    chart = pygal.DateTimeLine(
        title=title, style=style, width=760, height=340, range=(0, top), include_x_axis=True,
        x_value_formatter=lambda when: _local(when, zone).strftime("%-d %b"), x_label_rotation=30,
        legend_at_bottom=True, legend_at_bottom_columns=3, truncate_legend=-1, dots_size=4,
        js=[], css=["file://style.css", "file://graph.css"], disable_xml_declaration=True, show_x_guides=False,
        explicit_size=False,
    )
    for band in reversed(bands):  # the highest band first: each lower band is painted over it
        chart.add(f"{band.label} ({band.low}–{band.high})", [(span[0], band.high), (span[1], band.high)],
                  fill=True, show_dots=False, stroke_style={"width": 0.5})
    chart.add(title, [(when, total) for when, total in points], stroke_style={"width": 3})
    chart.add("Dosing session", [(when, 0) for when in doses], stroke=False, dots_size=6)
    # pygal writes its tooltip configuration as an inline script; the page runs no script, so drop it.
    return re.sub(r"<script\b.*?</script>", "", chart.render(is_unicode=True), flags=re.S)


def _local(when: datetime, zone: ZoneInfo) -> datetime:
    # pygal hands the formatter naive UTC datetimes (it works in timestamps).
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(zone)
