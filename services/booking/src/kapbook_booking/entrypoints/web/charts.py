"""Charts drawn on the server as inline SVG (pygal): no script, no web fonts, nothing fetched.

Every chart goes with a table of the same numbers on its page, for screen readers and for anyone
who wants the figures; the SVG itself is one image with a text alternative.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

import pygal
from markupsafe import Markup, escape
from pygal.style import Style

# pygal writes its tooltip configuration into an inline script: the page's policy would refuse it anyway.
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
CONSOLE_STYLE = Style(
    background="transparent", plot_background="#ffffff", foreground="#1d2a33", foreground_strong="#1d2a33",
    foreground_subtle="#5b6b77", colors=("#1f6f8b",), font_family="system-ui, sans-serif",
    label_font_size=13, major_label_font_size=13, value_font_size=12, title_font_size=15,
)


def weekly_utilisation_svg(weeks: Sequence[tuple[date, float | None]], description: str) -> Markup:
    """A bar per week (its first day under it) of utilisation in %, as an inline SVG image described by
    ``description``."""
    chart = pygal.Bar(
        style=CONSOLE_STYLE, js=[], disable_xml_declaration=True, show_legend=False, width=820, height=320,
        range=(0, max([100.0] + [value or 0 for _, value in weeks])), y_title="Utilisation (%)",
        print_values=True, value_formatter=lambda value: f"{value:.1f}%", margin=16,
    )
    chart.x_labels = [f"{day:%-d %b}" for day, _ in weeks]
    chart.add("Utilisation", [value for _, value in weeks])
    svg = _COMMENT.sub("", _SCRIPT.sub("", chart.render(is_unicode=True)))
    label = f' role="img" aria-label="{escape(description)}" focusable="false"'
    return Markup(svg.replace("<svg ", "<svg" + label + " ", 1))
