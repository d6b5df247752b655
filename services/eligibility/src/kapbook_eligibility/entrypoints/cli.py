"""``kapbook-eligibility``: migrate and run the workers."""
from __future__ import annotations

import click

from kapbook_eligibility.bootstrap import bootstrap
from kapbook_platform.logs import configure_logging
from kapbook_platform.messaging.consumer import dead_letter_rows
from kapbook_platform.runtime import consumer_loop, relay_loop, run_until_signalled


@click.group()
def cli() -> None:
    """Kapbook eligibility service."""


@cli.command()
def migrate() -> None:
    """Apply database migrations."""
    bootstrap().migrate()
    click.echo("eligibility: database is up to date")


@cli.command()
@click.option("--relay/--no-relay", default=True, help="Publish the outbox")
@click.option("--consume/--no-consume", default=True, help="Consume staff credential events")
def worker(relay: bool, consume: bool) -> None:
    """Run the outbox relay and the event consumer until interrupted."""
    container = bootstrap()
    configure_logging("eligibility-worker", container.config.log_level)
    loops = {}
    if relay:
        loops["relay"] = relay_loop(container.runtime)
    if consume:
        loops["consumer"] = consumer_loop(container.runtime, container.event_handlers())
    run_until_signalled(loops, heartbeat_path=container.config.var_dir / "heartbeats" / container.config.service_name)


@cli.command("dead-letters")
@click.option("--limit", default=20, show_default=True)
def dead_letters(limit: int) -> None:
    """List the events this service gave up on, newest first."""
    container = bootstrap()
    rows = dead_letter_rows(container.runtime.engine, container.runtime.tables["dead_letters"], limit)
    if not rows:
        click.echo("No dead letters.")
    for row in rows:
        click.echo(f"{row['dead_at']:%Y-%m-%d %H:%M:%S} {row['type'] or '-'} {row['event_id'] or '-'}: {row['reason']}")


if __name__ == "__main__":
    cli()
