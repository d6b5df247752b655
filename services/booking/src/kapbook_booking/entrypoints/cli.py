"""``kapbook-booking``: migrate, seed the demo clinic, manage staff accounts and tokens, run the workers."""
from __future__ import annotations

import sys
from datetime import timedelta

import click
from marshmallow import ValidationError

from kapbook_booking.adapters.passwords import common_passwords
from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.domain.errors import BookingError
from kapbook_booking.domain.staff_passwords import password_problems
from kapbook_booking.service_layer.demo import seed_demo_clinic
from kapbook_booking.service_layer.staff import issue_staff_token
from kapbook_booking.service_layer.calendars import calendar_loop
from kapbook_booking.service_layer.waitlist import waitlist_loop
from kapbook_booking.service_layer.webhooks import webhook_loop
from kapbook_platform.cli import dead_letters_command, relay_and_consumer_worker
from kapbook_platform.clock import utc_now
from kapbook_platform.contracts.schemas import no_control_characters
from kapbook_platform.staff.principal import ROLES
from kapbook_platform.staff.scopes import SCOPES


DEFAULT_TOKEN_DAYS = 90


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
@click.option("--expires-days", type=click.IntRange(1, 3650), default=DEFAULT_TOKEN_DAYS, show_default=True,
              help="The bearer token stops working after this many days")
@click.option("--clinician-id", default=None,
              help="Role clinician: link them to this clinician record, whose schedule they then manage")
@click.option("--scope", "scopes", type=click.Choice(SCOPES), multiple=True,
              help="What the token may do (repeat for several); none given: the role's full rights")
def create_staff(name: str, email: str, role: str, ask_password: bool, password_stdin: bool, expires_days: int,
                 clinician_id: str | None, scopes: tuple[str, ...]) -> None:
    """Create a staff member (or reuse one by email), optionally set their password, and print a new
    bearer token once."""
    if clinician_id and role != "clinician":
        raise click.BadParameter("only staff members with the clinician role are linked to a clinician", param_hint="--clinician-id")
    password = _password_option(ask_password, password_stdin)
    container = bootstrap()
    now = utc_now()
    issued = issue_staff_token(container.runtime.sessions, container.runtime.outbox, name, email, role, now,
                               expires_at=now + timedelta(days=expires_days),
                               signing_key=container.config.credential_signing_key, scopes=scopes or None)
    if password is not None:
        _refusing_errors(lambda: container.accounts.set_password(email, password))
    if clinician_id:
        _refusing_errors(lambda: container.accounts.link_clinician(None, issued.staff_id, clinician_id))
        click.echo(f"Linked to clinician {clinician_id}.")
    click.echo(f"Staff member {name} <{email}> ({role}); token id {issued.credential_id}; "
               f"scopes {', '.join(scopes) if scopes else 'all (full rights of the role)'}")
    if password is not None:
        click.echo("Password set.")
    click.echo(f"Bearer token (shown once; store it in a password manager; expires in {expires_days} days):")
    click.echo(issued.token)


@cli.command("list-tokens")
def list_tokens() -> None:
    """List the API tokens: id, status, who, role, issued, expires (tokens themselves are never stored)."""
    for token in bootstrap().tokens.tokens():
        expires = token["expires_at"].isoformat(timespec="minutes") if token["expires_at"] else "never"
        click.echo(f"{token['credential_id']}  {token['status']:<8} {token['staff_name']} <{token['email'] or '?'}>  "
                   f"{token['role']}  scopes {','.join(token['scopes']) if token['scopes'] else 'all'}  issued {token['issued_at'].isoformat(timespec='minutes')}  expires {expires}")


@cli.command("revoke-token")
@click.argument("credential_id")
def revoke_token(credential_id: str) -> None:
    """Revoke an API token by its id (see list-tokens); every service refuses it within seconds."""
    _refusing_errors(lambda: bootstrap().tokens.revoke("cli", credential_id))
    click.echo(f"Token {credential_id} revoked.")


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



def worker_loops(container) -> dict:
    """The booking worker also sends webhook deliveries, syncs connected calendars and pushes bookings to
    them, and offers freed times to the waitlist."""
    config = container.config
    return {
        "waitlist": waitlist_loop(container.waitlist, config.waitlist_interval, config.waitlist_sweep_seconds),
        "webhooks": webhook_loop(container.webhook_dispatcher, container.config.webhook_interval),
        "calendars": calendar_loop(container.calendar_sync, container.calendar_pusher, container.config.caldav_interval),
    }


cli.add_command(relay_and_consumer_worker(
    bootstrap, "booking-worker", consumes="Consume screening events", extra_loops=worker_loops,
))
cli.add_command(dead_letters_command(lambda: bootstrap().runtime))


if __name__ == "__main__":
    cli()
