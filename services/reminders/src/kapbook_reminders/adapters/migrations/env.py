"""Alembic environment: the shared runner with this service's engine and metadata."""
from kapbook_platform.migrations import run_migrations

run_migrations()
