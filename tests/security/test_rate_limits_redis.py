"""The shared rate-limit store of production, for real: Redis, and gunicorn with two worker processes.

With ``memory://`` each gunicorn worker keeps its own count, so two workers let twice the limit
through; with Redis every worker counts in one place. The test proves both workers answered
(gunicorn's access log names the worker's pid) and that exactly the limit got through.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from kapbook_platform.config import PlatformConfig
from kapbook_platform.web.ratelimit import RateLimits, install_rate_limits
from support.servers import free_port
from support.waiting import wait_for

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
LIMIT = 5


@pytest.fixture
def booking_under_gunicorn(tmp_path: Path, redis_url: str):
    """The booking service under gunicorn, 2 workers, counting in Redis under a namespace of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAPBOOK_", "BOOKING_"))} | {
        "KAPBOOK_ENV": "test", "KAPBOOK_VAR_DIR": str(tmp_path), "KAPBOOK_LOG_LEVEL": "WARNING",
        "BOOKING_DATABASE_URL": f"sqlite:///{tmp_path / 'booking.db'}",
        "KAPBOOK_BROKER_NAMESPACE": f"rl-{uuid.uuid4().hex[:12]}",
        "KAPBOOK_RATE_LIMIT": f"{LIMIT}/hour", "KAPBOOK_RATE_LIMIT_STORAGE": redis_url,
    }
    subprocess.run([str(BIN / "kapbook-booking"), "migrate"], env=env, check=True, capture_output=True, timeout=120)
    port, access_log = free_port(), tmp_path / "access.log"
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "2",
         "--access-logfile", str(access_log), "--access-logformat", "%(p)s %(s)s",
         "kapbook_booking.entrypoints.wsgi:create_app()"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(base), timeout=60, interval=0.2)
        yield base, access_log
    finally:
        process.terminate()
        process.wait(timeout=30)


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _pids_by_status(access_log: Path) -> dict[str, set[str]]:
    served: dict[str, set[str]] = {}
    for line in access_log.read_text().splitlines():
        pid, status = line.split()
        served.setdefault(status, set()).add(pid)
    return served


def test_two_gunicorn_workers_count_against_one_limit_in_redis(booking_under_gunicorn):
    base, access_log = booking_under_gunicorn
    statuses: list[int] = []

    def both_workers_refused_a_hold() -> bool:
        # A fresh connection each time, so the kernel hands requests to either worker.
        statuses.append(requests.post(f"{base}/api/booking/v1/holds", json={}, timeout=10).status_code)
        return len(statuses) > LIMIT and len(_pids_by_status(access_log).get("429", set())) == 2

    wait_for(both_workers_refused_a_hold, timeout=60, interval=0)
    assert statuses[:LIMIT] == [422] * LIMIT, "the limit's own requests reach the view (an empty body is a 422)"
    assert set(statuses[LIMIT:]) == {429}, f"only {LIMIT} requests in all, whichever worker answered: {statuses}"
    assert len(_pids_by_status(access_log)["422"] | _pids_by_status(access_log)["429"]) == 2


def test_the_counters_in_redis_hold_no_address_or_email_in_clear(redis_url: str):
    import redis
    from flask import Flask

    from kapbook_platform.web.errors import register_error_handlers
    from kapbook_platform.web.ratelimit import patient_email_in_json, public_write

    namespace = f"rl-{uuid.uuid4().hex[:12]}"
    app = Flask(__name__)
    register_error_handlers(app)
    limits = install_rate_limits(app, PlatformConfig(env="test", broker_namespace=namespace,
                                                     rate_limit_storage=redis_url))
    assert isinstance(limits, RateLimits)

    @app.post("/book")
    @public_write(scope="booking", email=patient_email_in_json)
    def book():
        return "ok"

    client = app.test_client()
    assert client.post("/book", json={"patient": {"email": "pat@example.org"}},
                       environ_base={"REMOTE_ADDR": "2001:db8:5:6::7"}).status_code == 200
    keys = [key.decode() for key in redis.Redis.from_url(redis_url).keys(f"*{namespace}*")]
    assert len(keys) == 2, keys  # one per network, one per email
    assert any("2001:db8:5:6::/64" in key for key in keys), "the network, not the single address"
    assert not any("pat" in key or "example" in key for key in keys), keys
