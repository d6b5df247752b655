"""Whether the real PostgreSQL and RabbitMQ are reachable; fresh databases and namespaces come from
``support.scratch``."""
from __future__ import annotations

import socket
from urllib.parse import urlparse

from kombu import Connection

from support.scratch import drop_amqp_namespace, fresh_postgres_database

__all__ = ["amqp_reachable", "drop_amqp_namespace", "fresh_postgres_database", "postgres_reachable", "redis_reachable"]


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


def redis_reachable(url: str) -> bool:
    """Whether Redis answers PING at ``url`` (the shared rate-limit store of production)."""
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def caldav_reachable(url: str) -> bool:
    """Whether a CalDAV server (CI's Radicale) answers HTTP at ``url``."""
    import requests

    try:
        requests.options(url, timeout=2)
        return True
    except requests.RequestException:
        return False
