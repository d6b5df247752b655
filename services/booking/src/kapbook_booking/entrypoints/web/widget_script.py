"""The widget as served: static/widget.js with static/widget.css inlined as a JavaScript string.

Inlined rather than linked so the widget stays one request and one origin to allow: a clinic's
content security policy that lets our script run need not also allow our stylesheets, and the
widget adopts the styles in its shadow root (a constructed stylesheet), where the host page's
styles and ours never mix.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

STATIC = Path(__file__).parent / "static"
SCRIPT, STYLESHEET = STATIC / "widget.js", STATIC / "widget.css"
PLACEHOLDER = '"/*! widget.css, inlined when served */"'


def widget_script() -> tuple[bytes, float]:
    """The assembled script and when its newer source last changed (rebuilt when either file does)."""
    changed = max(SCRIPT.stat().st_mtime, STYLESHEET.stat().st_mtime)
    return _assemble(changed), changed


@lru_cache(maxsize=1)
def _assemble(_changed: float) -> bytes:
    script = SCRIPT.read_text(encoding="utf-8")
    if script.count(PLACEHOLDER) != 1:
        raise RuntimeError(f"widget.js must hold the stylesheet placeholder {PLACEHOLDER} exactly once")
    # json.dumps gives a valid JavaScript string literal, non-ASCII and line separators escaped.
    css = json.dumps(STYLESHEET.read_text(encoding="utf-8"))
    return script.replace(PLACEHOLDER, css).encode("utf-8")
