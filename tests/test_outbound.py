"""URLs typed by editors are only requested when they lead somewhere public."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from feeds import outbound


def refusing_private() -> override_settings:
    from django.conf import settings

    return override_settings(LIVEFEED={**settings.LIVEFEED, "OUTBOUND_ALLOW_PRIVATE": False})


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "javascript:alert(1)", "http:///nohost"]
)
def test_only_http_urls_with_a_host_are_accepted(url: str) -> None:
    with pytest.raises(outbound.RefusedURL):
        outbound.check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",
        "http://localhost/",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
    ],
)
def test_private_and_local_addresses_are_refused_by_default_in_production(url: str) -> None:
    with refusing_private(), pytest.raises(outbound.RefusedURL, match="LIVEFEED_OUTBOUND_ALLOW_PRIVATE"):
        outbound.check_url(url)


def test_the_validator_names_the_problem_for_the_admin_form() -> None:
    with refusing_private(), pytest.raises(ValidationError) as raised:
        outbound.validate_public_url("http://192.168.0.10/timing.json")
    assert "private or local address" in raised.value.messages[0]


def test_a_refused_url_is_never_requested() -> None:
    with refusing_private(), pytest.raises(outbound.RefusedURL):
        outbound.request("GET", "http://127.0.0.1:1/", timeout=1)


def test_private_addresses_may_be_allowed_by_the_operator() -> None:
    from django.conf import settings

    with override_settings(LIVEFEED={**settings.LIVEFEED, "OUTBOUND_ALLOW_PRIVATE": True}):
        outbound.check_url("http://127.0.0.1:8080/timing.json")


class Answers(BaseHTTPRequestHandler):
    """/slow trickles a byte every 0.2 s for 4 s; /huge sends 3 MB; /gzip a compressed body."""

    def do_GET(self) -> None:
        if self.path == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "20")
            self.end_headers()
            for _ in range(20):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.2)
        elif self.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Length", str(3_000_000))
            self.end_headers()
            self.wfile.write(b"x" * 3_000_000)
        else:
            body = gzip.compress(b'{"flag": "green"}')
            self.send_response(201)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def answers() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_server_trickling_its_answer_is_cut_off_at_the_timeout(answers: str) -> None:
    with pytest.raises(outbound.TooSlow):
        outbound.request("GET", f"{answers}/slow", timeout=1)


def test_an_answer_larger_than_allowed_is_refused(answers: str) -> None:
    with pytest.raises(outbound.ResponseTooLarge):
        outbound.request("GET", f"{answers}/huge", timeout=10, max_bytes=1_000_000)


def test_a_compressed_answer_arrives_decoded_with_its_status(answers: str) -> None:
    response = outbound.request("GET", f"{answers}/gzip", timeout=10)
    assert response.status_code == 201 and response.is_success
    assert response.json() == {"flag": "green"}


class Rebinding:
    """A resolver for `rebind.example` that answers a public address first and 127.0.0.1 after,
    and a network that records every connection and lets none leave this machine."""

    PUBLIC = "8.8.8.8"

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, public_reaches: int | None = None) -> None:
        import socket

        self.lookups = 0
        self.connections: list[tuple[str, int]] = []
        real_getaddrinfo, real_connect = socket.getaddrinfo, socket.create_connection

        def getaddrinfo(host, port, *args, **kwargs):
            if host != "rebind.example":
                return real_getaddrinfo(host, port, *args, **kwargs)
            self.lookups += 1
            address = self.PUBLIC if self.lookups == 1 else "127.0.0.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

        def create_connection(address, *args, **kwargs):
            host, port = address[0], address[1]
            self.connections.append((host, port))
            if host == self.PUBLIC and public_reaches is not None:
                # Stands in for the public server: the local one plays it, reached by address.
                return real_connect(("127.0.0.1", public_reaches), *args, **kwargs)
            if host not in {"127.0.0.1", "localhost"}:
                raise ConnectionRefusedError(f"no traffic leaves this machine ({host})")
            return real_connect(address, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket, "create_connection", create_connection)


@pytest.fixture
def private_server() -> Iterator[tuple[ThreadingHTTPServer, list[dict[str, str]]]]:
    """A server on 127.0.0.1 standing for something private; records the headers of each request."""
    seen: list[dict[str, str]] = []

    class Private(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            seen.append(dict(self.headers))
            self.send_response(200)
            self.send_header("Content-Length", "7")
            self.end_headers()
            self.wfile.write(b"secrets")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Private)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, seen
    server.shutdown()
    server.server_close()


def test_a_name_that_rebinds_to_a_private_address_after_the_check_is_not_reached(monkeypatch, private_server):
    server, seen = private_server
    port = server.server_address[1]
    network = Rebinding(monkeypatch)
    with refusing_private(), pytest.raises(outbound.httpx2.ConnectError):
        outbound.request("GET", f"http://rebind.example:{port}/timing.json", timeout=5)
    assert seen == []
    assert network.connections == [(Rebinding.PUBLIC, port)]


def test_the_checked_address_is_reached_with_the_host_name_in_the_host_header(monkeypatch, private_server):
    server, seen = private_server
    port = server.server_address[1]
    network = Rebinding(monkeypatch, public_reaches=port)
    with refusing_private():
        response = outbound.request("GET", f"http://rebind.example:{port}/timing.json", timeout=5)
    assert response.content == b"secrets" and str(response.url) == f"http://rebind.example:{port}/timing.json"
    assert network.lookups == 1 and network.connections == [(Rebinding.PUBLIC, port)]
    [headers] = seen
    assert headers["Host"] == f"rebind.example:{port}"


def test_https_to_the_checked_address_keeps_the_host_name_for_sni_and_the_certificate() -> None:
    target, headers, extensions = outbound._pinned("https://live.example.org/hook?x=1", "2001:db8::1")
    assert target == "https://[2001:db8::1]/hook?x=1"
    assert headers == {"Host": "live.example.org"} and extensions == {"sni_hostname": "live.example.org"}
