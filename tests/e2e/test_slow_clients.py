"""Clients that open sockets and never finish a request do not starve anyone else."""

from __future__ import annotations

import json
import socket

import httpx2 as httpx
import pytest
from websockets.sync.client import connect

pytestmark = pytest.mark.django_db(transaction=True)

STALLED = 300


def test_stalled_handshakes_do_not_starve_readers_or_editors(start_daphne, publisher, live_feed):
    server = start_daphne()
    stalled = []
    try:
        for n in range(STALLED):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            # Half a request line or half a WebSocket upgrade, then silence.
            sock.sendall(
                b"GET /feeds/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                if n % 2
                else b"GET /ws/feeds/x/ HTTP/1.1\r\nUpgr"
            )
            stalled.append(sock)
        with connect(
            f"{server.ws_url}/ws/feeds/{live_feed.slug}/?after={live_feed.seq}", open_timeout=10
        ) as reader:
            posted = httpx.post(
                f"{server.url}/api/feeds/{live_feed.slug}/entries/",
                json={"headline": "Still flowing"},
                headers={"Authorization": f"Bearer {publisher.token}"},
                timeout=10,
            )
            assert posted.status_code == 201
            assert json.loads(reader.recv(timeout=10))["entry"]["headline"] == "Still flowing"
        assert httpx.get(f"{server.url}/feeds/{live_feed.slug}/", timeout=10).status_code == 200
    finally:
        for sock in stalled:
            sock.close()
