"""``kapbook-booking``: migrate, seed the demo clinic, manage staff tokens, run the workers."""
from __future__ import annotations

import sys

import click
from marshmallow import ValidationError

from kapbook_booking.adapters.passwords import common_passwords
from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.domain.errors import BookingError
from kapbook_booking.domain.staff_passwords import password_problems
from kapbook_booking.service_layer.demo import seed_demo_clinic
from kapbook_booking.service_layer.staff import issue_staff_token
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
@click.option("--password", "ask_password", is_flag=True, help="Also set their console password (asked twice, not echoed)")
@click.option("--password-stdin", is_flag=True, help="Also set their console password, read from the first line of standard input")
def create_staff(name: str, email: str, role: str, ask_password: bool, password_stdin: bool) -> None:
    """Create a staff member (or reuse one by email), optionally set their password, and print a new
    bearer token once."""
    password = _password_option(ask_password, password_stdin)
    container = bootstrap()
    issued = issue_staff_token(container.runtime.sessions, container.runtime.outbox, name, email, role, utc_now())
    if password is not None:
        _refusing_errors(lambda: container.accounts.set_password(email, password))
    click.echo(f"Staff member {name} <{email}> ({role}); token id {issued.credential_id}")
    if password is not None:
        click.echo("Password set.")
    click.echo("Bearer token (shown once; store it in a password manager):")
    click.echo(issued.token)


@cli.command("set-password")
@click.option("--email", required=True, callback=plain_text, help="The staff member's work email")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input")
def set_password(email: str, password_stdin: bool) -> None:
    """Set a staff member's console password (asked twice unless --password-stdin)."""
    password = _password_option(not password_stdin, password_stdin)
    _refusing_errors(lambda: bootstrap().accounts.set_password(email, password))
    click.echo(f"Password set for {email}.")


def _password_option(ask: bool, from_stdin: bool) -> str | None:
    """The password the options ask for, checked against the policy before anything is written."""
    if ask and from_stdin:
        raise click.UsageError("Use either --password or --password-stdin.")
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif ask:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        return None
    problems = password_problems(password, common_passwords())
    if problems:
        raise click.BadParameter(" ".join(problems), param_hint="password")
    return password


def _refusing_errors(action) -> None:
    """Run ``action``; a refusal (no such staff member, weak password) is a message, not a traceback."""
    try:
        action()
    except BookingError as error:
        raise click.ClickException(error.message) from None


cli.add_command(relay_and_consumer_worker(bootstrap, "booking-worker", consumes="Consume screening events"))
cli.add_command(dead_letters_command(lambda: bootstrap().runtime))


if __name__ == "__main__":
    cli()
