"""A real webhook receiver for tests: a threaded HTTP server that verifies, deduplicates and records.

It does what the Standard Webhooks docs tell receivers to do: verify each request with the
``standardwebhooks`` library (any failure answers 400), then process each ``webhook-id`` once.
"""
from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    verified: bool


@dataclass
class WebhookReceiver:
    """Start with ``start()``; ``secrets`` are the whsec_ secrets it accepts (any one must verify)."""

    secrets: list[str] = field(default_factory=list)
    port: int = 0
    answer: int = 200  # status to answer after a verified request (503: "down" but listening)
    location: str | None = None  # a Location header (with a 3xx answer: a redirect)
    delay: float = 0.0  # seconds to wait before answering (a slow receiver)
    answer_bytes: int = 0  # size of the answer's body (a receiver that answers far too much)
    requests: list[Received] = field(default_factory=list)
    processed: dict[str, dict] = field(default_factory=dict)  # webhook-id -> payload, first time only
    tls: ssl.SSLContext | None = None  # serve https (the URL then names localhost, the certificate's name)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        if self.tls is not None:
            return f"https://localhost:{self.port}/hooks"
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> "WebhookReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                headers = {name.lower(): value for name, value in self.headers.items()}
                payload = receiver.verify(body, headers)
                receiver.requests.append(Received(headers, body, payload is not None))
                time.sleep(receiver.delay)
                if payload is None:
                    self.send_response(400)
                elif receiver.answer >= 300:
                    self.send_response(receiver.answer)
                else:
                    receiver.processed.setdefault(headers["webhook-id"], payload)
                    self.send_response(receiver.answer)
                if receiver.location:
                    self.send_header("location", receiver.location)
                self.send_header("content-length", str(receiver.answer_bytes))
                self.end_headers()
                try:
                    for _ in range(receiver.answer_bytes // 65536):
                        self.wfile.write(b"x" * 65536)
                    self.wfile.write(b"x" * (receiver.answer_bytes % 65536))
                except OSError:
                    pass  # the sender stopped reading: exactly what a size cap does

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def verify(self, body: str, headers: dict[str, str]) -> dict | None:
        """The payload if any accepted secret verifies the request, else None."""
        for secret in self.secrets:
            try:
                return Webhook(secret).verify(body, headers)
            except Exception:
                continue
        return None

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def free_port() -> int:
    """A port nothing listens on (yet): a receiver that is down."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def localhost_tls(folder) -> tuple[ssl.SSLContext, str]:
    """A server TLS context with a fresh self-signed certificate for ``localhost``, and the PEM path
    a client trusts it by."""
    import datetime
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = Path(folder)
    cert_path, key_path = folder / "receiver.pem", folder / "receiver.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context, str(cert_path)
