"""A database made by the first release of the schema upgrades with its messages intact, and back."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from kapbook_platform.runtime import alembic_config as platform_alembic_config
from kapbook_reminders.adapters import tables
from kapbook_reminders.bootstrap import bootstrap
from reminders_harness import reminders_config

pytestmark = pytest.mark.integration


def alembic_config(container) -> Config:
    return platform_alembic_config(container.runtime, tables.metadata, "kapbook_reminders.adapters.migrations")


def test_upgrade_from_0001_keeps_messages_and_downgrade_works(tmp_path, db, database_factory):
    container = bootstrap(reminders_config(tmp_path, database_factory("reminders"), 25))
    config = alembic_config(container)
    command.upgrade(config, "0001")
    now = datetime.now(UTC)
    with container.runtime.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO messages (id, dedupe_key, booking_id, kind, sequence, essential, recipient, status, due_at,"
                " context, attempts, created_at, updated_at) VALUES ('m1', 'b1:0:confirmation:at-booking', 'b1',"
                " 'confirmation', 0, true, 'a@example.org', 'scheduled', :now, '{}', 0, :now, :now)"
            ),
            {"now": now.replace(tzinfo=None) if container.runtime.engine.dialect.name == "sqlite" else now},
        )

    command.upgrade(config, "head")
    schema = inspect(container.runtime.engine)
    assert "claim_token" in {column["name"] for column in schema.get_columns("messages")}
    assert "booking_versions" in schema.get_table_names()
    with container.runtime.sessions() as session:
        (row,) = session.execute(tables.messages.select()).mappings().all()
    assert (row["id"], row["status"], row["claim_token"]) == ("m1", "scheduled", None)

    command.downgrade(config, "0001")
    assert "booking_versions" not in inspect(container.runtime.engine).get_table_names()
    container.runtime.engine.dispose()


def test_0003_adds_the_series_tables_and_downgrades_to_0002(tmp_path, db, database_factory):
    container = bootstrap(reminders_config(tmp_path, database_factory("reminders"), 25))
    config = alembic_config(container)
    command.upgrade(config, "0002")
    assert "series_sessions" not in inspect(container.runtime.engine).get_table_names()

    command.upgrade(config, "0003")
    names = set(inspect(container.runtime.engine).get_table_names())
    assert {"series_sessions", "covered_cancellations"} <= names
    assert {index["name"] for index in inspect(container.runtime.engine).get_indexes("series_sessions")} == {
        "ix_series_sessions_series"
    }

    command.downgrade(config, "0002")
    names = set(inspect(container.runtime.engine).get_table_names())
    assert not {"series_sessions", "covered_cancellations"} & names
    assert "booking_versions" in names
    container.runtime.engine.dispose()
