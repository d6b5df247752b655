"""SpamAssassin (Debian's, a spam filter nobody here wrote) scores every email the service sends.

Each kind is made by the real service from its events and sent by its SMTP adapter; the bytes the
SMTP server received go through ``spamassassin -L -t`` (local rules only: no network, so the same
verdict anywhere), one process per message, in parallel. Bayes is off and ``HOME`` is a scratch
folder, so no run learns from another. A kind must score below ``MAX_SCORE``, far under the 5.0
at which SpamAssassin calls mail spam. Without spamassassin the tests skip, except under
KAPBOOK_REQUIRE_REAL_SERVICES=1 (CI), where they fail: .ci/system-packages.sh installs it.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from every_email import EXPECTED, send_every_email
from kapbook_reminders.domain.plan import MessageKind
from reminders_harness import START, Harness, SmtpSink

pytestmark = pytest.mark.integration

MAX_SCORE = 2.0
# The GTUBE line: every SpamAssassin install scores it 1000, so a scorer that says 0 to everything is caught.
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
OPTIONS = ["-L", "-t", "-x", "--cf=use_bayes 0", "--cf=bayes_auto_learn 0"]


@dataclass(frozen=True)
class Verdict:
    score: float
    rules: list[str]
    report: str  # SpamAssassin's table of the rules that hit, with their points

    def summary(self) -> str:
        return f"score {self.score:.1f}: {', '.join(self.rules) or 'no rule hit'}\n{self.report}"


def spamassassin() -> str:
    found = shutil.which("spamassassin")
    if found:
        return found
    if os.environ.get("KAPBOOK_REQUIRE_REAL_SERVICES") == "1":
        pytest.fail("spamassassin is required (KAPBOOK_REQUIRE_REAL_SERVICES=1); .ci/system-packages.sh installs it")
    pytest.skip("spamassassin is not installed (apt-get install spamassassin)")


def judge(program: str, path: Path, home: Path) -> Verdict:
    """Run ``spamassassin -L -t`` on the message in ``path``; its score, rules and report."""
    result = subprocess.run([program, *OPTIONS, str(path)], capture_output=True, timeout=300,
                            env=os.environ | {"HOME": str(home)}, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    output = result.stdout.decode("utf-8", errors="replace")
    status = str(message_from_bytes(result.stdout, policy=policy.default)["X-Spam-Status"] or "")
    status = re.sub(r",\s+", ",", " ".join(status.split()))  # the rule list is folded after a comma
    found = re.search(r"score=(-?\d+(?:\.\d+)?) required=\S+ tests=(\S*)", status)
    assert found, f"no X-Spam-Status with a score in SpamAssassin's output:\n{output[:2000]}"
    rules = [rule for rule in found.group(2).replace(",", " ").split() if rule != "none"]
    table = output[output.rfind("Content analysis details"):].split("\n\n", 2)
    return Verdict(float(found.group(1)), rules, "\n".join(table[:2]).strip())


def judge_all(program: str, messages: dict[str, bytes], folder: Path) -> dict[str, Verdict]:
    """Every message judged by its own spamassassin process, as many at once as there are cores."""
    home = folder / "home"
    home.mkdir()
    paths = {}
    for number, (label, raw) in enumerate(messages.items()):
        paths[label] = folder / f"{number:02d}.eml"
        paths[label].write_bytes(raw)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {label: pool.submit(judge, program, path, home) for label, path in paths.items()}
        return {label: future.result() for label, future in futures.items()}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory) -> dict[str, Verdict]:
    """Every email kind sent once by the service on SQLite, then judged; label -> verdict."""
    program = spamassassin()
    folder = tmp_path_factory.mktemp("spamassassin")
    sink = SmtpSink(folder / "mail").start()
    harness = Harness.build(folder, f"sqlite:///{folder / 'reminders.db'}", START - timedelta(days=5), sink)
    try:
        messages = send_every_email(harness)
    finally:
        harness.close()
        sink.stop()
    gtube = messages["confirmation"].replace(b"Thank you for booking", GTUBE.encode() + b"\nThank you for booking", 1)
    assert gtube != messages["confirmation"], "the confirmation's text no longer starts as the GTUBE check expects"
    started = time.monotonic()
    verdicts = judge_all(program, messages | {"GTUBE": gtube}, folder)
    print(f"spamassassin judged {len(verdicts)} messages in {time.monotonic() - started:.1f} s")
    return verdicts


def test_every_kind_of_email_is_among_those_judged():
    """A new kind of email must be added to every_email.EXPECTED, and so is judged too."""
    assert {kind for kind, _ in EXPECTED.values()} == {kind.value for kind in MessageKind}


@pytest.mark.parametrize("label", list(EXPECTED))
def test_spamassassin_scores_the_email_well_below_spam(verdicts, label):
    verdict = verdicts[label]
    print(f"{label}: {verdict.summary()}")
    assert verdict.score < MAX_SCORE, f"{label} scores {verdict.summary()}"


def test_spamassassin_really_scores_what_it_is_given(verdicts):
    """The same confirmation with the GTUBE line in its text body is spam: the scores above are real."""
    assert verdicts["GTUBE"].score >= 5.0 and "GTUBE" in verdicts["GTUBE"].rules, verdicts["GTUBE"].summary()
