"""A local SMTP server that keeps every email in a Maildir (``make run``'s stand-in for a mail provider)."""
from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox


def start_mail_sink(maildir: Path, host: str = "127.0.0.1", port: int = 8025) -> Controller:
    """Start an SMTP server on ``host:port`` writing every message to ``maildir``; call ``.stop()`` to end it."""
    maildir.parent.mkdir(parents=True, exist_ok=True)
    for folder in ("tmp", "new", "cur"):
        (maildir / folder).mkdir(parents=True, exist_ok=True)
    controller = Controller(Mailbox(str(maildir)), hostname=host, port=port)
    controller.start()
    return controller


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--maildir", type=Path, default=Path("var/mail"))
    args = parser.parse_args()
    controller = start_mail_sink(args.maildir, args.host, args.port)
    print(f"SMTP sink on {args.host}:{args.port}, keeping every email in {args.maildir}/new", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
