"""Worker liveness for container health checks: workers touch a file; the check reads its age.

``python -m kapbook_platform.heartbeat PATH [MAX_AGE_SECONDS]`` exits 0 if PATH (a file, or any file
in a folder) was touched recently.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

MAX_AGE_SECONDS = 30.0


def beat(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def is_fresh(path: Path, max_age: float = MAX_AGE_SECONDS) -> bool:
    candidates = list(path.iterdir()) if path.is_dir() else [path]
    return any(_age(candidate) <= max_age for candidate in candidates)


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")


if __name__ == "__main__":
    target = Path(sys.argv[1])
    limit = float(sys.argv[2]) if len(sys.argv) > 2 else MAX_AGE_SECONDS
    sys.exit(0 if is_fresh(target, limit) else 1)
