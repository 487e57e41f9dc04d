"""This process's readers, by feed and by the event loop each lives in, and handing them changes.

A change reaches the hub once per process (from Redis; without Redis, straight from `publish` in
the process that made it and from the local bus in the others)
and the hub gives it to every local reader itself, with no channel-layer message, consumer
dispatch or thread hop per reader. The hub announces when its set of connections changes
(`on_connections_changed`) and leaves what to do about it, such as the garbage-collector policy
`livefeed.serve` installs, to the process that runs it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from django.conf import settings

from .. import presence
from .local_bus import listen as listen_on_local_bus
from .redis_link import RedisLink

if TYPE_CHECKING:
    from .writers import Change

logger = logging.getLogger(__name__)

# A fan-out slower than this is logged (at INFO), to size processes by their readers.
SLOW_FAN_OUT_SECONDS = 0.05

ConnectionsWatcher = Callable[[asyncio.AbstractEventLoop | None], None]


class Listener(Protocol):
    """What a reader's connection offers the broadcast: called in its event loop's thread."""

    def deliver(self, change: Change) -> None: ...

    def interrupted(self) -> None:
        """Live delivery had a hole (Redis went away and came back): resume from the database."""


class Hub:
    """This process's readers, by feed and by the event loop they live in."""

    def __init__(self) -> None:
        self.feeds: dict[str, dict[asyncio.AbstractEventLoop | None, set[Listener]]] = {}
        self.lock = threading.Lock()
        self.link: RedisLink | None = None
        self.watchers: list[ConnectionsWatcher] = []

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
            return [
                listener for loops in self.feeds.values() for group in loops.values() for listener in group
            ]

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

    def redis_link(self) -> RedisLink:
        loop = asyncio.get_running_loop()
        if self.link is None or self.link.loop is not loop:
            self.link = RedisLink(settings.REDIS_URL, loop, self)
        return self.link

    def on_connections_changed(self, watcher: ConnectionsWatcher) -> None:
        """Call `watcher(loop)` whenever a reader joins or leaves, in that reader's loop thread."""
        self.watchers.append(watcher)

    def connections_changed(self, loop: asyncio.AbstractEventLoop | None) -> None:
        for watcher in self.watchers:
            watcher(loop)

    def reset(self) -> None:
        """Forget every reader, the Redis link (stopping it) and every watcher.

        For tests: a process that serves readers never needs it, and each test starts with an
        empty hub instead of the readers and event loops an earlier test left behind.
        """
        with self.lock:
            self.feeds.clear()
            link, self.link = self.link, None
            self.watchers.clear()
        if link is not None and not link.loop.is_closed():
            link.loop.call_soon_threadsafe(link.task.cancel)


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


hub = Hub()


def reset() -> None:
    """Empty this process's hub (see `Hub.reset`); the `hub` object itself stays the same."""
    hub.reset()


async def subscribe(*, feed_slug: str, listener: Listener) -> None:
    """Start delivering a feed's changes to `listener`; returns once changes published from now
    on will reach it (or at once while Redis is down: the listener is told to resume later)."""
    hub.add(feed_slug, listener, asyncio.get_running_loop())
    presence.joined(feed_slug)
    if settings.REDIS_URL:
        await hub.redis_link().join(feed_slug)
    else:
        listen_on_local_bus(hub)


async def unsubscribe(*, feed_slug: str, listener: Listener) -> None:
    """Stop delivering a feed's changes to `listener`."""
    presence.left(feed_slug)
    link = hub.link
    if hub.remove(feed_slug, listener) and link is not None and link.loop is asyncio.get_running_loop():
        link.leave(feed_slug)


def subscription_state() -> str:
    """This process's Redis subscription: "up", "reconnecting", "idle" (no reader yet) or "local"."""
    if not settings.REDIS_URL:
        return "local"
    link = hub.link
    if link is None:
        return "idle"
    return "up" if link.up else "reconnecting"
