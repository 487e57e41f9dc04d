"""Faults with real processes: nothing lost, nothing stuck."""

from __future__ import annotations

import json
import socket
import threading
import time
from base64 import b64encode
from os import urandom

import pytest
from websockets.sync.client import connect

from tests.e2e.test_processes import post, server_entries
from tests.fixtures import servers
from tests.fixtures.readers import FeedState
from tests.fixtures.resuming import ResumingReader

pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {timeout} s")
        time.sleep(0.05)


def assert_each_change_once_in_order(state: FeedState, *, first: int, last: int) -> None:
    assert state.seqs == list(range(first, last + 1)), "every seq once, in order, no gap"


def open_raw_reader(port: int, path: str) -> tuple[socket.socket, bytes]:
    """A WebSocket reader with a tiny receive buffer that will stop reading: the handshake only."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", port))
    raw.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {b64encode(urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    received = b""
    while b"\r\n\r\n" not in received:
        received += raw.recv(4096)
    head, _, rest = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    return raw, rest


def text_frames(data: bytes) -> list[str]:
    """The complete text frames at the start of what a server sent."""
    frames, position = [], 0
    while len(data) - position >= 2:
        opcode, length, start = data[position] & 0x0F, data[position + 1] & 0x7F, position + 2
        if length == 126:
            length, start = int.from_bytes(data[start : start + 2], "big"), start + 2
        elif length == 127:
            length, start = int.from_bytes(data[start : start + 8], "big"), start + 8
        if len(data) - start < length:
            break
        if opcode == 1:
            frames.append(data[start : start + length].decode())
        position = start + length
    return frames


def test_reader_that_stops_reading_is_disconnected_and_resumes_without_loss(
    start_daphne, redis, publisher, live_feed, tmp_path
):
    # A page larger than the changes a resume can miss here, so the reader resumes change by change
    # (further behind, it would be told to reload: tests/test_consumers.py).
    server = start_daphne(
        REDIS_URL=redis.url,
        LIVEFEED_READER_BUFFER_BYTES=str(512 * 1024),
        LOG_LEVEL="WARNING",
        LIVEFEED_PAGE_SIZE="200",
    )
    slug, first = live_feed.slug, live_feed.seq + 1
    slow, already = open_raw_reader(server.port, f"/ws/feeds/{slug}/?after={live_feed.seq}")
    log = tmp_path / "daphne-1.log"
    body = "Lap chart update. " * 5000  # 90 KB a change (the API takes up to 100,000 characters)
    fast_state = FeedState(last_seq=live_feed.seq)
    with connect(
        f"{server.ws_url}/ws/feeds/{slug}/?after={live_feed.seq}", open_timeout=10, max_size=None
    ) as fast:
        for number in range(80):
            last = post(server, publisher, f"{slug}/entries/", headline=f"Lap {number}", body=body).json()[
                "seq"
            ]
            fast_state.receive_until(fast, last, timeout=30)  # the others keep getting every change
            if "Disconnecting a reader" in log.read_text():  # logged by the fast path only
                break
        else:
            pytest.fail("the reader that stopped reading was never disconnected")
        # Changes after the disconnection still reach the others.
        last = post(server, publisher, f"{slug}/entries/", headline="After", body="Short").json()["seq"]
        fast_state.receive_until(fast, last)
    assert_each_change_once_in_order(fast_state, first=first, last=last)

    # The slow reader reads what it was sent before the server gave up on it, then resumes.
    data = already
    slow.settimeout(10)
    try:
        while chunk := slow.recv(65536):
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    slow.close()
    state = FeedState(last_seq=live_feed.seq)
    for text in text_frames(data):
        state.apply(json.loads(text))
    assert state.last_seq < last
    with connect(
        f"{server.ws_url}/ws/feeds/{slug}/?after={state.last_seq}", open_timeout=10, max_size=None
    ) as again:
        state.receive_until(again, last, timeout=30)
    assert_each_change_once_in_order(state, first=first, last=last)
    assert state.visible() == fast_state.visible()


def test_posting_survives_redis_going_down_and_every_reader_ends_with_every_entry(
    start_daphne, publisher, live_feed, tmp_path
):
    with servers.redis_server(tmp_path / "redis") as redis:
        a = start_daphne(REDIS_URL=redis.url)
        b = start_daphne(REDIS_URL=redis.url)
        slug, first = live_feed.slug, live_feed.seq + 1
        readers = [ResumingReader(server.ws_url, slug, after=live_feed.seq) for server in (a, b, b)]
        for reader in readers:
            reader.start()
            assert reader.connected.wait(10)
        try:
            seq = post(a, publisher, f"{slug}/entries/", headline="Before", body="Redis is up").json()["seq"]
            for reader in readers:
                reader.wait_for(seq)

            redis.process.kill()
            redis.process.wait()
            # Editors keep posting: each entry is saved and confirmed.
            during = [
                post(
                    server, publisher, f"{slug}/entries/", headline=f"During {n}", body="Redis is down"
                ).json()
                for n, server in enumerate((a, b, a))
            ]
            assert [entry["seq"] for entry in during] == [seq + 1, seq + 2, seq + 3]
            # Readers are told live delivery broke, and reconnect.
            wait_until(
                lambda: all(4012 in reader.closes for reader in readers),
                timeout=30,
                what="readers told to resume",
            )

            with servers.redis_server(tmp_path / "redis", port=redis.port):
                last = post(b, publisher, f"{slug}/entries/", headline="After", body="Redis is back").json()[
                    "seq"
                ]
                for reader in readers:
                    reader.wait_for(last)
                expected = server_entries(a, slug)
        finally:
            for reader in readers:
                reader.stop()
    for reader in readers:
        assert_each_change_once_in_order(reader.state, first=first, last=last)
        assert reader.state.visible() == expected


def test_concurrent_writers_on_two_processes_reach_every_reader_in_seq_order(
    start_daphne, redis, publisher, live_feed
):
    a = start_daphne(REDIS_URL=redis.url)
    b = start_daphne(REDIS_URL=redis.url)
    slug, first = live_feed.slug, live_feed.seq + 1
    writers, per_writer = 4, 5  # one page of entries (the API shows the newest 20)
    last = live_feed.seq + writers * per_writer
    readers = [ResumingReader(server.ws_url, slug, after=live_feed.seq) for server in (a, a, b, b)]
    for reader in readers:
        reader.start()
        assert reader.connected.wait(10)
    failures: list[BaseException] = []

    def write(number: int) -> None:
        try:
            for index in range(per_writer):
                server = (a, b)[(number + index) % 2]
                post(
                    server, publisher, f"{slug}/entries/", headline=f"Writer {number}.{index}", body="Report"
                )
        except BaseException as error:  # reported below, so a failing writer fails the test
            failures.append(error)

    threads = [threading.Thread(target=write, args=(number,)) for number in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert failures == []
        for reader in readers:
            reader.wait_for(last)
    finally:
        for reader in readers:
            reader.stop()
    expected = server_entries(a, slug)
    assert len(expected) == writers * per_writer
    for reader in readers:
        assert reader.closes == [] and reader.connections == 1
        assert_each_change_once_in_order(reader.state, first=first, last=last)
        assert reader.state.visible() == expected
