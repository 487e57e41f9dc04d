"""`livefeed.serve` with several processes on one port: all serve, changes reach all, stops are clean."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from feeds.broadcast.writers import CLOSE_RESUME
from tests.fixtures import servers

pytestmark = pytest.mark.django_db(transaction=True)

READERS = 40


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def wait_until(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not within {timeout} s"
        time.sleep(0.05)


@contextmanager
def supervisor(env: dict[str, str], log: Path, processes: int = 2) -> Iterator[tuple[subprocess.Popen, str]]:
    port = servers.free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "livefeed.serve", "--port", str(port), "--processes", str(processes)],
        cwd=servers.ROOT,
        # INFO: each server process logs when it accepts from the shared socket.
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "livefeed.settings", **env, "LOG_LEVEL": "INFO"},
        stdout=open(log, "a"),
        stderr=subprocess.STDOUT,
    )
    try:
        servers.wait_for_port(port, process=process)
        wait_until(lambda: len(children(process.pid)) == processes, timeout=30, what="server processes")
        # The socket accepts as soon as it is open; a process serves once it has adopted it.
        wait_until(
            lambda: log.read_text().count("Listening on TCP address") >= processes, timeout=60, what="serving"
        )
        yield process, f"127.0.0.1:{port}"
    finally:
        servers.stop(process, timeout=15)


def test_every_process_serves_readers_and_hears_every_change(
    server_env, tmp_path, mode, publisher, live_feed
):
    with (
        supervisor({**server_env, **mode}, tmp_path / "serve.log") as (process, address),
        ExitStack() as stack,
    ):
        readers = []
        workers = children(process.pid)
        for serving in workers:
            # Only `serving` runs while these readers connect: it must accept them from the socket.
            others = [pid for pid in workers if pid != serving]
            for pid in others:
                os.kill(pid, signal.SIGSTOP)
            try:
                readers += [
                    stack.enter_context(
                        connect(
                            f"ws://{address}/ws/feeds/{live_feed.slug}/?after={live_feed.seq}",
                            open_timeout=20,
                        )
                    )
                    for _ in range(READERS // len(workers))
                ]
            finally:
                for pid in others:
                    os.kill(pid, signal.SIGCONT)
        response = httpx.post(
            f"http://{address}/api/feeds/{live_feed.slug}/entries/",
            json={"headline": "Every core", "body": "Heard everywhere"},
            headers={"Authorization": f"Bearer {publisher.token}"},
            timeout=10,
        )
        assert response.status_code == 201
        for reader in readers:
            message = json.loads(reader.recv(timeout=10))
            assert message["type"] == "entry.created" and message["entry"]["headline"] == "Every core"


def test_a_server_process_that_dies_is_replaced_while_the_port_keeps_answering(
    server_env, tmp_path, live_feed
):
    with supervisor(server_env, tmp_path / "serve.log") as (process, address):
        first, second = children(process.pid)
        os.kill(first, signal.SIGKILL)
        for _ in range(20):
            assert httpx.get(f"http://{address}/feeds/{live_feed.slug}/", timeout=10).status_code == 200
        wait_until(
            lambda: len(children(process.pid)) == 2 and first not in children(process.pid),
            timeout=15,
            what="a replacement process",
        )
        assert second in children(process.pid)


def test_sigterm_stops_every_process_and_tells_readers_to_resume(server_env, tmp_path, live_feed):
    with supervisor(server_env, tmp_path / "serve.log") as (process, address), ExitStack() as stack:
        readers = [
            stack.enter_context(connect(f"ws://{address}/ws/feeds/{live_feed.slug}/?after={live_feed.seq}"))
            for _ in range(READERS)
        ]
        workers = children(process.pid)
        process.send_signal(signal.SIGTERM)
        codes = []
        for reader in readers:
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    reader.recv(timeout=10)
            codes.append(closed.value.rcvd.code if closed.value.rcvd else None)
        assert process.wait(timeout=10) == 0
    assert codes == [CLOSE_RESUME] * READERS
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
