"""``kapbook-eligibility``: migrate, rotate encryption keys, run the workers."""
from __future__ import annotations

import click

from kapbook_eligibility.adapters.encryption import SealedValueUnreadable
from kapbook_eligibility.bootstrap import bootstrap
from kapbook_platform.cli import dead_letters_command, relay_and_consumer_worker


@click.group()
def cli() -> None:
    """Kapbook eligibility service."""


@cli.command()
def migrate() -> None:
    """Apply database migrations and put the packaged default rule set in force if none is."""
    bootstrap().migrate()
    click.echo("eligibility: database is up to date")


@cli.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt stored answers, results and notes with the newest key (the first in ELIGIBILITY_ENCRYPTION_KEYS).

    Rotation: prepend a new key and restart the service, run this, then remove the old key.
    """
    try:
        report = bootstrap().rotate_keys()
    except SealedValueUnreadable as error:
        # Batches before this one are done; fix the keys and run again.
        raise click.ClickException(f"{error}; is an old key missing from ELIGIBILITY_ENCRYPTION_KEYS?") from None
    click.echo(
        f"eligibility: re-encrypted {report.screenings_rotated} screening(s), {report.check_ins_rotated} check-in(s) "
        f"and {report.notes_rotated} review note(s) "
        f"with the newest key; {report.already_current} were already encrypted with it"
    )


cli.add_command(relay_and_consumer_worker(bootstrap, "eligibility-worker", consumes="Consume staff credential events"))
cli.add_command(dead_letters_command(lambda: bootstrap().runtime))


if __name__ == "__main__":
    cli()
