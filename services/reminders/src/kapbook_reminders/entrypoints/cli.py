"""``kapbook-reminders``: migrate, run the consumer and the dispatcher."""
from __future__ import annotations

import click

from kapbook_platform.cli import dead_letters_command, heartbeat_path
from kapbook_platform.logs import configure_logging
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
        loops["consumer"] = consumer_loop(container.runtime, container.handlers)
    if dispatch:
        loops["dispatcher"] = lambda stop: container.dispatcher.run(stop, container.config.dispatch_interval)
    run_until_signalled(loops, heartbeat_path=heartbeat_path(container))


cli.add_command(dead_letters_command(lambda: bootstrap().runtime))


if __name__ == "__main__":
    cli()
