"""The benchmark's readers: many WebSocket clients per process, each a bare asyncio protocol on uvloop.

A reader does the least a client can: one handshake, then per frame a header parse and a search
for the `"seq":` field, stamped with its arrival time. That keeps the readers' CPU far below the
server's, so the benchmark measures the server. Each process obeys commands from the parent over a
pipe: ("open", url, count, batch) → ("opened", count, {failure: count}); ("wait", seqs, seconds) →
("arrivals", [(seq, time)], {close reason: count}); ("close", count) → ("closed", count); ("stop",).
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import struct
import time
from collections import Counter
from multiprocessing.connection import Connection
from urllib.parse import urlsplit

OPEN_TIMEOUT = 60.0
SEQ_FIELD = b'"seq":'
ENTRY_CREATED = b'"type":"entry.created"'


class Reader(asyncio.Protocol):
    """One WebSocket reader: records (seq, arrival time) for each `entry.created` it receives."""

    def __init__(self, host: str, path: str, crowd: Crowd) -> None:
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self.crowd = crowd
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.open = False
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        if not self.open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.fail(buffer.split(b"\r\n", 1)[0].decode(errors="replace"))
                return
            self.open = True
            if not self.opened.done():
                self.opened.set_result(None)
            buffer = buffer[end + 4:]
        now = time.time()
        position, size = 0, len(buffer)
        while size - position >= 2:
            opcode, length = buffer[position] & 0x0F, buffer[position + 1] & 0x7F
            start = position + 2
            if length == 126:
                if size - start < 2:
                    break
                (length,) = struct.unpack_from("!H", buffer, start)
                start += 2
            elif length == 127:
                if size - start < 8:
                    break
                (length,) = struct.unpack_from("!Q", buffer, start)
                start += 8
            if size - start < length:
                break
            end = start + length
            if opcode == 1:
                self.crowd.record(buffer, start, end, now)
            elif opcode == 9:  # ping: answer with a masked pong (zero mask), or the server drops us
                self.transport.write(bytes([0x8A, 0x80 | length]) + b"\0\0\0\0" + buffer[start:end])
            elif opcode == 8:
                code = struct.unpack_from("!H", buffer, start)[0] if length >= 2 else 1005
                self.crowd.lost(f"closed by server, code {code}", self)
                self.transport.close()
            position = end
        self.buffer = buffer[position:]

    def fail(self, reason: str) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(reason))
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"connection lost during handshake: {exc}"))
        elif not self.closing:
            self.crowd.lost("connection lost", self)

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            # A close frame (masked, code 1000), then the TCP close.
            self.transport.write(b"\x88\x82\0\0\0\0\x03\xe8")
            self.transport.close()


class Crowd:
    """The readers of one process."""

    def __init__(self) -> None:
        self.readers: list[Reader] = []
        self.arrivals: list[tuple[int, float]] = []
        self.losses: Counter[str] = Counter()

    def record(self, buffer: bytes, start: int, end: int, now: float) -> None:
        if buffer.find(ENTRY_CREATED, start, end) < 0:
            return
        at = buffer.find(SEQ_FIELD, start, end) + len(SEQ_FIELD)
        stop = at
        while 48 <= buffer[stop] <= 57:
            stop += 1
        self.arrivals.append((int(buffer[at:stop]), now))

    def lost(self, reason: str, reader: Reader) -> None:
        if not reader.closing:
            reader.closing = True
            self.losses[reason] += 1

    async def open(self, url: str, count: int, batch: int) -> tuple[int, Counter[str]]:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        loop = asyncio.get_running_loop()
        failures: Counter[str] = Counter()
        opened = 0

        async def one() -> Reader:
            _, reader = await loop.create_connection(
                lambda: Reader(parts.netloc, path, self), parts.hostname, parts.port
            )
            await reader.opened
            return reader

        for first in range(0, count, batch):
            attempts = [asyncio.wait_for(one(), OPEN_TIMEOUT) for _ in range(min(batch, count - first))]
            for result in await asyncio.gather(*attempts, return_exceptions=True):
                if isinstance(result, BaseException):
                    failures[f"{type(result).__name__}: {result}"[:100]] += 1
                else:
                    self.readers.append(result)
                    opened += 1
        return opened, failures

    def live(self) -> int:
        return sum(1 for reader in self.readers if not reader.closing)

    async def wait(self, seqs: list[int], seconds: float) -> None:
        """Until every live reader has every seq in `seqs`, or `seconds` pass."""
        wanted = set(seqs)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            got = Counter(seq for seq, _ in self.arrivals if seq in wanted)
            if all(got[seq] >= self.live() for seq in wanted):
                return
            await asyncio.sleep(0.1)

    def close(self, count: int) -> int:
        closing, self.readers = self.readers[:count], self.readers[count:]
        for reader in closing:
            reader.close()
        return len(closing)


async def obey(conn: Connection) -> None:
    crowd = Crowd()
    loop = asyncio.get_running_loop()
    while True:
        try:
            command, *args = await loop.run_in_executor(None, conn.recv)
        except EOFError:  # the parent is gone
            command, args = "stop", []
        if command == "open":
            opened, failures = await crowd.open(*args)
            conn.send(("opened", opened, dict(failures)))
        elif command == "wait":
            await crowd.wait(*args)
            arrivals, crowd.arrivals = crowd.arrivals, []
            losses, crowd.losses = crowd.losses, Counter()
            conn.send(("arrivals", arrivals, dict(losses)))
        elif command == "close":
            conn.send(("closed", crowd.close(*args)))
        elif command == "stop":
            crowd.close(len(crowd.readers))
            await asyncio.sleep(0.2)
            return


def reader_process(conn: Connection) -> None:
    """Entry point of a reader process; Ctrl-C is the parent's to handle, it stops us."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import uvloop

    uvloop.run(obey(conn))
