"""Real PostgreSQL databases and RabbitMQ namespaces for tests, created fresh and dropped after."""
from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from urllib.parse import urlparse

from kombu import Connection
from sqlalchemy import create_engine, text

from kapbook_platform.messaging.topology import Topology


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def postgres_reachable(url: str) -> bool:
    return _reachable(url, 5432)


def amqp_reachable(url: str) -> bool:
    if not _reachable(url, 5672):
        return False
    try:
        with Connection(url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
        return True
    except Exception:
        return False


def _with_database(url: str, name: str) -> str:
    parsed = urlparse(url)
    return parsed._replace(path=f"/{name}").geturl()


def fresh_postgres_database(admin_url: str, prefix: str) -> tuple[str, Callable[[], None]]:
    """Create an empty database; returns its URL and a function that drops it."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return _with_database(admin_url, name), drop


def drop_amqp_namespace(url: str, namespace: str) -> None:
    """Delete the queues and exchanges a test declared under ``namespace``."""
    topology = Topology(namespace=namespace, quorum=True)
    with Connection(url) as connection:
        channel = connection.channel()
        for queue in topology.all_queues():
            try:
                channel.queue_delete(queue.name)
            except Exception:
                channel = connection.channel()
        for exchange in (topology.events_exchange, topology.dead_letter_exchange):
            try:
                channel.exchange_delete(exchange.name)
            except Exception:
                channel = connection.channel()
