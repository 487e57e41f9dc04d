"""Requests Livefeed makes to URLs that editors typed in (timing sources, webhooks, hubs).

An editor's URL must not become a way to reach the server's own network: unless the operator
allows it (`LIVEFEED_OUTBOUND_ALLOW_PRIVATE`, on by default only when DEBUG is), a URL whose host
resolves to a loopback, private, link-local or otherwise non-public address is refused, both when
it is saved and again just before each request.
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
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise RefusedURL("Only http:// and https:// URLs can be used.")
    if not parts.hostname:
        raise RefusedURL("The URL has no host name.")
    if settings.LIVEFEED["OUTBOUND_ALLOW_PRIVATE"]:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError) as error:
        raise RefusedURL(f"The host {parts.hostname} could not be found.") from error
    for address in addresses:
        if not ipaddress.ip_address(address.split("%", 1)[0]).is_global:
            raise RefusedURL(
                f"{parts.hostname} is a private or local address; "
                "set LIVEFEED_OUTBOUND_ALLOW_PRIVATE=true to allow it."
            )


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
    check_url(url)
    headers = {"User-Agent": USER_AGENT, **options.pop("headers", {})}
    deadline = time.monotonic() + timeout
    with httpx2.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        with client.stream(method, url, headers=headers, **options) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise ResponseTooLarge(f"The answer is larger than {max_bytes} bytes.")
                if time.monotonic() > deadline:
                    raise TooSlow(f"The answer took longer than {timeout:g} s.")
            if time.monotonic() > deadline:
                raise TooSlow(f"The answer took longer than {timeout:g} s.")
    kept = [(name, value) for name, value in response.headers.multi_items() if name.lower() not in WIRE_HEADERS]
    return httpx2.Response(response.status_code, headers=kept, content=bytes(body), request=response.request)
