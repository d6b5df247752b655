"""make bench's table and aims, fed made-up records (no benchmark runs here)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))

from figures import aim_for, percentile, record  # noqa: E402
from run_all import BENCHMARKS, aim_text, figure_text, table  # noqa: E402

LAG = "commit->planned lag p99"


def test_aims_follow_the_issues():
    assert aim_text(record("availability p50", "postgresql, consult", 12.5, "ms")) == "< 20 ms: met"
    assert aim_text(record("availability p99", "postgresql, consult", 75.0, "ms")) == "< 50 ms: NOT met"
    # Issue 16: the relay is woken on commit, so both transports are held to 100 ms, and email to 500 ms.
    assert aim_text(record(LAG, "filesystem", 95.0, "ms", transport="filesystem")) == "<= 100 ms: met"
    assert aim_text(record(LAG, "rabbitmq", 320.0, "ms", transport="rabbitmq")) == "<= 100 ms: NOT met"
    assert aim_text(record("commit->email lag p99", "rabbitmq", 400.0, "ms", transport="rabbitmq")) == "<= 500 ms: met"
    # Issue 16 §2: one dispatcher against bare smtplib in the same run; CPU per email for every run.
    assert aim_text(record("email dispatch rate", "sqlite", 150.0, "emails/s", dispatchers=1)) == ">= 150 emails/s: met"
    assert aim_text(record("email dispatch rate", "sqlite", 150.0, "emails/s", dispatchers=2)) == "report"
    assert aim_text(record("email dispatch / bare smtplib", "sqlite", 55.0, "%", dispatchers=1)) == ">= 60 %: NOT met"
    assert aim_text(record("email dispatch CPU per email", "sqlite", 5.0, "ms", dispatchers=2)) == "<= 5 ms: met"


def test_figures_without_an_aim_are_reported():
    assert aim_for(record("booking/trivial ratio", "gunicorn", 0.12, "x")) is None
    assert aim_text(record("booking/trivial ratio", "gunicorn", 0.12, "x")) == "report"
    assert aim_text(record("commit->email lag p50", "rabbitmq", 400.0, "ms", transport="rabbitmq")) == "report"


def test_figure_text_rounds_to_the_magnitude_and_shows_notes():
    assert figure_text(record("booking throughput", "pg", 1234.4, "req/s")) == "1,234 req/s"
    assert figure_text(record("availability p50", "pg", 12.345, "ms")) == "12.3 ms"
    assert figure_text(record("booking/trivial ratio", "pg", 0.1234, "x")) == "0.123 x"
    assert figure_text(record("memory", "booking master", 61.0, "MB RSS", note="PSS 40.1 MB")) == "61.0 MB RSS (PSS 40.1 MB)"
    assert figure_text({"metric": "booking_throughput", "setup": "exit code 1", "value": None, "unit": ""}) == "FAILED"


def test_table_has_one_aligned_row_per_figure():
    figures = [
        record("availability p50", "postgresql, consult", 12.5, "ms"),
        record("email dispatch rate", "sqlite, 1 dispatcher", 80.0, "emails/s", dispatchers=1),
        {"metric": "process_memory", "setup": "timed out", "value": None, "unit": ""},
    ]
    lines = table(figures).splitlines()
    assert [cell.strip() for cell in lines[0].split("|")[1:-1]] == ["metric", "setup", "figure", "aim"]
    assert set(lines[1]) == {"|", "-", " "}
    assert len(lines) == 2 + len(figures)
    assert len({len(line) for line in lines}) == 1
    assert "| 80.0 emails/s" in lines[3] and ">= 150 emails/s: NOT met" in lines[3]
    assert "FAILED" in lines[4] and "report" in lines[4]


def test_every_benchmark_names_a_script():
    for benchmark in BENCHMARKS:
        assert (Path(__file__).parents[2] / "bench" / f"{benchmark.name}.py").exists(), benchmark.name


def test_percentile_is_nearest_rank():
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.5) == 51.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0
