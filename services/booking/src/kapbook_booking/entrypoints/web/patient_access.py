"""How a returning patient's browser is recognised: the session cookie, CSRF tokens of the /my forms,
and the sign-in rate limits. Shared by the /my pages and the widget's patient API.

The cookie holds a random session id (the server keeps only its hash): HttpOnly, SameSite=Lax so
it survives the click from an email, Secure when Kapbook is served over https or in production.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import Response, g, request

from kapbook_booking.domain.patients import normalise_email
from kapbook_booking.entrypoints.wiring import container
from kapbook_platform.web.ratelimit import client_key, hit_extra_limit

SESSION_COOKIE = "kapbook_patient"
CSRF_COOKIE = "kapbook_patient_csrf"
SESSION_SECONDS = 30 * 60  # the browser may drop it with the server's idle limit; the server decides
LINK_SENT = "If that address has appointments with us, a link is on its way."


def secure_cookies() -> bool:
    config = container().config
    return config.public_base_url.startswith("https://") or config.is_production


def session_id() -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def signed_in_email() -> str | None:
    """The signed-in patient's email (their session's idle time restarts), cached for the request."""
    if "patient_email" not in g:
        g.patient_email = container().patients.signed_in_email(session_id())
    return g.patient_email


def set_session_cookie(response: Response, value: str) -> None:
    response.set_cookie(SESSION_COOKIE, value, max_age=SESSION_SECONDS, httponly=True, samesite="Lax",
                        secure=secure_cookies(), path="/")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax", secure=secure_cookies())


def _csrf_nonce() -> str:
    if "patient_csrf_nonce" not in g:
        g.patient_csrf_nonce = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    return g.patient_csrf_nonce


def _csrf_mac(key: str) -> str:
    return hmac.new(key.encode(), b"kapbook.patient.csrf:" + _csrf_nonce().encode(), hashlib.sha256).hexdigest()


def csrf_token() -> str:
    """An HMAC of a random cookie under the first BOOKING_CSRF_KEYS key: a cross-site form cannot know it."""
    return _csrf_mac(container().config.effective_csrf_keys[0])


def csrf_ok() -> bool:
    """The form's token matches under any key of the rotation list."""
    if CSRF_COOKIE not in request.cookies:
        return False
    sent = request.form.get("csrf_token", "").encode()
    return any(hmac.compare_digest(sent, _csrf_mac(key).encode()) for key in container().config.effective_csrf_keys)


def keep_csrf_cookie(response: Response) -> Response:
    """Set the CSRF cookie if this request made its nonce."""
    if "patient_csrf_nonce" in g and request.cookies.get(CSRF_COOKIE) != g.patient_csrf_nonce:
        response.set_cookie(CSRF_COOKIE, g.patient_csrf_nonce, httponly=True, samesite="Lax",
                            secure=secure_cookies(), path="/my")
    return response


def sign_in_refused_for() -> int | None:
    """Seconds to wait when this IP or this email asked for too many links; None if allowed.

    Counted whether or not the address is known, so a refusal says nothing about it.
    """
    config = container().config
    email = normalise_email(_typed_email())
    email_key = hashlib.sha256(email.encode("utf-8", "surrogatepass")).hexdigest()
    return (hit_extra_limit(config.sign_in_limit_per_ip, "kapbook-booking-sign-in-ip", client_key(request.remote_addr))
            or hit_extra_limit(config.sign_in_limit_per_email, "kapbook-booking-sign-in-email", email_key))


def _typed_email() -> str:
    if request.is_json:
        body = request.get_json(silent=True)
        return str(body.get("email", "")) if isinstance(body, dict) else ""
    return request.form.get("email", "")
