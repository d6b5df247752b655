"""``kapbook-booking``: migrate, seed the demo clinic, manage staff tokens, run the workers."""
from __future__ import annotations

import click
from marshmallow import ValidationError

from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.service_layer.demo import seed_demo_clinic
from kapbook_booking.service_layer.staff import issue_staff_token
from kapbook_booking.service_layer.webhooks import webhook_loop
from kapbook_platform.cli import dead_letters_command, relay_and_consumer_worker
from kapbook_platform.clock import utc_now
from kapbook_platform.contracts.schemas import no_control_characters
from kapbook_platform.staff.principal import ROLES


@click.group()
def cli() -> None:
    """Kapbook booking service."""


@cli.command()
def migrate() -> None:
    """Apply database migrations."""
    container = bootstrap()
    container.migrate()
    click.echo("booking: database is up to date")


@cli.command("seed-demo")
def seed_demo() -> None:
    """Seed the demo clinic (does nothing if it is there already)."""
    container = bootstrap()
    seeded = seed_demo_clinic(container.runtime.sessions)
    click.echo("booking: demo clinic seeded" if seeded else "booking: demo clinic already present")


def plain_text(_context: click.Context, _parameter: click.Parameter, value: str) -> str:
    """The schemas' check on a CLI option: a name or email with a control character is refused."""
    try:
        no_control_characters(value)
    except ValidationError as error:
        raise click.BadParameter(" ".join(error.messages)) from None
    return value


@cli.command("create-staff")
@click.option("--name", required=True, callback=plain_text, help="Full name")
@click.option("--email", required=True, callback=plain_text, help="Work email (one staff member per email)")
@click.option("--role", type=click.Choice(ROLES), required=True)
def create_staff(name: str, email: str, role: str) -> None:
    """Create a staff member (or reuse one by email) and print a new bearer token once."""
    container = bootstrap()
    issued = issue_staff_token(container.runtime.sessions, container.runtime.outbox, name, email, role, utc_now())
    click.echo(f"Staff member {name} <{email}> ({role}); token id {issued.credential_id}")
    click.echo("Bearer token (shown once; store it in a password manager):")
    click.echo(issued.token)


def webhook_loops(container) -> dict:
    """The booking worker also sends webhook deliveries."""
    return {"webhooks": webhook_loop(container.webhook_dispatcher, container.config.webhook_interval)}


cli.add_command(relay_and_consumer_worker(
    bootstrap, "booking-worker", consumes="Consume screening events", extra_loops=webhook_loops,
))
cli.add_command(dead_letters_command(lambda: bootstrap().runtime))


if __name__ == "__main__":
    cli()
