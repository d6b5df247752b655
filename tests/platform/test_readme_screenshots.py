"""The README's patient journey shows exactly the screenshots ``make screenshots`` takes, each one committed and small."""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_BYTES = 150_000


def screenshots_script():
    spec = importlib.util.spec_from_file_location("kapbook_screenshots", ROOT / "scripts" / "screenshots.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def journey_section() -> str:
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"^## The patient journey\n(.*?)(?=^## )", readme, re.MULTILINE | re.DOTALL)
    assert found, "README has a 'The patient journey' section"
    return found.group(1)


def test_the_readme_journey_shows_every_step_of_the_screenshot_script_in_order():
    script = screenshots_script()
    shown = re.findall(r"!\[[^\]]+\]\(docs/images/([^)]+)\)", journey_section())
    assert shown == [name for name, _what in script.JOURNEY]
    assert script.OUT_DIR == ROOT / "docs" / "images"


def test_every_journey_screenshot_is_committed_as_a_small_png():
    for name, _what in screenshots_script().JOURNEY:
        image = ROOT / "docs" / "images" / name
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert image.stat().st_size < MAX_BYTES, f"{name}: {image.stat().st_size} bytes"


def test_make_screenshots_runs_the_script():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^screenshots: setup ## .+\n\t.*scripts/screenshots\.py", makefile, re.MULTILINE)
