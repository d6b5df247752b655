"""Throw-away PostgreSQL databases and RabbitMQ namespaces, for tests and benchmarks.

Test code, not part of any service: the benchmarks put ``tests/`` on ``sys.path`` to import it.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import urlparse

from kombu import Connection
from sqlalchemy import create_engine, text

from kapbook_platform.messaging.topology import Topology


def fresh_postgres_database(admin_url: str, prefix: str) -> tuple[str, Callable[[], None]]:
    """Create an empty database next to ``admin_url``; returns its URL and a function that drops it."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return urlparse(admin_url)._replace(path=f"/{name}").geturl(), drop


def drop_amqp_namespace(url: str, namespace: str) -> None:
    """Delete the queues and exchanges declared under ``namespace`` on RabbitMQ."""
    topology = Topology(namespace=namespace, quorum=True)
    with Connection(url) as connection:
        channel = connection.channel()
        for queue in topology.all_queues():
            try:
                channel.queue_delete(queue.name)
            except Exception:  # already gone; the channel is closed after an error, open another
                channel = connection.channel()
        for exchange in (topology.events_exchange, topology.dead_letter_exchange):
            try:
                channel.exchange_delete(exchange.name)
            except Exception:
                channel = connection.channel()
