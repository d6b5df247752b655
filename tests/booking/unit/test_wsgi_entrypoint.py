"""The gunicorn entry point builds the app, then freezes what start-up allocated."""
from __future__ import annotations

import gc

from kapbook_booking.bootstrap import bootstrap
from kapbook_booking.config import BookingConfig
from kapbook_booking.entrypoints.wsgi import create_app


def test_the_app_starts_and_its_start_up_objects_are_frozen(tmp_path):
    container = bootstrap(BookingConfig(database_url=f"sqlite:///{tmp_path / 'booking.db'}", var_dir=tmp_path, env="test"))
    try:
        app = create_app(container)
        assert gc.get_freeze_count() > 0
        assert app.extensions["kapbook_booking"] is container
        assert app.test_client().get("/healthz").status_code == 200
    finally:
        gc.unfreeze()
        container.runtime.engine.dispose()
