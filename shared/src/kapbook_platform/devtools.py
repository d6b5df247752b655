"""Developer tooling: autogenerate an Alembic revision for a service (``make migration``)."""
from __future__ import annotations

import sys
import tempfile
from importlib import import_module, resources

from alembic import command
from alembic.config import Config

from kapbook_platform.database import create_db_engine


def autogenerate(service: str, message: str) -> None:
    """Compare the service's metadata with its migrations on a scratch SQLite file; write the difference."""
    tables = import_module(f"kapbook_{service}.adapters.tables")
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_db_engine(f"sqlite:///{scratch}/scratch.db")
        config = Config()
        config.set_main_option("script_location", str(resources.files(f"kapbook_{service}.adapters.migrations")))
        config.attributes["engine"] = engine
        config.attributes["target_metadata"] = tables.metadata
        command.upgrade(config, "head")
        command.revision(config, message=message, autogenerate=True)


if __name__ == "__main__":
    autogenerate(sys.argv[1], sys.argv[2])
