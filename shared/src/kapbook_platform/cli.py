"""CLI commands every service offers the same way."""
from __future__ import annotations

from collections.abc import Callable

import click

from kapbook_platform.messaging.consumer import dead_letter_rows
from kapbook_platform.runtime import ServiceRuntime


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
