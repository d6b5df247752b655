"""The event backbone: topology, transports, transactional outbox and idempotent consumers."""
