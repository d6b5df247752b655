"""Render the packaged Jinja2 templates: `<name>.txt` plain, `<name>.html` autoescaped."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@cache
def template_environment() -> Environment:
    """One shared environment, built on first use rather than at import."""
    return Environment(
        loader=PackageLoader("kapbook_reminders.domain", "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default_for_string=True, default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_pair(name: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """The plain-text and HTML renderings of template `name`."""
    environment = template_environment()
    text = environment.get_template(f"{name}.txt").render(context)
    html = environment.get_template(f"{name}.html").render(context)
    return tidy_text(text), html


def tidy_text(text: str) -> str:
    """Collapse runs of blank lines left by template blocks; end with one newline."""
    lines: list[str] = []
    for line in text.splitlines():
        if line.strip() or (lines and lines[-1]):
            lines.append(line.rstrip())
    return "\n".join(lines).strip() + "\n"
