"""The benchmark's readers: many WebSocket clients per process, each a bare socket on uvloop.

A reader does the least a client can: one handshake, then per frame a header parse and a search
for the `"seq":` field, stamped with the kernel's time of arrival. That keeps the readers' CPU far below the
server's, so the benchmark measures the server. Each process obeys commands from the parent over a
pipe: ("open", url, count, batch) → ("opened", count, {failure: count}); ("wait", seqs, seconds) →
("arrivals", [(seq, time)], {close reason: count}); ("close", count) → ("closed", count); ("stop",).
"""

from __future__ import annotations

import asyncio
import base64
import os
import select
import signal
import socket
import struct
import time
from collections import Counter
from multiprocessing.connection import Connection
from urllib.parse import urlsplit

OPEN_TIMEOUT = 60.0
SEQ_FIELD = b'"seq":'
ENTRY_CREATED = b'"type":"entry.created"'


# Linux: the kernel stamps each received packet; recvmsg hands the stamp over as ancillary data.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def kernel_stamp(ancillary: list[tuple[int, int, bytes]]) -> float | None:
    """The receive stamp in a recvmsg's ancillary data (seconds since the epoch), if there is one."""
    for level, kind, value in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanoseconds = struct.unpack("qq", value[:16])
            return seconds + nanoseconds / 1e9
    return None


def header_size(buffer: bytes, position: int) -> int:
    """Bytes in the header of the server frame at `position` (2 until its second byte is there)."""
    if len(buffer) - position < 2:
        return 2
    return 2 + {126: 2, 127: 8}.get(buffer[position + 1] & 0x7F, 0)


def payload_length(buffer: bytes, position: int) -> int:
    """The payload length of the frame at `position`, whose header is all there."""
    length = buffer[position + 1] & 0x7F
    if length == 126:
        return struct.unpack_from("!H", buffer, position + 2)[0]
    if length == 127:
        return struct.unpack_from("!Q", buffer, position + 2)[0]
    return length


# How often prompt readers are read: far more often than any socket gets a packet (entries come
# half a second apart at the most), so a later packet almost never lands on an unread one.
PROMPT_POLL_SECONDS = 0.01

# Frames read in one wake-up of a reader before the others get their turn.
FRAMES_PER_WAKE = 64


class Reader:
    """One WebSocket reader on a raw non-blocking socket: records (seq, arrival time) for each
    `entry.created`, the arrival time being the kernel's receive stamp, so a reader that runs late
    (it runs only on a core the servers leave idle) does not add its own delay to the latency it
    reports."""

    def __init__(self, sock: socket.socket, crowd: Crowd, buffer: bytes) -> None:
        self.sock = sock
        self.crowd = crowd
        self.buffer = b""
        self.closing = False
        if buffer:
            self.feed(buffer, time.time())

    def readable(self) -> None:
        # Read up to the end of one frame at a time: recvmsg stamps what it returns with the arrival
        # of the last packet it took, so a read running past a frame would stamp that frame with the
        # arrival of whatever came after it (a count message, a ping) while this reader waited to run.
        for _ in range(FRAMES_PER_WAKE):
            wanted = self.bytes_to_frame_end()
            try:
                data, ancillary, _, _ = self.sock.recvmsg(wanted, 64)
            except BlockingIOError:
                return
            except OSError as error:
                self.gone(f"connection lost: {type(error).__name__}")
                return
            if not data:
                self.gone("connection lost: closed")
                return
            self.feed(data, kernel_stamp(ancillary) or time.time())
            if self.closing or len(data) < wanted:
                return

    def bytes_to_frame_end(self) -> int:
        """Bytes still to read to complete the header, then the payload, of the next frame."""
        buffer = self.buffer
        header = header_size(buffer, 0)
        if len(buffer) < header:
            return header - len(buffer)
        return header + payload_length(buffer, 0) - len(buffer)

    def feed(self, data: bytes, now: float) -> None:
        buffer = self.buffer + data if self.buffer else data
        position, size = 0, len(buffer)
        while True:
            start = position + header_size(buffer, position)
            if size < start:
                break
            opcode, length = buffer[position] & 0x0F, payload_length(buffer, position)
            end = start + length
            if size < end:
                break
            if opcode == 1:
                self.crowd.record(buffer, start, end, now)
            elif opcode == 9:  # ping: answer with a masked pong (zero mask), or the server drops us
                self.send(bytes([0x8A, 0x80 | length]) + b"\0\0\0\0" + buffer[start:end])
            elif opcode == 8:
                code = struct.unpack_from("!H", buffer, start)[0] if length >= 2 else 1005
                self.gone(f"closed by server, code {code}")
                return
            position = end
        self.buffer = buffer[position:]

    def send(self, data: bytes) -> None:
        try:
            self.sock.send(data)
        except OSError:
            pass

    def gone(self, reason: str) -> None:
        if not self.closing:
            self.crowd.losses[reason] += 1
        self.shut()

    def close(self) -> None:
        if not self.closing:
            self.send(b"\x88\x82\0\0\0\0\x03\xe8")  # a masked close frame, code 1000
        self.shut()

    def shut(self) -> None:
        if self.sock.fileno() >= 0:
            self.crowd.unwatch(self)
            self.sock.close()
        self.closing = True


async def open_reader(host: str, port: int, path: str, crowd: Crowd) -> Reader:
    """Connect and shake hands; then the socket is read whenever it is readable."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setblocking(False)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    try:
        await loop.sock_connect(sock, (host, port))
        await loop.sock_sendall(
            sock,
            (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode(),
        )
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = await loop.sock_recv(sock, 4096)
            if not chunk:
                raise ConnectionError("connection closed during the handshake")
            received += chunk
        head, _, rest = received.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
    except BaseException:
        sock.close()
        raise
    reader = Reader(sock, crowd, rest)
    crowd.watch(reader)
    return reader


class Crowd:
    """The readers of one process.

    Idle readers are read whenever their socket is readable. `prompt` readers are read together
    every `PROMPT_POLL_SECONDS` instead: woken by each socket, a process at the default priority
    took the core from the server once per reader per change.
    """

    def __init__(self, *, prompt: bool = False) -> None:
        self.readers: list[Reader] = []
        self.arrivals: list[tuple[int, float]] = []
        self.losses: Counter[str] = Counter()
        self.poller = select.epoll() if prompt else None
        self.polled: dict[int, Reader] = {}

    def watch(self, reader: Reader) -> None:
        fileno = reader.sock.fileno()
        if self.poller is None:
            asyncio.get_running_loop().add_reader(fileno, reader.readable)
        else:
            self.poller.register(fileno, select.EPOLLIN)
            self.polled[fileno] = reader

    def unwatch(self, reader: Reader) -> None:
        fileno = reader.sock.fileno()
        if self.poller is None:
            asyncio.get_running_loop().remove_reader(fileno)
        elif self.polled.pop(fileno, None) is not None:
            self.poller.unregister(fileno)

    async def poll(self) -> None:
        """Read every prompt reader with data waiting, every `PROMPT_POLL_SECONDS`."""
        assert self.poller is not None
        while True:
            await asyncio.sleep(PROMPT_POLL_SECONDS)
            for fileno, _ in self.poller.poll(0):
                reader = self.polled.get(fileno)
                if reader is not None:
                    reader.readable()

    def record(self, buffer: bytes, start: int, end: int, now: float) -> None:
        if buffer.find(ENTRY_CREATED, start, end) < 0:
            return
        at = buffer.find(SEQ_FIELD, start, end) + len(SEQ_FIELD)
        stop = at
        while 48 <= buffer[stop] <= 57:
            stop += 1
        self.arrivals.append((int(buffer[at:stop]), now))

    async def open(self, url: str, count: int, batch: int) -> tuple[int, Counter[str]]:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        failures: Counter[str] = Counter()
        opened = 0
        for first in range(0, count, batch):
            attempts = [
                asyncio.wait_for(open_reader(parts.hostname, parts.port, path, self), OPEN_TIMEOUT)
                for _ in range(min(batch, count - first))
            ]
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


async def obey(conn: Connection, prompt: bool) -> None:
    crowd = Crowd(prompt=prompt)
    loop = asyncio.get_running_loop()
    polling = loop.create_task(crowd.poll()) if prompt else None
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
            if polling is not None:
                polling.cancel()
            return


def reader_process(conn: Connection, prompt: bool = False) -> None:
    """Entry point of a reader process; Ctrl-C is the parent's to handle, it stops us.

    The readers stand for other machines, so most run only on a core the servers leave idle. Their
    arrival times are the kernel's receive stamps, which hold however late a reader runs, with one
    exception: a packet arriving on a socket before the reader has read the one before it (a ping,
    a live count, the next entry) is merged into it and stamps both, up to hundreds of
    milliseconds late while the servers kept every core busy. So the benches time entries on a
    share of `prompt` readers, at the default priority, read every `PROMPT_POLL_SECONDS`.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not prompt:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    import uvloop

    uvloop.run(obey(conn, prompt))
