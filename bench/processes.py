"""The processes a benchmark starts: free ports, waiting for them, their CPU time and memory.

Linux figures come from /proc; elsewhere they read as 0. Not a benchmark itself.
"""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    """Return once something listens on 127.0.0.1:``port``; exit the benchmark after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing started listening on port {port} within {timeout:g} s")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mib(pid: int) -> tuple[float, float | None]:
    """RSS and PSS of a process in MiB, from /proc/<pid>/smaps_rollup (PSS None where only /proc/<pid>/status exists).

    PSS divides each shared page among the processes sharing it, so PSS adds up across
    processes (a forked gunicorn worker shares much of its master's memory); RSS does not.
    """
    try:
        rollup = _kib_fields(Path(f"/proc/{pid}/smaps_rollup").read_text())
        return rollup["Rss"] / 1024, rollup["Pss"] / 1024
    except (OSError, KeyError):
        return _kib_fields(Path(f"/proc/{pid}/status").read_text())["VmRSS"] / 1024, None


def _kib_fields(text: str) -> dict[str, int]:
    """``Name:   1234 kB`` lines as {name: kibibytes}."""
    fields = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB":
            fields[name] = int(parts[0])
    return fields


def children_of(pid: int) -> list[int]:
    """The direct child processes of ``pid`` (Linux /proc), oldest first."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                children.append(int(entry.name))
    return sorted(children)
