"""Sends one webhook over HTTP, safely: the target is resolved and every address checked first.
``guarded_request`` is the same safe request for any method (the CalDAV client uses it too).

In production a target that resolves to a loopback, link-local, private, multicast or reserved
address is refused (server-side request forgery), unless its network is on the allowlist. The
request goes to the address that was checked (no second lookup an attacker could change), with
the host name kept for TLS and the Host header. Redirects are not followed, the timeout is short
and at most ``max_body`` bytes of the answer are read.
"""
from __future__ import annotations

import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3

from kapbook_booking.domain.webhooks import Address, Network, address_refusal, literal_address, url_problems


class UnsafeTarget(ValueError):
    """The URL may not be called (its reason is safe to show an admin)."""


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    error: str | None
    duration_ms: int


def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to (the literal itself for an IP)."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise UnsafeTarget(f"The host name does not resolve ({error.strerror}).") from None
    found = {literal_address(info[4][0].split("%")[0]) for info in infos}
    return [address for address in found if address is not None]


@dataclass(frozen=True)
class TargetGuard:
    """Which targets may be called: production refuses internal addresses outside ``allowed``."""

    production: bool
    allowed: Sequence[Network] = ()

    def check_url(self, url: str) -> None:
        """Refuse a malformed URL, or one written as a refused IP address (no lookup)."""
        problems = url_problems(url, self.production)
        if problems:
            raise UnsafeTarget(problems[0])
        literal = literal_address(urlsplit(url).hostname or "")
        if literal is not None:
            self._check_address(literal)

    def addresses(self, url: str) -> list[Address]:
        """Resolve the URL's host and check every address; raises UnsafeTarget."""
        self.check_url(url)
        parts = urlsplit(url)
        found = resolve(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        if not found:
            raise UnsafeTarget("The host name has no address.")
        for address in found:
            self._check_address(address)
        return sorted(found, key=lambda address: address.version)

    def _check_address(self, address: Address) -> None:
        if not self.production:
            return
        reason = address_refusal(address, self.allowed)
        if reason:
            raise UnsafeTarget(f"The URL points at a {reason} address ({address}), which is refused in production.")


@dataclass(frozen=True)
class WebhookSender:
    guard: TargetGuard
    timeout: float = 5.0
    max_body: int = 64 * 1024
    ca_file: str | None = None  # a private CA for in-house receivers; None: the system's CAs

    def post(self, url: str, body: str, headers: Mapping[str, str]) -> SendResult:
        """POST ``body``; never raises: a refusal, a timeout or a broken connection is an error result."""
        started = time.monotonic()
        try:
            status = self._post(url, body.encode(), headers)
            return SendResult(status, None, _elapsed_ms(started))
        except UnsafeTarget as refusal:
            return SendResult(None, f"refused: {refusal}"[:300], _elapsed_ms(started))
        except Exception as error:  # any network failure is a failed attempt, retried later
            return SendResult(None, f"{type(error).__name__}: {error}"[:300], _elapsed_ms(started))

    def _post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        answer = guarded_request(self.guard, "POST", url, body, headers, timeout=self.timeout, max_body=self.max_body,
                                 ca_file=self.ca_file)
        return answer.status  # the body (at most max_body bytes of it) is read and dropped


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes  # at most the ``max_body`` asked for
    cut_off: bool  # the server sent more than that


def guarded_request(guard: TargetGuard, method: str, url: str, body: bytes | None, headers: Mapping[str, str], *,
                    timeout: float, max_body: int, ca_file: str | None = None) -> Answer:
    """One request to the address ``guard`` checked (raises UnsafeTarget), never following a
    redirect, reading at most ``max_body`` bytes of the answer. Network failures raise as urllib3 does."""
    parts = urlsplit(url)
    address = guard.addresses(url)[0]
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host_header = parts.netloc.rsplit("@", 1)[-1]
    limits = urllib3.Timeout(connect=timeout, read=timeout)
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            str(address), port, timeout=limits, retries=False, maxsize=1,
            server_hostname=parts.hostname, assert_hostname=parts.hostname,
            cert_reqs="CERT_REQUIRED", ca_certs=ca_file,
        )
    else:
        pool = urllib3.HTTPConnectionPool(str(address), port, timeout=limits, retries=False, maxsize=1)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    with pool:
        response = pool.urlopen(
            method, path, body=body, headers={**headers, "Host": host_header}, redirect=False,
            preload_content=False, retries=False,
        )
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_body:  # refused unread: no need to take in max_body bytes
                return Answer(response.status, dict(response.headers), b"", True)
            content = response.read(max_body + 1)
            return Answer(response.status, dict(response.headers), content[:max_body], len(content) > max_body)
        finally:
            response.release_conn()
            response.close()


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
