"""Staff authentication shared by every service, and the audit log.

The booking service issues staff bearer tokens and stores only their SHA-256 digest. It
publishes each issue and revocation as an event; every other service keeps a projection of
those digests in its own ``staff_credentials`` table, so each service authenticates staff
without reading another's database.

One module a concern; only ``web`` imports Flask, so use cases import the others:

- ``tokens``: making a bearer token and its digest.
- ``principal``: ``ROLES``, ``StaffPrincipal`` and resolving a token to one.
- ``tables``: the ``staff_credentials`` and ``audit_log`` tables every service has.
- ``audit``: writing an audit log row.
- ``projection``: the event handlers that keep ``staff_credentials`` up to date.
- ``web``: the request's staff member, ``require_staff`` and ``require_service_token`` (Flask).
"""
