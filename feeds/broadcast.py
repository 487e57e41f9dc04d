"""The one place that knows how a change reaches readers.

Services call `broadcast_change` inside their transaction; the message is encoded once there and
published only after the transaction commits, so no reader hears of a change the database could
still roll back. With `REDIS_URL` it is one PUBLISH per change; each server process holds one Redis
subscription per feed that has local readers and hands every change to them itself, with no
channel-layer message, consumer dispatch or thread hop per reader. Without Redis (the embedded,
single-process mode) changes go straight to the local readers.

Under Daphne a change's WebSocket frame is built once and written to each reader's socket (the
fast path); anywhere its assumptions do not hold (TLS, another ASGI server, the test
communicator) the reader gets it through the plain ASGI `send`. Either way a reader whose unsent
data passes `READER_BUFFER_BYTES` is disconnected; it resumes later from its last `seq`.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import hashlib
import logging
import random
import ssl
import struct
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from . import presence
from .events import encode
from .signals import change_recorded

if TYPE_CHECKING:
    from .models import Feed

logger = logging.getLogger(__name__)

# Close code telling a reader that live delivery was interrupted and it should reconnect and
# resume from its last `seq` (autobahn only sends 1000 or 3000-4999).
CLOSE_RESUME = 4012
# Close code for a reader whose unsent data passed the bound (sent only on the ASGI path; on the
# fast path the connection is aborted, since a reader that does not read cannot get a close frame).
CLOSE_TOO_SLOW = 4008
# A connection set unchanged for this long counts as settled: garbage is collected, survivors frozen.
GC_SETTLE_SECONDS = 2.0
GC_SETTLE_AT_LEAST_EVERY = 60.0
# A fan-out slower than this is logged (at INFO), to size processes by their readers.
SLOW_FAN_OUT_SECONDS = 0.05


@functools.cache
def reader_buffer_bytes() -> int:
    """Unsent bytes a reader may accumulate before it is disconnected (read once, per write)."""
    return int(getattr(settings, "LIVEFEED", {}).get("READER_BUFFER_BYTES", 256 * 1024))


def channel_prefix() -> str:
    """What every feed's Redis channel starts with: the site's `REDIS_PREFIX`."""
    return f"{settings.REDIS_PREFIX}.feed."


def redis_channel(feed_slug: str) -> str:
    """The Redis pub/sub channel of a feed, by slug (a feed's slug never changes)."""
    return f"{channel_prefix()}{feed_slug}"


class Change:
    """One change as readers receive it: its `seq`, its text, and its WebSocket frame, built once."""

    __slots__ = ("seq", "text", "frame")

    def __init__(self, seq: int, text: str) -> None:
        self.seq = seq
        self.text = text
        self.frame = websocket_frame(text.encode())


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


class Listener(Protocol):
    """What a reader's connection offers the broadcast: called in its event loop's thread."""

    def deliver(self, change: Change) -> None: ...

    def interrupted(self) -> None:
        """Live delivery had a hole (Redis went away and came back): resume from the database."""


# --- Publishing -------------------------------------------------------------------------------


def broadcast_change(*, feed: Feed, seq: int, message: dict[str, Any]) -> None:
    """Send `message` to every reader of the feed once the current transaction commits.

    Plug-ins hear the same text through `change_recorded`, sent in this transaction.
    """
    text = encode(message)
    change_recorded.send(sender=type(feed), feed=feed, seq=seq, event=message["type"], text=text)
    feed_slug = feed.slug
    transaction.on_commit(lambda: publish(feed_slug=feed_slug, seq=seq, text=text))


def publish(*, feed_slug: str, seq: int, text: str) -> None:
    """Hand a committed change to every process's readers; never raises.

    A lost publish loses nothing: readers fill the gap in `seq` from the database when the next
    change arrives, and a Redis outage makes every reader resume (see `_RedisLink`).
    """
    try:
        if settings.REDIS_URL:
            _publisher().publish(redis_channel(feed_slug), f"{seq} {text}")
        else:
            hub.fan_out(feed_slug, Change(seq, text))
    except Exception:
        logger.exception("Could not broadcast change %s of feed %s", seq, feed_slug)


@functools.cache
def _publisher() -> Any:
    import redis

    # Short timeouts: a publish runs in the request that saved the change, and posting must keep
    # working (and answering quickly) while Redis is down.
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=1)


def redis_ping() -> bool | None:
    """Whether Redis answers (None when the process runs without Redis), for the health check."""
    if not settings.REDIS_URL:
        return None
    try:
        return bool(_publisher().ping())
    except Exception:
        return False


def subscription_state() -> str:
    """This process's Redis subscription: "up", "reconnecting", "idle" (no reader yet) or "local"."""
    if not settings.REDIS_URL:
        return "local"
    link = hub.link
    if link is None:
        return "idle"
    return "up" if link.up else "reconnecting"


# --- Subscribing ------------------------------------------------------------------------------


async def subscribe(*, feed_slug: str, listener: Listener) -> None:
    """Start delivering a feed's changes to `listener`; returns once changes published from now
    on will reach it (or at once while Redis is down: the listener is told to resume later)."""
    hub.add(feed_slug, listener, asyncio.get_running_loop())
    presence.joined(feed_slug)
    if settings.REDIS_URL:
        await hub.redis_link().join(feed_slug)


async def unsubscribe(*, feed_slug: str, listener: Listener) -> None:
    """Stop delivering a feed's changes to `listener`."""
    presence.left(feed_slug)
    link = hub.link
    if hub.remove(feed_slug, listener) and link is not None and link.loop is asyncio.get_running_loop():
        link.leave(feed_slug)


class _Hub:
    """This process's readers, by feed and by the event loop they live in."""

    def __init__(self) -> None:
        self.feeds: dict[str, dict[asyncio.AbstractEventLoop | None, set[Listener]]] = {}
        self.lock = threading.Lock()
        self.link: _RedisLink | None = None
        self.gc_managed = False
        self.gc_timer: asyncio.TimerHandle | None = None
        self.gc_unsettled_since: float | None = None

    def add(self, feed_slug: str, listener: Listener, loop: asyncio.AbstractEventLoop | None) -> None:
        with self.lock:
            self.feeds.setdefault(feed_slug, {}).setdefault(loop, set()).add(listener)
        self.connections_changed(loop)

    def remove(self, feed_slug: str, listener: Listener) -> bool:
        """Forget `listener`; True when the feed has no local listener left."""
        with self.lock:
            loops = self.feeds.get(feed_slug, {})
            for loop, listeners in list(loops.items()):
                if listener in listeners:
                    listeners.discard(listener)
                    if not listeners:
                        del loops[loop]
                    self.connections_changed(loop)
            if not loops:
                self.feeds.pop(feed_slug, None)
                return True
            return False

    def listeners(self) -> list[Listener]:
        with self.lock:
            return [listener for loops in self.feeds.values() for group in loops.values() for listener in group]

    def fan_out(self, feed_slug: str, change: Change) -> None:
        """Give `change` to every local listener of the feed, in each listener's own loop thread."""
        with self.lock:
            groups = [(loop, list(group)) for loop, group in self.feeds.get(feed_slug, {}).items()]
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for loop, group in groups:
            if loop is None or loop is current:
                _deliver_all(group, change)
            elif not loop.is_closed():
                loop.call_soon_threadsafe(_deliver_all, group, change)

    def redis_link(self) -> _RedisLink:
        loop = asyncio.get_running_loop()
        if self.link is None or self.link.loop is not loop:
            self.link = _RedisLink(settings.REDIS_URL, loop)
        return self.link

    def connections_changed(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Collect garbage and freeze the survivors once the set of connections has settled.

        Frozen objects stay out of full collections, which otherwise walk every connection's
        objects (~230 ms at 5,000 readers) in the middle of a fan-out; unfreezing first lets the
        garbage of closed connections, frozen earlier, be reclaimed.
        """
        if not self.gc_managed or loop is None:
            return
        if self.gc_timer is not None:
            self.gc_timer.cancel()
        now = loop.time()
        if self.gc_unsettled_since is None:
            self.gc_unsettled_since = now
        # Under constant churn the crowd never settles; collect anyway now and then, so the
        # garbage of closed connections frozen earlier is not kept for ever.
        overdue = now - self.gc_unsettled_since > GC_SETTLE_AT_LEAST_EVERY
        self.gc_timer = loop.call_later(0 if overdue else GC_SETTLE_SECONDS, _settle_garbage)


def _settle_garbage() -> None:
    hub.gc_timer = None
    hub.gc_unsettled_since = None
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _deliver_all(listeners: list[Listener], change: Change) -> None:
    started = time.perf_counter()
    for listener in listeners:
        try:
            listener.deliver(change)
        except Exception:
            logger.exception("A reader failed to take change %s", change.seq)
    took = time.perf_counter() - started
    if took > SLOW_FAN_OUT_SECONDS:
        logger.info("Writing change %s to %d readers took %.0f ms", change.seq, len(listeners), took * 1000)


hub = _Hub()


class _RedisLink:
    """This process's one Redis connection in subscribe mode, shared by every local feed.

    Speaks just enough RESP to subscribe and read messages, so that it knows exactly when the
    connection is lost and regained: every local reader is then told to resume (close code
    `CLOSE_RESUME`), because changes published in between never reached this process.
    """

    PING_SECONDS = 10.0
    READ_TIMEOUT = 30.0

    def __init__(self, url: str, loop: asyncio.AbstractEventLoop) -> None:
        from redis.connection import parse_url

        options = parse_url(url)
        self.host = options.get("host", "127.0.0.1")
        self.port = int(options.get("port", 6379))
        self.username = options.get("username")
        self.password = options.get("password")
        self.tls = options.get("connection_class").__name__ == "SSLConnection" if "connection_class" in options else False
        self.loop = loop
        self.writer: asyncio.StreamWriter | None = None
        self.up = False
        self.failed = False  # the connection was lost (or never made) and is not back yet
        self.confirmations: dict[str, asyncio.Future[None]] = {}
        self.task = loop.create_task(self.run())

    async def join(self, feed_slug: str) -> None:
        """Subscribe to the feed unless already subscribed; wait for Redis to confirm."""
        channel = redis_channel(feed_slug)
        waiter = self.confirmations.get(channel)
        if waiter is None:
            waiter = self.loop.create_future()
            self.confirmations[channel] = waiter
            if self.up:
                self.send("SUBSCRIBE", channel)
        if self.failed:
            return  # the reader is told to resume once the link is back
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout=10)
        except TimeoutError:
            logger.warning("Redis did not confirm the subscription to %s within 10 s", channel)

    def leave(self, feed_slug: str) -> None:
        channel = redis_channel(feed_slug)
        self.confirmations.pop(channel, None)
        if self.up:
            self.send("UNSUBSCRIBE", channel)

    def send(self, *words: str) -> None:
        if self.writer is None:
            return
        encoded = [word.encode() for word in words]
        self.writer.write(
            b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(word), word) for word in encoded)
        )

    async def run(self) -> None:
        """Keep the subscription up: reconnect with jittered backoff, tell readers when it breaks."""
        delay = 0.1
        while True:
            try:
                await self.connect_and_read()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.warning("Redis subscription lost (%s); readers will resume when it is back", error)
            was_up, self.up, self.writer = self.up, False, None
            if not self.failed:
                self.failed = True
                for waiter in self.confirmations.values():
                    if not waiter.done():
                        waiter.set_result(None)
                self.confirmations = {channel: self.loop.create_future() for channel in self.confirmations}
                if was_up:
                    _interrupt_all()
            delay = 0.1 if was_up else min(delay * 2, 5.0)
            await asyncio.sleep(delay * (0.5 + random.random() / 2))

    async def connect_and_read(self) -> None:
        context = ssl.create_default_context() if self.tls else None
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, ssl=context), timeout=5
        )
        pinger: asyncio.Task[None] | None = None
        try:
            self.writer = writer
            if self.password:
                self.send("AUTH", *([self.username] if self.username else []), self.password)
                reply = await asyncio.wait_for(reader.readline(), timeout=5)
                if not reply.startswith(b"+OK"):
                    raise ConnectionError(f"Redis refused AUTH: {reply[:80]!r}")
            # Up from here: a feed joining now sends its own SUBSCRIBE after these.
            self.up = True
            for channel in list(self.confirmations):
                self.send("SUBSCRIBE", channel)
            await writer.drain()
            pinger = self.loop.create_task(self.ping_regularly())
            if self.failed:
                # Changes published while we were away never reached this process.
                self.failed = False
                _interrupt_all()
            while True:
                reply = await asyncio.wait_for(_read_reply(reader), timeout=self.READ_TIMEOUT)
                self.handle(reply)
        finally:
            if pinger is not None:
                pinger.cancel()
            writer.close()

    async def ping_regularly(self) -> None:
        while True:
            await asyncio.sleep(self.PING_SECONDS)
            self.send("PING")

    def handle(self, reply: Any) -> None:
        if not isinstance(reply, list) or len(reply) < 2:
            return
        kind = reply[0]
        if kind == b"message":
            channel, data = reply[1].decode(), reply[2]
            seq, _, text = data.partition(b" ")
            feed_slug = channel.removeprefix(channel_prefix())
            hub.fan_out(feed_slug, Change(int(seq), text.decode()))
        elif kind == b"subscribe":
            waiter = self.confirmations.get(reply[1].decode())
            if waiter is not None and not waiter.done():
                waiter.set_result(None)


def _interrupt_all() -> None:
    for listener in hub.listeners():
        try:
            listener.interrupted()
        except Exception:
            logger.exception("A reader could not be told to resume")


async def _read_reply(reader: asyncio.StreamReader) -> Any:
    """One RESP2 reply."""
    line = await reader.readuntil(b"\r\n")
    kind, rest = line[:1], line[1:-2]
    if kind == b"*":
        return [await _read_reply(reader) for _ in range(int(rest))]
    if kind == b"$":
        length = int(rest)
        if length < 0:
            return None
        return (await reader.readexactly(length + 2))[:-2]
    if kind == b":":
        return int(rest)
    if kind == b"-":
        raise ConnectionError(f"Redis error: {rest.decode(errors='replace')}")
    return rest


# --- Writing to a reader ----------------------------------------------------------------------


class Writer(Protocol):
    """Writes changes to one reader's WebSocket, in order, within a bounded buffer.

    A catch-up (`catching_up=True`) may be large and is written at once; the bound applies to the
    backlog live changes add on top of it.
    """

    def write(self, change: Change, *, catching_up: bool = False) -> None: ...

    def close(self, code: int) -> None: ...


def writer_for(send: Callable[[dict[str, Any]], Awaitable[None]]) -> Writer:
    """The fast writer when `send` is Daphne's for a plain-TCP WebSocket, else the ASGI one."""
    protocol = _daphne_protocol(send)
    if protocol is not None:
        hub.gc_managed = True
        return TransportWriter(protocol)
    return SendWriter(send)


def _daphne_protocol(send: Any) -> Any:
    """Daphne's WebSocket protocol behind `send` (its `partial(server.handle_reply, protocol)`)
    when frames can go straight to its TCP socket; None otherwise."""
    if not isinstance(send, functools.partial) or getattr(send.func, "__name__", "") != "handle_reply":
        return None
    try:
        from daphne.ws_protocol import WebSocketProtocol
        from twisted.internet.tcp import Connection
    except ImportError:
        return None
    protocol = send.args[0] if send.args else None
    if not isinstance(protocol, WebSocketProtocol):
        return None
    # A TLS transport wraps the TCP one; its bytes must go through the TLS layer.
    if not isinstance(getattr(protocol, "transport", None), Connection):
        return None
    return protocol


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
        if self.closed:
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
            logger.warning("Disconnecting a reader with %d bytes unsent (it resumes from its last seq)", unsent)
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
        if self.closed:
            return
        size = len(change.text)
        if catching_up:
            self.grace += size
        elif self.queued == 0:
            self.grace = 0
        elif self.queued > reader_buffer_bytes() + self.grace:
            logger.warning("Closing a reader with %d bytes queued (it resumes from its last seq)", self.queued)
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


# --- The editors' desk ------------------------------------------------------------------------
# Staff see drafts, so their messages travel in a group of their own that readers never join.

DESK_EVENT_TYPE = "desk.change"


def desk_group_name(feed_slug: str) -> str:
    """The channel-layer group of the staff watching a feed's desk."""
    if len(feed_slug) > 90:
        feed_slug = hashlib.sha256(feed_slug.encode()).hexdigest()
    return f"desk.{feed_slug}"


def broadcast_to_desk(*, feed_slug: str, message: dict[str, Any]) -> None:
    """Send `message` (drafts included) to the feed's desk once the current transaction commits."""
    event = {"type": DESK_EVENT_TYPE, "text": encode(message)}
    transaction.on_commit(lambda: _send_group(desk_group_name(feed_slug), event))


def _send_group(group: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    try:
        if loop is None:
            async_to_sync(layer.group_send)(group, event)
        else:
            loop.create_task(layer.group_send(group, event))
    except Exception:
        # The desk reloads its list when it reconnects; a lost message is not a lost change.
        logger.exception("Could not send a desk message to %s", group)


async def subscribe_desk(*, feed_slug: str, channel_name: str) -> None:
    """Start delivering a feed's desk messages to a staff consumer's channel."""
    await get_channel_layer().group_add(desk_group_name(feed_slug), channel_name)


async def unsubscribe_desk(*, feed_slug: str, channel_name: str) -> None:
    await get_channel_layer().group_discard(desk_group_name(feed_slug), channel_name)
