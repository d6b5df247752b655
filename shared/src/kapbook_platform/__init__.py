"""Kapbook's common package: what crosses a boundary, and the plumbing every service shares.

- ``contracts``: marshmallow schemas for events and shared HTTP bodies, the CloudEvents envelope.
- ``messaging``: the kombu topology, the transports, the transactional outbox and the idempotent consumer.
- ``config``, ``logs``, ``database``, ``web``: typed configuration, JSON logging, SQLAlchemy engines,
  and the Flask pieces (error shape, health checks, OpenAPI, correlation ids).
"""
