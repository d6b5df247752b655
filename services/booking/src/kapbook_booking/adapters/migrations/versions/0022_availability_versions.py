"""availability versions: counters every write an availability answer depends on bumps (triggers)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 17:40:00

A trigger on each table an availability answer reads bumps a counter in the writing transaction:
keyed by the row's clinician (bookings, hours, overrides, time off, calendar busy times, which
clinician offers which type) or by "clinic" (clinicians, rooms, locations, appointment types).
Triggers rather than application code, so no write path (a console form, a CLI, a migration, a
script) can forget it. Removing a hold bumps nothing: it only ever frees a time, and a cached
answer that still hides it for a few seconds is safe; this also keeps the sweep that removes
lapsed holds of many clinicians at once from taking their counters' row locks.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: Union[str, Sequence[str], None] = "0021"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# table -> the column naming the clinician it concerns (None: the whole clinic)
WATCHED = {
    "bookings": "clinician_id",
    "working_hours": "clinician_id",
    "schedule_overrides": "clinician_id",
    "time_off": "clinician_id",
    "calendar_busy": "clinician_id",
    "clinician_appointment_types": "clinician_id",
    "clinicians": None,
    "rooms": None,
    "locations": None,
    "appointment_types": None,
}

PG_FUNCTION = """
CREATE FUNCTION kapbook_bump_availability() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keys text[];
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'bookings' AND to_jsonb(OLD) ->> 'status' = 'held' THEN
        RETURN NULL;
    END IF;
    IF TG_NARGS = 0 THEN
        keys := ARRAY['clinic'];
    ELSIF TG_OP = 'INSERT' THEN
        keys := ARRAY[to_jsonb(NEW) ->> TG_ARGV[0]];
    ELSIF TG_OP = 'DELETE' THEN
        keys := ARRAY[to_jsonb(OLD) ->> TG_ARGV[0]];
    ELSE
        keys := ARRAY[to_jsonb(NEW) ->> TG_ARGV[0], to_jsonb(OLD) ->> TG_ARGV[0]];
    END IF;
    INSERT INTO availability_versions (key, version)
        SELECT DISTINCT coalesce(k, 'clinic'), 1 FROM unnest(keys) AS k
        ON CONFLICT (key) DO UPDATE SET version = availability_versions.version + 1;
    RETURN NULL;
END
$$
"""


def _sqlite_bump(key: str) -> str:
    return (f"INSERT INTO availability_versions (key, version) VALUES (coalesce({key}, 'clinic'), 1) "
            "ON CONFLICT (key) DO UPDATE SET version = version + 1;")


def _sqlite_triggers(table: str, column: str | None) -> list[str]:
    new, old = (f"NEW.{column}", f"OLD.{column}") if column else ("'clinic'", "'clinic'")
    skip_holds = " WHEN OLD.status <> 'held'" if table == "bookings" else ""
    changed = _sqlite_bump(new) + (f" {_sqlite_bump(old)}" if column else "")
    return [
        f"CREATE TRIGGER tr_{table}_availability_insert AFTER INSERT ON {table} BEGIN {_sqlite_bump(new)} END",
        f"CREATE TRIGGER tr_{table}_availability_update AFTER UPDATE ON {table} BEGIN {changed} END",
        f"CREATE TRIGGER tr_{table}_availability_delete AFTER DELETE ON {table}{skip_holds} BEGIN {_sqlite_bump(old)} END",
    ]


def upgrade() -> None:
    op.create_table(
        "availability_versions",
        sa.Column("key", sa.String(36), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for table, column in WATCHED.items():
            argument = f"'{column}'" if column else ""
            op.execute(f"CREATE TRIGGER tr_{table}_availability AFTER INSERT OR UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION kapbook_bump_availability({argument})")
    else:
        for table, column in WATCHED.items():
            for statement in _sqlite_triggers(table, column):
                op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in WATCHED:
        if postgresql:
            op.execute(f"DROP TRIGGER tr_{table}_availability ON {table}")
        else:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER tr_{table}_availability_{action}")
    if postgresql:
        op.execute("DROP FUNCTION kapbook_bump_availability()")
    op.drop_table("availability_versions")
