"""The body of every service's Alembic ``env.py``."""
from __future__ import annotations

from alembic import context


def run_migrations() -> None:
    """Run migrations online with the engine the service passed in ``config.attributes``."""
    config = context.config
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=config.attributes["target_metadata"],
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
