"""This process's subscription to Redis: one connection in subscribe mode, shared by every feed.

It speaks just enough RESP to subscribe and read messages, so that it knows exactly when the
connection is lost and regained; readers must then resume from the database, because changes
published in between never reached this process. Kept apart from the hub, which it is handed
(it never imports it), so the hub stays the same with or without Redis.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from typing import Any, Protocol

from django.conf import settings

from ..resp import parse_reply
from .writers import Change

logger = logging.getLogger(__name__)


def channel_prefix() -> str:
    """What every feed's Redis channel starts with: the site's `REDIS_PREFIX`."""
    return f"{settings.REDIS_PREFIX}.feed."


def redis_channel(feed_slug: str) -> str:
    """The Redis pub/sub channel of a feed, by slug (a feed's slug never changes)."""
    return f"{channel_prefix()}{feed_slug}"


class Readers(Protocol):
    """What the link hands changes to: the process's hub of readers."""

    def fan_out(self, feed_slug: str, change: Change) -> None: ...

    def listeners(self) -> list[Any]: ...


class RedisLink:
    """This process's one Redis connection in subscribe mode, shared by every local feed.

    When the connection is lost and regained every local reader is told to resume (close code
    `CLOSE_RESUME`), because changes published in between never reached this process.
    """

    PING_SECONDS = 10.0
    READ_TIMEOUT = 30.0
    # Connecting and AUTH are timed in this process's loop, which a crowd arriving at once keeps
    # busy for seconds (thousands of handshakes queued ahead of the connection's callbacks): a
    # shorter limit gave up on a healthy Redis, and every reader was then told to resume. A Redis
    # that is down refuses at once; this only bounds one that does not answer at all.
    CONNECT_TIMEOUT = 30.0

    def __init__(self, url: str, loop: asyncio.AbstractEventLoop, readers: Readers) -> None:
        from redis.connection import parse_url

        options = parse_url(url)
        self.host = options.get("host", "127.0.0.1")
        self.port = int(options.get("port", 6379))
        self.username = options.get("username")
        self.password = options.get("password")
        self.tls = (
            options.get("connection_class").__name__ == "SSLConnection"
            if "connection_class" in options
            else False
        )
        self.loop = loop
        self.readers = readers
        self.writer: asyncio.Transport | None = None
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
                    _interrupt_all(self.readers)
            delay = 0.1 if was_up else min(delay * 2, 5.0)
            await asyncio.sleep(delay * (0.5 + random.random() / 2))

    async def connect_and_read(self) -> None:
        context = ssl.create_default_context() if self.tls else None
        transport, subscription = await asyncio.wait_for(
            self.loop.create_connection(Subscription, self.host, self.port, ssl=context),
            timeout=self.CONNECT_TIMEOUT,
        )
        pinger: asyncio.Task[None] | None = None
        try:
            self.writer = transport
            if self.password:
                self.send("AUTH", *([self.username] if self.username else []), self.password)
                reply = await asyncio.wait_for(subscription.next_reply(), timeout=self.CONNECT_TIMEOUT)
                if reply != b"OK":
                    raise ConnectionError(f"Redis refused AUTH: {reply!r:.80}")
            # Up from here: a feed joining now sends its own SUBSCRIBE after these.
            self.up = True
            subscription.on_reply = self.handle
            for channel in list(self.confirmations):
                self.send("SUBSCRIBE", channel)
            pinger = self.loop.create_task(self.ping_regularly())
            if self.failed:
                # Changes published while we were away never reached this process.
                self.failed = False
                _interrupt_all(self.readers)
            while not subscription.lost.done():
                quiet = self.loop.time() - subscription.heard_at
                if quiet > self.READ_TIMEOUT:
                    raise TimeoutError(f"Redis sent nothing for {quiet:.0f} s")
                await asyncio.wait([subscription.lost], timeout=self.READ_TIMEOUT - quiet)
            await subscription.lost  # raises why the connection ended
        finally:
            if pinger is not None:
                pinger.cancel()
            transport.close()

    async def ping_regularly(self) -> None:
        while True:
            await asyncio.sleep(self.PING_SECONDS)
            self.send("PING")

    def handle(self, reply: Any) -> None:
        if not isinstance(reply, list) or len(reply) < 2:
            return
        kind = reply[0]
        if kind == b"message":
            try:
                channel, data = reply[1].decode(), reply[2]
                seq, _, text = data.partition(b" ")
                change = Change(int(seq), text.decode())
            except (IndexError, AttributeError, ValueError):
                # Someone else's publish on our channel: dropping the link for it would make the
                # readers of every feed in this process reconnect.
                logger.warning("Skipping a malformed message on Redis channel %r: %.80r", reply[1], reply[2:])
                return
            self.readers.fan_out(channel.removeprefix(channel_prefix()), change)
        elif kind == b"subscribe":
            waiter = self.confirmations.get(reply[1].decode())
            if waiter is not None and not waiter.done():
                waiter.set_result(None)


def _interrupt_all(readers: Readers) -> None:
    """Tell every local reader to resume from the database: live delivery had a hole."""
    for listener in readers.listeners():
        try:
            listener.interrupted()
        except Exception:
            logger.exception("A reader could not be told to resume")


class Subscription(asyncio.Protocol):
    """The connection's replies, each handed to `on_reply` in the very callback its bytes arrive in.

    A change reaches the hub with no task to wake on the way: under load every such hop waited
    behind whatever else the loop had ready (a crowd's requests), once per hop.
    """

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.buffer = bytearray()
        self.replies: list[Any] = []
        self.waiter: asyncio.Future[None] | None = None
        self.on_reply: Any = self.replies.append  # until the link takes them as they come
        self.heard_at = loop.time()
        self.lost: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.heard_at = asyncio.get_running_loop().time()
        self.buffer += data
        start = 0
        try:
            while True:
                parsed = parse_reply(self.buffer, start)
                if parsed is None:
                    break
                reply, start = parsed
                self.on_reply(reply)
        except ConnectionError as error:
            self.end(error)
        finally:
            del self.buffer[:start]
        if self.replies and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.end(exc or ConnectionError("Redis closed the connection"))

    def end(self, error: Exception) -> None:
        if not self.lost.done():
            self.lost.set_exception(error)
            self.lost.exception()  # the link reads it if it is still there; never logged as unread
            if self.transport is not None:
                self.transport.close()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(error)

    async def next_reply(self) -> Any:
        """The next reply, before the link takes them as they come (AUTH's answer)."""
        while not self.replies:
            if self.lost.done():
                await self.lost
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
        return self.replies.pop(0)
