"""A reminders consumer process that dies in the middle of its first handler (for crash tests).

Usage: python crashing_consumer.py DATABASE_URL BROKER_URL NAMESPACE VAR_DIR
The handler does its database work, then the process exits abruptly (os._exit): no commit,
no ack, exactly like a crash or kill -9.
"""
import os
import sys
from pathlib import Path

from kapbook_platform.contracts import EventType
from kapbook_reminders.bootstrap import bootstrap
from kapbook_reminders.config import RemindersConfig

CRASH_EXIT_CODE = 17


def main() -> None:
    database_url, broker_url, namespace, var_dir = sys.argv[1:5]
    config = RemindersConfig(database_url=database_url, broker_url=broker_url, broker_namespace=namespace,
                             var_dir=Path(var_dir), env="test")
    container = bootstrap(config)
    handlers = container.handlers
    plan = handlers[EventType.BOOKING_CREATED]

    def crash_mid_handler(session, envelope):
        plan(session, envelope)
        session.flush()
        os._exit(CRASH_EXIT_CODE)

    handlers[EventType.BOOKING_CREATED] = crash_mid_handler
    container.runtime.consumer(handlers).run()


if __name__ == "__main__":
    main()
