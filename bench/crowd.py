"""Connects and reconnects in bulk: a race start, then a server restart, with 5,000 readers.

1. Arrival: every reader, within one second, loads the live page and then opens its socket with
   `?after=` the seq of that page; the figure is how long until all are live (target: 5 s).
2. Restart: the server is stopped (readers are told to resume), an entry is posted while it is
   down, and the server is started again. Readers resume as the reader script does, with
   exponential backoff and jitter (`static/feeds/connection.js`: a delay drawn between half and
   all of 0.5 s x 2^attempt, at most 30 s), each from its last seq. The figures are how long
   until every reader has the new entry (target: 10 s from the restart) and the failed
   handshakes, in all and in the worst second (no burst).

    python -m bench.crowd [--readers 5000] [--processes N] [--redis]

Readers are bare asyncio clients on uvloop, spread over several processes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing
import os
import random
import signal
import sys
import time
from collections import Counter
from contextlib import ExitStack
from multiprocessing.connection import Connection
from typing import Any

from bench.http import DEMO_SLUG, Site
from bench.processes import HOST, raise_file_limit, stop

MIN_DELAY = 0.5
MAX_DELAY = 30.0
CONNECT_TIMEOUT = 30.0
SEQ_FIELD = b'"seq":'
POST_WHILE_DOWN = f"""
from django.contrib.auth import get_user_model
from feeds import services
from feeds.models import Feed
feed = Feed.objects.get(slug="{DEMO_SLUG}")
user = get_user_model().objects.filter(is_superuser=True).first() or get_user_model().objects.create_superuser(
    "crowd", "crowd@example.invalid", None)
entry = services.create_entry(feed=feed, by=user, headline="While the server restarted", body="Resumed")
print(entry.seq)
"""


def backoff(attempt: int) -> float:
    """The reader script's delay: between half and all of the ceiling, which doubles per attempt."""
    ceiling = min(MAX_DELAY, MIN_DELAY * 2**attempt)
    return ceiling / 2 + random.random() * ceiling / 2


class Reader:
    """One reader: connects, follows, and on any close resumes from its last seq after a backoff."""

    def __init__(self, crowd: Crowd, after: int) -> None:
        self.crowd = crowd
        self.last_seq = after
        self.live_at: float | None = None

    async def run(self, delay: float) -> None:
        await asyncio.sleep(delay)
        attempt = 0
        while not self.crowd.stopping:
            try:
                await asyncio.wait_for(self.load_page(), CONNECT_TIMEOUT)
                break
            except (OSError, ConnectionError, TimeoutError) as error:
                self.crowd.failures.append((time.time(), f"page load {type(error).__name__}"))
                await asyncio.sleep(backoff(attempt))
                attempt += 1
        attempt = 0
        while not self.crowd.stopping:
            try:
                reader, writer, rest = await asyncio.wait_for(self.handshake(), CONNECT_TIMEOUT)
            except (OSError, ConnectionError, TimeoutError) as error:
                self.crowd.failures.append((time.time(), type(error).__name__))
                await asyncio.sleep(backoff(attempt))
                attempt += 1
                continue
            attempt = 0
            if self.live_at is None:
                self.live_at = time.time()
            self.crowd.live += 1
            try:
                await self.follow(reader, rest)
            finally:
                self.crowd.live -= 1
                writer.close()
            if not self.crowd.stopping:
                await asyncio.sleep(backoff(attempt))
                attempt += 1

    async def load_page(self) -> None:
        """The page load before the socket: the whole live page, read to its end."""
        reader, writer = await asyncio.open_connection(self.crowd.host, self.crowd.port)
        writer.write(
            (
                f"GET /feeds/{DEMO_SLUG}/ HTTP/1.1\r\nHost: {self.crowd.host}:{self.crowd.port}\r\n"
                "X-Forwarded-Proto: https\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
            ).encode()
        )
        answer = await reader.read()
        writer.close()
        if not answer.startswith(b"HTTP/1.1 200"):
            raise ConnectionError(answer.split(b"\r\n", 1)[0].decode(errors="replace"))

    async def handshake(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
        reader, writer = await asyncio.open_connection(self.crowd.host, self.crowd.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /ws/feeds/{DEMO_SLUG}/?after={self.last_seq} HTTP/1.1\r\n"
                f"Host: {self.crowd.host}:{self.crowd.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            writer.close()
            raise ConnectionError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
        return reader, writer, b""

    async def follow(self, reader: asyncio.StreamReader, buffer: bytes) -> None:
        """Read frames until the server closes; note the highest seq seen."""
        while True:
            header = await reader.readexactly(2)
            opcode, length = header[0] & 0x0F, header[1] & 0x7F
            if length == 126:
                length = int.from_bytes(await reader.readexactly(2))
            elif length == 127:
                length = int.from_bytes(await reader.readexactly(8))
            payload = await reader.readexactly(length)
            if opcode == 8:
                return
            if opcode == 1:
                at = payload.find(SEQ_FIELD)
                if at >= 0:
                    digits = payload[at + len(SEQ_FIELD) :].split(b",", 1)[0].split(b"}", 1)[0]
                    self.last_seq = max(self.last_seq, int(digits))


class Crowd:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.readers: list[Reader] = []
        self.failures: list[tuple[float, str]] = []
        self.live = 0
        self.stopping = False
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, count: int, after: int, spread: float) -> None:
        for _ in range(count):
            reader = Reader(self, after)
            self.readers.append(reader)
            self.tasks.append(asyncio.get_running_loop().create_task(self.guard(reader, spread)))

    async def guard(self, reader: Reader, spread: float) -> None:
        try:
            await reader.run(random.random() * spread)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass

    def status(self, target: int) -> dict[str, Any]:
        failures, self.failures = self.failures, []
        return {
            "live": self.live,
            "live_at": [reader.live_at for reader in self.readers if reader.live_at is not None],
            "caught_up": sum(1 for reader in self.readers if reader.last_seq >= target),
            "failures": failures,
        }


async def obey(conn: Connection, host: str, port: int) -> None:
    crowd = Crowd(host, port)
    loop = asyncio.get_running_loop()
    while True:
        command, *args = await loop.run_in_executor(None, conn.recv)
        if command == "start":
            crowd.start(*args)
            conn.send("started")
        elif command == "status":
            conn.send(crowd.status(*args))
        elif command == "stop":
            crowd.stopping = True
            for task in crowd.tasks:
                task.cancel()
            return


def reader_process(conn: Connection, host: str, port: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The server first; not idle-only like bench.readers: these readers' connects are the load measured.
    os.nice(10)
    import uvloop

    uvloop.run(obey(conn, host, port))


class Readers:
    def __init__(self, workers: int, host: str, port: int, stack: ExitStack) -> None:
        self.pipes: list[Connection] = []
        for _ in range(workers):
            parent, child = multiprocessing.Pipe()
            process = multiprocessing.Process(target=reader_process, args=(child, host, port), daemon=True)
            process.start()
            stack.callback(stop, process)
            self.pipes.append(parent)
        stack.callback(self.stop)

    def start(self, count: int, after: int, spread: float) -> None:
        shares = [
            count // len(self.pipes) + (1 if i < count % len(self.pipes) else 0)
            for i in range(len(self.pipes))
        ]
        for pipe, share in zip(self.pipes, shares, strict=True):
            pipe.send(("start", share, after, spread))
        for pipe in self.pipes:
            pipe.recv()

    def status(self, target: int) -> dict[str, Any]:
        total: dict[str, Any] = {"live": 0, "live_at": [], "caught_up": 0, "failures": []}
        for pipe in self.pipes:
            pipe.send(("status", target))
        for pipe in self.pipes:
            part = pipe.recv()
            for key in total:
                total[key] += part[key]
        return total

    def stop(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(("stop",))
            except OSError:
                pass


def worst_second(failures: list[tuple[float, str]]) -> int:
    per_second = Counter(int(at) for at, _ in failures)
    return max(per_second.values(), default=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=4, help="reader processes")
    parser.add_argument("--processes", type=int, default=0, help="server processes (default: serve's own)")
    parser.add_argument("--redis", action="store_true")
    options = parser.parse_args(argv)
    raise_file_limit()
    with ExitStack() as stack:
        # Every simulated reader connects from 127.0.0.1: no per-address cap.
        env = {"LIVEFEED_MAX_CONNECTIONS_PER_ADDRESS": "1000000"}
        site = Site(stack, argparse.Namespace(redis=options.redis, processes=options.processes, env=env))
        seq = site.get(f"/api/feeds/{DEMO_SLUG}/").json()["feed"]["seq"]
        readers = Readers(options.workers, HOST, site.port, stack)
        print(
            f"{options.readers:,} readers, {os.cpu_count()} cores, {'Redis' if options.redis else 'embedded mode'}"
        )

        # 1. Arrival within one second.
        started = time.time()
        readers.start(options.readers, seq, 1.0)
        deadline = started + 30
        status = readers.status(seq)
        failures = list(status["failures"])
        while status["live"] < options.readers and time.time() < deadline:
            time.sleep(0.1)
            status = readers.status(seq)
            failures += status["failures"]
        took = max(status["live_at"], default=started) - started
        all_live = status["live"] >= options.readers
        print(
            f"arrival: {status['live']:,}/{options.readers:,} live, the last {took:.2f} s after the crowd began to arrive "
            f"(target <= 5 s: {'met' if all_live and took <= 5 else 'NOT met'}); failed page loads and handshakes {len(failures)}"
        )

        # 2. Restart, with an entry posted while the server is down.
        restarted = time.time()
        stop(site.server)
        target = int(site.manage("shell", "-c", POST_WHILE_DOWN).strip().splitlines()[-1])
        site.start_server()
        ready = time.time()
        status = readers.status(target)
        while_down = [failure for failure in status["failures"] if failure[0] < ready]
        failures = [failure for failure in status["failures"] if failure[0] >= ready]
        while status["caught_up"] < options.readers and time.time() < ready + 60:
            time.sleep(0.1)
            status = readers.status(target)
            failures += status["failures"]
        caught_up = time.time()
        done = status["caught_up"] >= options.readers
        print(
            f"restart: down for {ready - restarted:.1f} s (stop, an entry posted, start); "
            f"{status['caught_up']:,}/{options.readers:,} caught up {caught_up - ready:.2f} s after the server was back "
            f"(target <= 10 s: {'met' if done and caught_up - ready <= 10 else 'NOT met'})"
        )
        for when, listed in (("while it was down", while_down), ("once it was back", failures)):
            kinds = Counter(kind for _, kind in listed)
            print(
                f"failed handshakes {when}: {len(listed):,}, at most {worst_second(listed):,} in one second "
                f"({', '.join(f'{kind} {count}' for kind, count in kinds.most_common()) or 'none'})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
