"""Requests Livefeed makes to URLs that editors typed in (timing sources, webhooks, hubs).

An editor's URL must not become a way to reach the server's own network: unless the operator
allows it (`LIVEFEED_OUTBOUND_ALLOW_PRIVATE`, on by default only when DEBUG is), a URL whose host
resolves to a loopback, private, link-local or otherwise non-public address is refused, both when
it is saved and again just before each request; the request then connects to the address that was
checked, so a name that resolves differently a moment later (DNS rebinding) cannot lead elsewhere.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx2
from django.conf import settings
from django.core.exceptions import ValidationError

USER_AGENT = "Livefeed (+https://github.com/livefeed/livefeed)"
MAX_RESPONSE_BYTES = 2_000_000
# Headers that describe the body as it came over the wire, not the decoded copy returned.
WIRE_HEADERS = {"content-encoding", "content-length", "transfer-encoding"}


class RefusedURL(ValueError):
    """The URL may not be requested: wrong scheme, no host, or a non-public address."""


class ResponseTooLarge(httpx2.HTTPError):
    """The answer's body passed the size the caller allows (counted after decompression)."""


class TooSlow(httpx2.TimeoutException):
    """The whole exchange outlasted its timeout, though each read came in time."""


def check_url(url: str) -> None:
    """Raise RefusedURL unless `url` is http(s) with a host the server may reach."""
    public_address(url)


def public_address(url: str) -> str | None:
    """Check `url` as `check_url` does and return the address it was checked at, to connect to;
    None when the operator allows private addresses (then nothing is resolved here)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise RefusedURL("Only http:// and https:// URLs can be used.")
    if not parts.hostname:
        raise RefusedURL("The URL has no host name.")
    if settings.LIVEFEED["OUTBOUND_ALLOW_PRIVATE"]:
        return None
    try:
        answers = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise RefusedURL(f"The host {parts.hostname} could not be found.") from error
    addresses = [str(info[4][0]) for info in answers]
    for address in addresses:
        if not ipaddress.ip_address(address.split("%", 1)[0]).is_global:
            raise RefusedURL(
                f"{parts.hostname} is a private or local address; "
                "set LIVEFEED_OUTBOUND_ALLOW_PRIVATE=true to allow it."
            )
    if not addresses:
        raise RefusedURL(f"The host {parts.hostname} could not be found.")
    return addresses[0]


def _pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL with its host replaced by the checked address, and the Host header and TLS server
    name that keep the request, and the certificate check, about the original host."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    original_host = f"[{host}]" if ":" in host else host
    host_header = f"{original_host}:{parts.port}" if parts.port else original_host
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return parts._replace(netloc=netloc).geturl(), {"Host": host_header}, extensions


def validate_public_url(url: str) -> None:
    """Model and form validator: the same rule as `check_url`, as a ValidationError."""
    try:
        check_url(url)
    except RefusedURL as error:
        raise ValidationError(str(error), code="refused_url") from error


def request(
    method: str, url: str, *, timeout: float, max_bytes: int = MAX_RESPONSE_BYTES, **options: Any
) -> httpx2.Response:
    """Make one request to an editor-supplied URL; redirects are not followed.

    `timeout` bounds the whole exchange, so a server that trickles its answer a byte at a time
    cannot hold a worker longer; the body is read up to `max_bytes`. Raises RefusedURL for a URL
    that may not be reached and httpx2.HTTPError (TooSlow, ResponseTooLarge…) when the request fails.
    """
    address = public_address(url)
    headers = {"User-Agent": USER_AGENT, **options.pop("headers", {})}
    target = url
    extensions: dict[str, Any] = {}
    if address is not None:
        target, host_header, extensions = _pinned(url, address)
        headers.update(host_header)
    deadline = time.monotonic() + timeout
    with httpx2.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        with client.stream(method, target, headers=headers, extensions=extensions, **options) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise ResponseTooLarge(f"The answer is larger than {max_bytes} bytes.")
                if time.monotonic() > deadline:
                    raise TooSlow(f"The answer took longer than {timeout:g} s.")
            if time.monotonic() > deadline:
                raise TooSlow(f"The answer took longer than {timeout:g} s.")
    kept = [
        (name, value) for name, value in response.headers.multi_items() if name.lower() not in WIRE_HEADERS
    ]
    # Callers see the URL they asked for, not the address it was reached at.
    asked = httpx2.Request(method, url, headers=response.request.headers)
    return httpx2.Response(response.status_code, headers=kept, content=bytes(body), request=asked)
