"""A live server pings every reader and lets go of one that stopped answering, so a reader whose
network silently died does not hold its socket (and its place under the address cap) for ever."""

from __future__ import annotations

import socket
import time

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

PING_INTERVAL = 1
PING_TIMEOUT = 3


def open_reader(port: int, slug: str) -> socket.socket:
    reader = socket.create_connection(("127.0.0.1", port))
    reader.sendall(
        f"GET /ws/feeds/{slug}/ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += reader.recv(1)
    assert head.startswith(b"HTTP/1.1 101")
    return reader


def frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each whole unmasked frame, as a server sends them (short payloads)."""
    found = []
    while len(data) >= 2 and len(data) >= 2 + (data[1] & 0x7F):
        length = data[1] & 0x7F
        found.append((data[0] & 0x0F, data[2 : 2 + length]))
        data = data[2 + length :]
    return found


def test_readers_are_pinged_and_a_silent_one_is_let_go(start_daphne, live_feed):
    server = start_daphne(args=("--ping-interval", str(PING_INTERVAL), "--ping-timeout", str(PING_TIMEOUT)))
    answering, silent = open_reader(server.port, live_feed.slug), open_reader(server.port, live_feed.slug)
    answering.settimeout(0.2)
    silent.settimeout(0.2)
    pings, silent_data, closed = 0, b"", False
    deadline = time.monotonic() + PING_INTERVAL + PING_TIMEOUT + 8
    while time.monotonic() < deadline and not closed:
        try:
            for opcode, payload in frames(answering.recv(4096)):
                if opcode == 0x9:  # a ping: answer with a masked pong (zero mask) carrying its payload
                    pings += 1
                    answering.sendall(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
        except TimeoutError:
            pass
        try:
            chunk = silent.recv(4096)
            silent_data += chunk
            closed = not chunk
        except TimeoutError:
            pass
        except ConnectionResetError:
            closed = True
    assert pings >= 2, "the answering reader was pinged, again and again"
    assert 0x9 in [opcode for opcode, _ in frames(silent_data)], "the silent reader was pinged too"
    assert closed, "the silent reader was let go"
    # The reader that answers is still served.
    answering.settimeout(2)
    answering.sendall(b"\x89\x80\0\0\0\0")  # our own ping: the server answers with a pong
    received = b""
    while 0xA not in [opcode for opcode, _ in frames(received)]:
        received += answering.recv(4096)
    answering.close()
    silent.close()
