"""Private PostgreSQL and RabbitMQ servers, started from the machine's own installation.

Fault tests stop and restart the database and the broker; doing that to the shared servers
would break every other test run on the machine. These are the same server programs (Debian's
PostgreSQL and RabbitMQ), each in its own folder and on its own ports, started and stopped by
the test that owns them.
"""
from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from kombu import Connection
from sqlalchemy import create_engine, text


class ServerUnavailable(RuntimeError):
    """The server program is not installed, or did not start."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise ServerUnavailable(f"{what} within {timeout:.0f} s")


def _as_user(user: str) -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as ``user`` when we are root."""
    return ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []


def postgres_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def rabbitmq_server_program() -> Path | None:
    for candidate in ("/usr/lib/rabbitmq/bin/rabbitmq-server",):
        if Path(candidate).exists():
            return Path(candidate)
    return None


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of our own in a temporary folder, on a free port."""

    port: int = field(default_factory=free_port)
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="kapbook-pg-")))

    def __post_init__(self) -> None:
        bindir = postgres_bindir()
        if bindir is None:
            raise ServerUnavailable("PostgreSQL server programs (initdb, pg_ctl) are not installed")
        self.bindir = bindir
        self.data = self.folder / "data"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")

    def _run(self, program: str, *args: str) -> None:
        command = [*_as_user("postgres"), str(self.bindir / program), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise ServerUnavailable(f"{program} failed: {result.stderr.strip() or result.stdout.strip()}")

    def start(self) -> PrivatePostgres:
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        # fsync off: this cluster only has to survive its server process stopping, not the machine.
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "server.log"), "-w", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: disconnect everyone and shut down cleanly; ``immediate``: like a crash)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url(name)

    def close(self) -> None:
        try:
            self.stop("immediate")
        except ServerUnavailable:
            pass  # already stopped
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class PrivateRabbitMQ:
    """A RabbitMQ node of our own (own name, ports, data folder and Erlang cookie)."""

    port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="kapbook-rabbit-")))
    node: str = field(default_factory=lambda: f"kapbook{uuid.uuid4().hex[:8]}@localhost")
    process: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        program = rabbitmq_server_program()
        if program is None:
            raise ServerUnavailable("RabbitMQ server programs are not installed")
        self.program = program
        (self.folder / "enabled_plugins").write_text("[].\n")
        cookie = self.folder / ".erlang.cookie"
        cookie.write_text(uuid.uuid4().hex)
        cookie.chmod(0o400)

    @property
    def environment(self) -> dict[str, str]:
        return os.environ | {
            "HOME": str(self.folder),  # where Erlang finds this node's cookie
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.folder / "advanced.config"),
            "RABBITMQ_PID_FILE": str(self.folder / "rabbitmq.pid"),
        }

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def start(self, timeout: float = 90) -> PrivateRabbitMQ:
        log = open(self.folder / "server.out", "ab")
        self.process = subprocess.Popen([str(self.program)], env=self.environment, stdout=log, stderr=log,
                                        start_new_session=True)
        _wait(self._accepts_connections, timeout, f"RabbitMQ node {self.node} did not accept connections")
        return self

    def _accepts_connections(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise ServerUnavailable(f"RabbitMQ exited with {self.process.returncode}; see {self.folder}/server.out")
        if not port_open(self.port):
            return False
        try:
            with Connection(self.url, connect_timeout=2) as connection:
                connection.ensure_connection(max_retries=1)
            return True
        except Exception:
            return False

    def stop(self) -> None:
        """Shut the node down cleanly (connections are closed; durable queues stay on disk)."""
        ctl = self.program.with_name("rabbitmqctl")
        subprocess.run([str(ctl), "-n", self.node, "stop"], env=self.environment, capture_output=True, timeout=120)
        if self.process is not None:
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def close(self) -> None:
        if self.process is not None:
            self.stop()
        # epmd keeps the node name registered only while the node runs; nothing else outlives it.
        shutil.rmtree(self.folder, ignore_errors=True)
