"""Who the client is behind our own reverse proxy (the ``make run`` gateway, nginx in docker compose).

Rate limits count per client address and HSTS needs the scheme the client used; behind a proxy
both are in ``X-Forwarded-For`` and ``X-Forwarded-Proto``. Only the entries the trusted proxies
added are believed (``KAPBOOK_TRUSTED_PROXIES``, counted from the right), so a client cannot pick
its own address by sending the header itself. With 0 the headers are ignored.
"""
from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from kapbook_platform.config import ConfigError, PlatformConfig


def install_proxy_fix(app: Flask, config: PlatformConfig) -> None:
    hops = config.trusted_proxies
    if not 0 <= hops <= 5:
        raise ConfigError(f"KAPBOOK_TRUSTED_PROXIES must be between 0 and 5, not {hops}")
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
