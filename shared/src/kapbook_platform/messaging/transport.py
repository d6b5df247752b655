"""Broker connections, and a filesystem transport that neither tears nor loses messages.

kombu's filesystem transport is the embedded default (no broker to install). Two fixes:

* kombu creates a message file and then writes it, so a consumer polling at that moment reads
  an empty file. We write a temporary file and ``os.replace`` it into place (atomic on POSIX).
* kombu rewrites an exchange's binding table in place, so a process declaring a queue while
  another publishes can read half a table. We rewrite it under a lock, atomically, too, and
  keep kombu's in-memory binding state per connection (see AtomicFilesystemTransport).
* kombu deletes a message file as soon as it is read, before the consumer acks it, so a
  consumer killed mid-handler loses the message. We move it to an in-flight folder owned by
  this process, delete it on ack, put it back on reject-with-requeue, and on start return the
  in-flight messages of processes that no longer exist to their queue.
"""
from __future__ import annotations

import fcntl
import json
import os
import uuid
from pathlib import Path
from time import monotonic
from urllib.parse import urlparse

from kombu import Connection
from kombu.transport import filesystem
from kombu.transport.virtual import BrokerState, Empty

from kapbook_platform.messaging.topology import Topology

POLLING_INTERVAL = 0.02


class AtomicFilesystemChannel(filesystem.Channel):
    """A filesystem channel with atomic puts and at-least-once delivery across crashes."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._in_flight: dict[str, Path] = {}
        self._reclaim_orphans()

    @property
    def _queue_folder(self) -> Path:
        return Path(self.data_folder_in)

    @property
    def _own_in_flight_folder(self) -> Path:
        folder = self._queue_folder.parent / "in-flight" / str(os.getpid())
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _put(self, queue, payload, **kwargs) -> None:
        name = f"{int(round(monotonic() * 1000)):015d}_{uuid.uuid4()}.{queue}.msg"
        temporary = self._queue_folder / f".{name}.tmp"
        temporary.write_bytes(json.dumps(payload).encode())
        os.replace(temporary, self._queue_folder / name)

    def _queue_bind(self, exchange, routing_key, pattern, queue) -> None:
        table_file = self._exchange_file(exchange)
        self.control_folder.mkdir(parents=True, exist_ok=True)
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with open(self.control_folder / ".bindings.lock", "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            table = [filesystem.exchange_queue_t(*row) for row in json.loads(table_file.read_text())] if table_file.exists() else []
            if entry not in table:
                table.insert(0, entry)
                temporary = table_file.with_name(f".{table_file.name}.{uuid.uuid4().hex}.tmp")
                temporary.write_text(json.dumps(table))
                os.replace(temporary, table_file)

    def _get(self, queue):
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self._queue_folder)):
            if name.startswith(".") or name.partition(".")[2] != wanted:
                continue
            claimed = self._own_in_flight_folder / name
            try:
                os.rename(self._queue_folder / name, claimed)
            except OSError:
                continue  # another consumer claimed it first
            payload = json.loads(claimed.read_bytes())
            self._in_flight[payload["properties"]["delivery_tag"]] = claimed
            return payload
        raise Empty()

    def basic_ack(self, delivery_tag, multiple=False) -> None:
        super().basic_ack(delivery_tag, multiple=multiple)
        self._forget(delivery_tag)

    def basic_reject(self, delivery_tag, requeue=False) -> None:
        super().basic_reject(delivery_tag, requeue=requeue)
        self._forget(delivery_tag)

    def close(self) -> None:
        # kombu restores unacked messages to their queue on a clean close; drop our copies.
        super().close()
        for delivery_tag in list(self._in_flight):
            self._forget(delivery_tag)

    def _forget(self, delivery_tag) -> None:
        claimed = self._in_flight.pop(delivery_tag, None)
        if claimed is not None:
            claimed.unlink(missing_ok=True)

    def _reclaim_orphans(self) -> None:
        """Return messages claimed by processes that died before acking them."""
        root = self._queue_folder.parent / "in-flight"
        if not root.is_dir():
            return
        for folder in root.iterdir():
            if folder.name.isdigit() and int(folder.name) != os.getpid() and not _process_alive(int(folder.name)):
                for message in folder.iterdir():
                    os.replace(message, self._queue_folder / message.name)
                folder.rmdir()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class AtomicFilesystemTransport(filesystem.Transport):
    """kombu keeps declared exchanges and bindings in one state per process. Shared between
    threads, it lets one thread see a binding another has recorded but not yet written to the
    binding file, skip writing it, and publish a message that then routes nowhere. Each
    connection keeps its own state instead; the binding file (written under a lock) is the
    single source of truth for routing."""

    Channel = AtomicFilesystemChannel

    def __init__(self, client, **kwargs) -> None:
        super().__init__(client, **kwargs)
        self.state = BrokerState()


def filesystem_folders(url: str) -> dict[str, str]:
    """Transport options for ``filesystem:///path``: one queue folder and a control folder under path."""
    root = Path(urlparse(url).path or "var/broker")
    queue_folder = root / "queue"
    control = root / "control"
    for folder in (queue_folder, control):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue_folder),
        "data_folder_out": str(queue_folder),
        "control_folder": str(control),
        "polling_interval": POLLING_INTERVAL,
    }


def is_amqp(url: str) -> bool:
    return url.startswith(("amqp://", "amqps://", "pyamqp://"))


def open_connection(url: str) -> Connection:
    """A kombu connection for ``url``: RabbitMQ with publisher confirms, or the filesystem folder."""
    if url.startswith("filesystem://"):
        options = filesystem_folders(url)
        return Connection(
            transport=AtomicFilesystemTransport, transport_options=options, polling_interval=POLLING_INTERVAL
        )
    if url.startswith("memory://"):
        return Connection(url)
    return Connection(url, transport_options={"confirm_publish": True}, heartbeat=30, connect_timeout=5)


def topology_for(url: str, namespace: str) -> Topology:
    """Quorum queues on RabbitMQ; plain queues on transports that have no such thing."""
    return Topology(namespace=namespace, quorum=is_amqp(url))
