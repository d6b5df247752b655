"""``kapbook-reminders``: migrate, run the consumer and the dispatcher."""
from __future__ import annotations

import click

from kapbook_platform.logs import configure_logging
from kapbook_platform.messaging.consumer import dead_letter_rows
from kapbook_platform.runtime import consumer_loop, run_until_signalled
from kapbook_reminders.bootstrap import bootstrap


@click.group()
def cli() -> None:
    """Kapbook reminders service."""


@cli.command()
def migrate() -> None:
    """Apply database migrations."""
    bootstrap().migrate()
    click.echo("reminders: database is up to date")


@cli.command()
@click.option("--consume/--no-consume", default=True, help="Consume booking and screening events")
@click.option("--dispatch/--no-dispatch", default=True, help="Send due messages")
def worker(consume: bool, dispatch: bool) -> None:
    """Run the event consumer and the email dispatcher until interrupted."""
    container = bootstrap()
    configure_logging("reminders-worker", container.config.log_level)
    loops = {}
    if consume:
        loops["consumer"] = consumer_loop(container.runtime, container.event_handlers())
    if dispatch:
        loops["dispatcher"] = lambda stop: container.dispatcher.run(stop, container.config.dispatch_interval)
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
