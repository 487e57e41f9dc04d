"""Writing changes to one reader's WebSocket, in order, within a bounded buffer.

A change's text and WebSocket frame are built once (`Change`) and written to every reader. Under
Daphne on plain TCP the prebuilt frame goes straight to the reader's socket (`TransportWriter`,
the fast path); anywhere its assumptions do not hold (TLS, another ASGI server, the test
communicator) the reader gets it through the plain ASGI `send` (`SendWriter`). Either way a reader
whose unsent data passes `READER_BUFFER_BYTES` is disconnected; it resumes later from its last
`seq`. Kept apart from the hub because how bytes reach a socket is a server detail the hub and
the Redis link never need to know.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import struct
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from django.conf import settings

logger = logging.getLogger(__name__)

# Close code telling a reader that live delivery was interrupted and it should reconnect and
# resume from its last `seq` (autobahn only sends 1000 or 3000-4999).
CLOSE_RESUME = 4012
# Close code for a reader whose unsent data passed the bound (sent only on the ASGI path; on the
# fast path the connection is aborted, since a reader that does not read cannot get a close frame).
CLOSE_TOO_SLOW = 4008


@functools.cache
def reader_buffer_bytes() -> int:
    """Unsent bytes a reader may accumulate before it is disconnected (read once, per write)."""
    return int(getattr(settings, "LIVEFEED", {}).get("READER_BUFFER_BYTES", 256 * 1024))


def reset() -> None:
    """Forget the cached `READER_BUFFER_BYTES` and fast-path check, so they are made again (tests)."""
    reader_buffer_bytes.cache_clear()
    fast_path_problem.cache_clear()
    _warn_instance_fallback.cache_clear()


class Change:
    """One change as readers receive it: its `seq`, its text, and its WebSocket frame, built once.

    A change known only by its `seq` (`text` None: it was too big to relay between processes) is
    never written; readers fill it from the database.
    """

    __slots__ = ("seq", "text", "frame")

    def __init__(self, seq: int, text: str | None) -> None:
        self.seq = seq
        self.text = text
        self.frame = websocket_frame(text.encode()) if text is not None else b""


def websocket_frame(payload: bytes) -> bytes:
    """An unmasked, final, text WebSocket frame (RFC 6455 §5.2), as a server sends it."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x81, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, length)
    else:
        header = struct.pack("!BBQ", 0x81, 127, length)
    return header + payload


class Writer(Protocol):
    """Writes changes to one reader's WebSocket, in order, within a bounded buffer.

    A catch-up (`catching_up=True`) may be large and is written at once; the bound applies to the
    backlog live changes add on top of it.
    """

    def write(self, change: Change, *, catching_up: bool = False) -> None: ...

    def close(self, code: int) -> None: ...


# What the fast path reads and calls on Twisted's TCP connection and on Daphne's autobahn-based
# WebSocket protocol, private attributes included. Twisted and autobahn are pinned in the lock; the
# class attributes are checked at start-up (`FeedsConfig.ready`), those set per instance on each
# connection, and the ASGI path is used, with a warning, wherever one is missing.
CONNECTION_CLASS_ATTRIBUTES = (
    "dataBuffer",
    "offset",
    "disconnecting",
    "disconnected",
    "abortConnection",
    "write",
)
CONNECTION_ATTRIBUTES = (*CONNECTION_CLASS_ATTRIBUTES, "_tempDataLen", "socket")
PROTOCOL_CLASS_ATTRIBUTES = ("STATE_OPEN", "sendMessage", "sendClose")
PROTOCOL_ATTRIBUTES = (*PROTOCOL_CLASS_ATTRIBUTES, "state", "_perMessageCompress", "last_ping")


@functools.cache
def fast_path_problem() -> str | None:
    """Why the installed Twisted, autobahn and Daphne cannot take the fast path; None when they can.

    Logs a warning the first time it finds a problem: readers are then served through ASGI `send`.
    """
    try:
        from daphne.server import Server
        from daphne.ws_protocol import WebSocketProtocol
        from twisted.internet.tcp import Connection
    except ImportError as error:
        problem: str | None = f"{error.name} cannot be imported"
    else:
        missing = [
            f"Connection.{name}" for name in CONNECTION_CLASS_ATTRIBUTES if not hasattr(Connection, name)
        ]
        missing += [
            f"WebSocketProtocol.{name}"
            for name in PROTOCOL_CLASS_ATTRIBUTES
            if not hasattr(WebSocketProtocol, name)
        ]
        missing += [] if hasattr(Server, "handle_reply") else ["Server.handle_reply"]
        problem = f"missing {', '.join(missing)}" if missing else None
    if problem:
        _warn_fallback(problem)
    return problem


def _warn_fallback(problem: str) -> None:
    logger.warning(
        "Readers get changes through the ASGI send, not straight from the socket: the installed "
        "Twisted, autobahn or Daphne differ from the locked versions (%s).",
        problem,
    )


def writer_for(send: Callable[[dict[str, Any]], Awaitable[None]]) -> Writer:
    """The fast writer when `send` is Daphne's for a plain-TCP WebSocket, else the ASGI one."""
    protocol = _daphne_protocol(send)
    if protocol is not None:
        return TransportWriter(protocol)
    return SendWriter(send)


def _daphne_protocol(send: Any) -> Any:
    """Daphne's WebSocket protocol behind `send` (its `partial(server.handle_reply, protocol)`)
    when frames can go straight to its TCP socket; None otherwise."""
    if not isinstance(send, functools.partial) or getattr(send.func, "__name__", "") != "handle_reply":
        return None
    if fast_path_problem() is not None:
        return None
    from daphne.ws_protocol import WebSocketProtocol
    from twisted.internet.tcp import Connection

    protocol = send.args[0] if send.args else None
    if not isinstance(protocol, WebSocketProtocol):
        return None
    transport = getattr(protocol, "transport", None)
    # A TLS transport wraps the TCP one; its bytes must go through the TLS layer.
    if not isinstance(transport, Connection):
        return None
    missing = [f"WebSocketProtocol.{name}" for name in PROTOCOL_ATTRIBUTES if not hasattr(protocol, name)]
    missing += [f"Connection.{name}" for name in CONNECTION_ATTRIBUTES if not hasattr(transport, name)]
    if missing:
        _warn_instance_fallback(", ".join(missing))
        return None
    return protocol


@functools.cache
def _warn_instance_fallback(missing: str) -> None:
    _warn_fallback(f"missing {missing}")


class TransportWriter:
    """Writes a change's prebuilt frame to the connection's socket, skipping Twisted's deferred
    write, autobahn's framing and Daphne's reply handling (~30 µs per reader per change).

    The socket is written directly only when Twisted holds nothing unsent for it (so bytes stay in
    order); otherwise the frame joins Twisted's buffer. Per-message compression, which Daphne never
    negotiates, would need autobahn's framing, so such a connection goes through `send` instead.
    """

    __slots__ = ("protocol", "closed", "grace")

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.closed = False
        self.grace = 0
        # Daphne pings each connection `ping_interval` after it opened, so a crowd that arrived
        # together is pinged together: at 5,000 readers that stalled the loop for most of a second
        # every 20 s. Spreading each reader's first ping over the interval spreads them all.
        interval = getattr(getattr(protocol, "server", None), "ping_interval", None)
        if interval:
            protocol.last_ping -= random.random() * interval

    def write(self, change: Change, *, catching_up: bool = False) -> None:
        if self.closed or change.text is None:  # a change known only by its seq is never written
            return
        protocol = self.protocol
        if protocol.state != protocol.STATE_OPEN:
            return  # closing: the reader resumes from its last seq
        if protocol._perMessageCompress is not None:
            protocol.sendMessage(change.text.encode(), False)
            return
        transport = protocol.transport
        if transport is None or transport.disconnecting or transport.disconnected:
            return
        frame = change.frame
        unsent = len(transport.dataBuffer) - transport.offset + transport._tempDataLen
        if catching_up:
            self.grace += len(frame)
        elif unsent == 0:
            self.grace = 0
        elif unsent > reader_buffer_bytes() + self.grace:  # a backlog, not one large change
            self.closed = True
            logger.warning(
                "Disconnecting a reader with %d bytes unsent (it resumes from its last seq)", unsent
            )
            transport.abortConnection()
            return
        sent = 0
        if unsent == 0:
            try:
                sent = transport.socket.send(frame)
            except BlockingIOError:
                sent = 0
            except OSError:
                sent = 0  # Twisted's own write below meets the error and closes the connection
        if sent < len(frame):
            transport.write(frame[sent:])

    def close(self, code: int) -> None:
        if self.closed:
            return
        self.closed = True
        if self.protocol.state == self.protocol.STATE_OPEN:
            self.protocol.sendClose(code=code)


class SendWriter:
    """Writes through the ASGI `send`, one message at a time from a queue bounded in bytes."""

    __slots__ = ("send", "queue", "queued", "task", "closed", "close_code", "grace")

    def __init__(self, send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        self.send = send
        self.queue: deque[str] = deque()
        self.queued = 0
        self.task: asyncio.Task[None] | None = None
        self.closed = False
        self.close_code: int | None = None
        self.grace = 0

    def write(self, change: Change, *, catching_up: bool = False) -> None:
        if self.closed or change.text is None:  # a change known only by its seq is never written
            return
        size = len(change.text)
        if catching_up:
            self.grace += size
        elif self.queued == 0:
            self.grace = 0
        elif self.queued > reader_buffer_bytes() + self.grace:
            logger.warning(
                "Closing a reader with %d bytes queued (it resumes from its last seq)", self.queued
            )
            self.queue.clear()
            self.close(CLOSE_TOO_SLOW)
            return
        self.queue.append(change.text)
        self.queued += size
        self.start()

    def close(self, code: int) -> None:
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        self.start()

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self.drain())

    async def drain(self) -> None:
        try:
            while self.queue:
                text = self.queue.popleft()
                self.queued -= len(text)
                await self.send({"type": "websocket.send", "text": text})
            if self.close_code is not None:
                await self.send({"type": "websocket.close", "code": self.close_code})
        except Exception:
            logger.info("A reader went away while being written to", exc_info=True)
            self.closed = True
            self.queue.clear()
        finally:
            self.task = None
