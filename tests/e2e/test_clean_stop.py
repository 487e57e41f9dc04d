"""A server asked to stop under load stops: readers are told to resume, and the process ends promptly."""

from __future__ import annotations

import signal
import socket
import threading
import time
from contextlib import ExitStack

import httpx2 as httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from feeds.broadcast.writers import CLOSE_RESUME
from tests.fixtures import servers

pytestmark = pytest.mark.django_db(transaction=True)

READERS = 20
LOADERS = 8
STOP_WITHIN_SECONDS = 10


def keep_asking(url: str, paths: list[str], stop: threading.Event, answered: list[int]) -> None:
    """One client of the crowd: requests without pause, through Django and around it."""
    with httpx.Client(base_url=url, timeout=5) as client:
        while not stop.is_set():
            for path in paths:
                try:
                    client.get(path)
                    answered.append(1)
                except httpx.HTTPError:
                    if stop.is_set():
                        return


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_under_load_ends_promptly_and_readers_are_told_to_resume(start_daphne, live_feed, signum):
    server = start_daphne()
    slug = live_feed.slug
    sockets = ExitStack()
    readers = [
        sockets.enter_context(
            connect(f"{server.ws_url}/ws/feeds/{slug}/?after={live_feed.seq}", open_timeout=10)
        )
        for _ in range(READERS)
    ]
    stop = threading.Event()
    answered: list[int] = []
    # Pages Django renders (API list, an order that is never kept), a kept page, health, 404s.
    paths = ["/api/feeds/", f"/feeds/{slug}/", f"/feeds/{slug}/?order=oldest", "/healthz", "/api/nope/"]
    loaders = [
        threading.Thread(target=keep_asking, args=(server.url, paths, stop, answered), daemon=True)
        for _ in range(LOADERS)
    ]
    for loader in loaders:
        loader.start()
    try:
        deadline = time.monotonic() + 20
        while len(answered) < 50 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(answered) >= 50, "the server did not answer the crowd before the stop"

        server.process.send_signal(signum)
        sent = time.monotonic()
        codes = []
        for reader in readers:
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    reader.recv(timeout=STOP_WITHIN_SECONDS)
            codes.append(closed.value.rcvd.code if closed.value.rcvd else None)
        server.process.wait(timeout=STOP_WITHIN_SECONDS)
        took = time.monotonic() - sent
    finally:
        stop.set()
        for loader in loaders:
            loader.join(timeout=10)
        sockets.close()
    assert took < STOP_WITHIN_SECONDS
    assert codes == [CLOSE_RESUME] * READERS


def test_sigint_stops_a_server_a_script_started_in_the_background(server_env, tmp_path, live_feed):
    """A shell starting `livefeed.serve &` from a script leaves SIGINT ignored; asked with SIGINT
    to stop, the server still stops and tells its readers to resume."""
    with servers.daphne_server(server_env, tmp_path / "daphne.log", sigint=signal.SIG_IGN) as server:
        with connect(f"{server.ws_url}/ws/feeds/{live_feed.slug}/?after={live_feed.seq}") as reader:
            server.process.send_signal(signal.SIGINT)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    reader.recv(timeout=STOP_WITHIN_SECONDS)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_RESUME
        assert server.process.wait(timeout=STOP_WITHIN_SECONDS) is not None


def test_a_stopping_server_closes_its_kept_alive_http_connections(start_daphne, live_feed):
    """Once told to stop, the server answers nothing more on connections kept alive from before:
    a page that was told to resume must not take the stopping server's answers for a sign that
    it is up (and its WebSocket blocked) while its new sockets are refused."""
    server = start_daphne()
    # A reader that never answers the close frame keeps the server in its grace period.
    silent = socket.create_connection(("127.0.0.1", server.port))
    silent.sendall(
        f"GET /ws/feeds/{live_feed.slug}/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    assert silent.recv(4096).startswith(b"HTTP/1.1 101")
    with httpx.Client(base_url=server.url, timeout=5) as page:
        assert page.get("/healthz").status_code == 200  # positive control: kept alive, answered
        server.process.send_signal(signal.SIGTERM)
        silent.settimeout(STOP_WITHIN_SECONDS)
        assert silent.recv(2)[:1] == b"\x88"  # the close frame: the server is stopping
        with pytest.raises(httpx.TransportError):
            page.get("/healthz")
        assert server.process.poll() is None, "asked while the server was still in its grace period"
    silent.close()
    assert server.process.wait(timeout=STOP_WITHIN_SECONDS) is not None
