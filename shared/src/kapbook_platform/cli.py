"""CLI commands every service offers the same way."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import click

from kapbook_platform.logs import configure_logging
from kapbook_platform.messaging.consumer import EventHandler, dead_letter_rows
from kapbook_platform.runtime import ServiceRuntime, consumer_loop, relay_loop, run_until_signalled


class WorkerContainer(Protocol):
    """What a worker needs of a service's container."""

    config: Any  # the service's typed config: log_level, var_dir, service_name
    runtime: ServiceRuntime
    handlers: Mapping[str, EventHandler]


def heartbeat_path(container: WorkerContainer) -> Path:
    """The file a worker touches while alive (compose health checks read it)."""
    return container.config.var_dir / "heartbeats" / container.config.service_name


def relay_and_consumer_worker(
    load_container: Callable[[], WorkerContainer], process_name: str, consumes: str,
    extra_loops: Callable[[Any], Mapping[str, Callable]] | None = None,
) -> click.Command:
    """``worker``: the outbox relay and the event consumer of a service, until interrupted.

    ``extra_loops(container)`` names more loops the service runs in the same process (booking:
    webhook deliveries).
    """

    @click.command("worker")
    @click.option("--relay/--no-relay", default=True, help="Publish the outbox")
    @click.option("--consume/--no-consume", default=True, help=consumes)
    def worker(relay: bool, consume: bool) -> None:
        """Run the outbox relay and the event consumer until interrupted."""
        container = load_container()
        configure_logging(process_name, container.config.log_level)
        loops = {}
        if relay:
            loops["relay"] = relay_loop(container.runtime)
        if consume:
            loops["consumer"] = consumer_loop(container.runtime, container.handlers)
        if extra_loops is not None:
            loops.update(extra_loops(container))
        run_until_signalled(loops, heartbeat_path=heartbeat_path(container))

    return worker


def dead_letters_command(load_runtime: Callable[[], ServiceRuntime]) -> click.Command:
    """``dead-letters``: list the events a service gave up on, newest first."""

    @click.command("dead-letters")
    @click.option("--limit", default=20, show_default=True, help="How many to show")
    def dead_letters(limit: int) -> None:
        """List the events this service gave up on, newest first."""
        runtime = load_runtime()
        rows = dead_letter_rows(runtime.engine, runtime.tables["dead_letters"], limit)
        if not rows:
            click.echo("No dead letters.")
        for row in rows:
            click.echo(f"{row['dead_at']:%Y-%m-%d %H:%M:%S} {row['type'] or '-'} {row['event_id'] or '-'}: {row['reason']}")

    return dead_letters
