"""``make screenshots`` end to end: the script starts its own system and takes the whole journey in Chromium
(about 15 s), writing one small PNG per step. A separate process: it drives its own Playwright."""
from __future__ import annotations

import importlib.util
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def journey() -> tuple:
    spec = importlib.util.spec_from_file_location("kapbook_screenshots", ROOT / "scripts" / "screenshots.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module.JOURNEY


def test_the_screenshot_script_takes_the_whole_patient_journey(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "screenshots.py"), str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for name, _what in journey():
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        width, height = struct.unpack(">II", data[16:24])
        assert 600 <= width <= 1100 and 400 <= height <= 1600, (name, width, height)
        assert len(data) < 150_000, (name, len(data))
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(name for name, _what in journey())
