"""Wiring shared by every service process: database, platform tables, broker, outbox, workers."""
from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from kombu import Connection
from sqlalchemy import Engine, MetaData, Table
from sqlalchemy.orm import Session, sessionmaker

from kapbook_platform.config import PlatformConfig
from kapbook_platform.heartbeat import beat
from kapbook_platform.database import create_db_engine, make_session_factory, ping
from kapbook_platform.messaging.consumer import EventConsumer, EventHandler
from kapbook_platform.messaging.outbox import Outbox, OutboxRelay
from kapbook_platform.messaging.wakeup import Wakeup, wakeup_for
from kapbook_platform.messaging.tables import dead_letter_table, inbox_table, outbox_table
from kapbook_platform.messaging.topology import Topology
from kapbook_platform.messaging.transport import open_connection, topology_for
from kapbook_platform.staff.tables import audit_log_table, staff_credential_tombstones_table, staff_credentials_table

log = logging.getLogger(__name__)


def add_platform_tables(metadata: MetaData) -> dict[str, Table]:
    """The tables every service's database has besides its own."""
    return {
        "outbox": outbox_table(metadata),
        "inbox": inbox_table(metadata),
        "dead_letters": dead_letter_table(metadata),
        "staff_credentials": staff_credentials_table(metadata),
        "staff_credential_tombstones": staff_credential_tombstones_table(metadata),
        "audit_log": audit_log_table(metadata),
    }


@dataclass
class ServiceRuntime:
    """One service's engine, sessions, outbox and broker access, built from its config."""

    config: PlatformConfig
    database_url: str
    tables: Mapping[str, Table]
    engine: Engine = field(init=False)
    sessions: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.engine = create_db_engine(self.database_url)
        self.sessions = make_session_factory(self.engine)

    @property
    def service(self) -> str:
        return self.config.service_name

    @cached_property
    def outbox_wakeup(self) -> Wakeup:
        """Wakes this service's relay when a transaction commits an event (the poll is the fallback)."""
        return wakeup_for(self.engine, f"{self.service}-outbox")

    @cached_property
    def outbox(self) -> Outbox:
        return Outbox(self.tables["outbox"], source=f"/kapbook/{self.service}", wakeup=self.outbox_wakeup)

    @cached_property
    def topology(self) -> Topology:
        return topology_for(self.config.effective_broker_url, self.config.broker_namespace)

    def broker_connection(self) -> Connection:
        return open_connection(self.config.effective_broker_url)

    def relay(self) -> OutboxRelay:
        return OutboxRelay(self.engine, self.tables["outbox"], self.broker_connection(), self.topology, self.outbox_wakeup)

    def consumer(self, handlers: Mapping[str, EventHandler]) -> EventConsumer:
        return EventConsumer(self.broker_connection(), self.topology, self.service, self.sessions, self.tables, handlers)

    def check_database(self) -> None:
        ping(self.engine)

    def check_broker(self) -> None:
        with self.broker_connection() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)


def run_until_signalled(
    loops: Mapping[str, Callable[[threading.Event], None]], heartbeat_path: Path | None = None
) -> None:
    """Run each loop in its own thread until SIGINT/SIGTERM, then stop them all cleanly.

    While every loop is alive the worker touches ``heartbeat_path`` (container health checks).
    """
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    threads = [threading.Thread(target=loop, args=(stop,), name=name, daemon=True) for name, loop in loops.items()]
    for thread in threads:
        thread.start()
    log.info("workers started", extra={"loops": sorted(loops)})
    while not stop.is_set() and all(thread.is_alive() for thread in threads):
        if heartbeat_path is not None:
            beat(heartbeat_path)
        stop.wait(0.5)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    if any(thread.is_alive() for thread in threads):
        log.error("a worker loop did not stop in time")


def consumer_loop(runtime: ServiceRuntime, handlers: Mapping[str, EventHandler]) -> Callable[[threading.Event], None]:
    """A loop that consumes the service's queue until stopped (reconnecting as kombu does)."""

    def loop(stop: threading.Event) -> None:
        consumer = runtime.consumer(handlers)
        watcher = threading.Thread(target=lambda: (stop.wait(), setattr(consumer, "should_stop", True)), daemon=True)
        watcher.start()
        consumer.run()

    return loop


def relay_loop(runtime: ServiceRuntime) -> Callable[[threading.Event], None]:
    def loop(stop: threading.Event) -> None:
        runtime.relay().run(stop, idle_interval=runtime.config.relay_interval)

    return loop


def alembic_config(runtime: ServiceRuntime, metadata: MetaData, migrations_package: str):
    """The Alembic configuration of a service's migrations, run on the runtime's own engine."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files(migrations_package)))
    config.attributes["connection_url"] = runtime.database_url
    config.attributes["target_metadata"] = metadata
    config.attributes["engine"] = runtime.engine
    return config


def upgrade_database(runtime: ServiceRuntime, metadata: MetaData, migrations_package: str) -> None:
    """Apply the service's Alembic migrations up to head."""
    from alembic import command

    command.upgrade(alembic_config(runtime, metadata, migrations_package), "head")
