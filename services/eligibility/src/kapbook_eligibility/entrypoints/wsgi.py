"""gunicorn entry point: ``gunicorn 'kapbook_eligibility.entrypoints.wsgi:create_app()'``."""
from kapbook_eligibility.entrypoints.app import create_app

__all__ = ["create_app"]
