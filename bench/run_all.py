"""Runs every benchmark, each in its own process, and prints one table of their figures.

    .venv/bin/python bench/run_all.py [--out test-artifacts/bench.json] [--only NAME ...] [--full]

Sizes are smaller than each script's own defaults so the suite takes about five minutes on two
cores; ``--full`` runs every script at its defaults. Progress lines and each script's own
output go to stderr, its logs to test-artifacts/bench/<name>.log, and the table (metric, setup,
figure, aim) to stdout. The records, with the machine they came from, go to ``--out``.

Needs PostgreSQL and RabbitMQ: KAPBOOK_TEST_POSTGRES_URL and KAPBOOK_TEST_AMQP_URL, by default
the local ones (postgresql+psycopg://postgres@127.0.0.1:5432/postgres, amqp://guest:guest@127.0.0.1:5672//).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from figures import aim_for  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"
COLUMNS = ("metric", "setup", "figure", "aim")


@dataclass(frozen=True)
class Benchmark:
    """One bench script and the arguments ``make bench`` gives it (``--full``: none)."""

    name: str
    quick_args: tuple[str, ...] = ()
    timeout: float = 600


BENCHMARKS = (
    Benchmark("availability_http", ("50",)),
    Benchmark("availability_gunicorn", ("200",)),
    Benchmark("availability_scaling", ("--quick", "--sqlite-only")),
    Benchmark("availability_engine", ("--runs", "30")),
    Benchmark("fhir_slots", ("20",)),
    Benchmark("caldav_availability", ("20",)),
    Benchmark("booking_throughput", ("8",)),
    Benchmark("booking_to_planned_lag", ("--bookings", "200")),
    Benchmark("reminders_dispatch", ("--messages", "500", "--dispatchers", "1,2")),
    Benchmark("process_memory", ("--bookings", "200")),
    Benchmark("series_http", ("30", "--seconds", "8")),
    Benchmark("director_report", ("10",)),
    Benchmark("waitlist_match", ("60",)),
)


# -- the table ---------------------------------------------------------------------------------

def figure_text(figure: dict[str, Any]) -> str:
    """The value with its unit (and note), e.g. ``12.3 ms`` or ``FAILED``."""
    value = figure.get("value")
    if value is None:
        return "FAILED"
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2 if abs(value) >= 1 else 3
    text = f"{value:,.{digits}f} {figure['unit']}".strip()
    return f"{text} ({figure['note']})" if figure.get("note") else text


def aim_text(figure: dict[str, Any]) -> str:
    """``< 20 ms: met`` / ``NOT met``, or ``report`` for figures without an aim."""
    aim = aim_for(figure)
    if aim is None or figure.get("value") is None:
        return "report"
    return f"{aim}: {'met' if aim.met_by(figure['value']) else 'NOT met'}"


def table_rows(figures: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    return [(f["metric"], f["setup"], figure_text(f), aim_text(f)) for f in figures]


def table(figures: list[dict[str, Any]]) -> str:
    """One Markdown table of every figure (readable in a terminal, pasteable into docs)."""
    rows = [COLUMNS, *table_rows(figures)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]

    def line(cells) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths)) + " |"

    return "\n".join([line(rows[0]), line("-" * width for width in widths), *(line(row) for row in rows[1:])])


# -- running the scripts ------------------------------------------------------------------------

def failure(benchmark: Benchmark, reason: str) -> dict[str, Any]:
    return {"metric": benchmark.name, "setup": reason, "value": None, "unit": "", "benchmark": benchmark.name}


def run_benchmark(benchmark: Benchmark, full: bool, env: dict[str, str], folder: Path) -> list[dict[str, Any]]:
    """Run one script with ``--json``; its figures, or one FAILED record."""
    output, log = folder / f"{benchmark.name}.json", folder / f"{benchmark.name}.log"
    output.unlink(missing_ok=True)
    command = [sys.executable, str(BENCH / f"{benchmark.name}.py"), *(() if full else benchmark.quick_args),
               "--json", str(output)]
    with log.open("wb") as stderr:
        returncode = run_in_own_group(command, env, stderr, benchmark.timeout)
    if returncode is None:
        return [failure(benchmark, f"timed out after {benchmark.timeout:g} s; log: {log}")]
    if returncode != 0 or not output.exists():
        return [failure(benchmark, f"exit code {returncode}; log: {log}")]
    return [figure | {"benchmark": benchmark.name} for figure in json.loads(output.read_text())]


def run_in_own_group(command: list[str], env: dict[str, str], stderr, timeout: float) -> int | None:
    """Run ``command`` (its stdout to our stderr) in its own process group; its exit code, None on timeout.

    On a timeout or Ctrl-C the whole group (the script and the servers it started) gets SIGINT,
    so each script's cleanup runs (scratch databases dropped), then SIGKILL if it lingers.
    """
    process = subprocess.Popen(command, env=env, stdout=sys.stderr, stderr=stderr, start_new_session=True)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_group(process)
        return None
    except KeyboardInterrupt:
        stop_group(process)
        raise


def stop_group(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def run_all(benchmarks: list[Benchmark], full: bool, env: dict[str, str], folder: Path) -> list[dict[str, Any]]:
    folder.mkdir(parents=True, exist_ok=True)
    figures = []
    for number, benchmark in enumerate(benchmarks, 1):
        progress(f"==> {benchmark.name} ({number}/{len(benchmarks)}) ...")
        started = time.monotonic()
        results = run_benchmark(benchmark, full, env, folder)
        outcome = "FAILED" if any(r["value"] is None for r in results) else f"{len(results)} figures"
        progress(f"==> {benchmark.name} ({number}/{len(benchmarks)}): {outcome} in {time.monotonic() - started:.0f} s")
        figures += results
    return figures


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- the services it needs, and the machine -----------------------------------------------------

def unreachable(postgres_url: str, amqp_url: str) -> list[str]:
    """What is wrong with the PostgreSQL and RabbitMQ the benchmarks need (empty: both answer)."""
    from kombu import Connection
    from sqlalchemy import create_engine, text

    problems = []
    try:
        engine = create_engine(postgres_url)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:
        problems.append(f"PostgreSQL at KAPBOOK_TEST_POSTGRES_URL={postgres_url!r}: {error.__class__.__name__}")
    try:
        with Connection(amqp_url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:
        problems.append(f"RabbitMQ at KAPBOOK_TEST_AMQP_URL={amqp_url!r}: {error.__class__.__name__}")
    return problems


def machine(postgres_url: str, amqp_url: str) -> dict[str, Any]:
    """Where the figures come from: CPUs, memory, OS, Python, PostgreSQL and RabbitMQ versions."""
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "os": _os_name(),
        "python": platform.python_version(),
        "postgresql": _postgres_version(postgres_url),
        "rabbitmq": _rabbitmq_version(amqp_url),
    }


def _cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        total_kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
    except (OSError, IndexError, ValueError):
        return None
    return round(total_kib / 2**20, 1)


def _os_name() -> str:
    try:
        release = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
        name = release.get("PRETTY_NAME", "").strip('"')
    except OSError:
        name = ""
    return f"{name or platform.system()}, kernel {platform.release()}"


def _postgres_version(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SHOW server_version")).scalar_one()
    finally:
        engine.dispose()


def _rabbitmq_version(url: str) -> str:
    from kombu import Connection

    with Connection(url, connect_timeout=3) as connection:
        version = connection.connection.server_properties.get("version", "unknown")
    return version.decode() if isinstance(version, bytes) else str(version)


# -- main -----------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("test-artifacts/bench.json"), help="where the records go")
    parser.add_argument("--only", nargs="+", choices=[b.name for b in BENCHMARKS], help="run only these scripts")
    parser.add_argument("--full", action="store_true", help="each script at its own (larger) default sizes")
    args = parser.parse_args()
    postgres_url = os.environ.get("KAPBOOK_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    amqp_url = os.environ.get("KAPBOOK_TEST_AMQP_URL") or DEFAULT_AMQP_URL
    if problems := unreachable(postgres_url, amqp_url):
        raise SystemExit("make bench needs PostgreSQL and RabbitMQ; not reachable:\n  " + "\n  ".join(problems)
                         + "\nStart them (see /work/shared/STACK.md or docker compose) or point the variables elsewhere.")
    env = os.environ | {"KAPBOOK_TEST_POSTGRES_URL": postgres_url, "KAPBOOK_TEST_AMQP_URL": amqp_url,
                        "KAPBOOK_LOG_LEVEL": os.environ.get("KAPBOOK_LOG_LEVEL", "WARNING"), "PYTHONUNBUFFERED": "1"}
    benchmarks = [b for b in BENCHMARKS if not args.only or b.name in args.only]
    figures = run_all(benchmarks, args.full, env, args.out.parent / "bench")
    where = machine(postgres_url, amqp_url)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"taken_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": where,
                                    "full": args.full, "records": figures}, indent=2) + "\n")
    progress(f"==> machine: {where}")
    progress(f"==> records in {args.out}")
    print(table(figures))
    if any(figure["value"] is None for figure in figures):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
