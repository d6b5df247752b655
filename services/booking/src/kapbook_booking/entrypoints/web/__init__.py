"""What the booking service serves to people rather than programs: the demo clinic page with the
embeddable widget, the patient's manage page and the staff console, plus the widget's public
catalogue endpoint."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def register_web(app: Flask, api: Api) -> None:
    """Attach the pages and the widget's endpoint to the booking app."""
    from kapbook_booking.entrypoints.web import console, my_pages, patient_pages, public_catalog, waitlist_pages

    api.register_blueprint(public_catalog.blp)
    app.register_blueprint(patient_pages.assets)
    app.register_blueprint(patient_pages.bp)
    app.register_blueprint(console.bp)
    app.register_blueprint(my_pages.bp)
    app.register_blueprint(waitlist_pages.bp)
