"""The readers' WebSocket: catch up from a `seq`, then follow live changes.

Thin on purpose: it checks the feed, subscribes through `broadcast`, keeps changes in `seq` order
(dropping duplicates, filling gaps from the database) and leaves the writing to `broadcast`.
Anyone may read from any origin; nothing can be written.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from . import events, selectors
from .answers import answers
from .audience.sampling import keep_sampling
from .broadcast.hub import subscribe, unsubscribe
from .broadcast.publishing import TRANSIENT_SEQ
from .broadcast.writers import CLOSE_RESUME, Change, writer_for
from .models import Feed

logger = logging.getLogger(__name__)

CLOSE_NOT_FOUND = 4404
CLOSE_BAD_REQUEST = 4400
CLOSE_TOO_MANY = 4429  # too many connections from one client address
CLOSE_POLICY = 1008  # the client sent frames: readers have nothing to say
CLOSE_TOO_BIG = 1009
# Readers never need to send; a few frames (a client's own keepalive, say) are tolerated.
MAX_INBOUND_BYTES = 1024
MAX_INBOUND_FRAMES = 20

# Open reader connections per client address in this process.
_connections_by_address: Counter[str] = Counter()


def reset() -> None:
    """Forget this process's per-address connection counts (for tests, between tests)."""
    _connections_by_address.clear()
    _confirming.clear()


def max_connections_per_address() -> int:
    return settings.LIVEFEED["MAX_CONNECTIONS_PER_ADDRESS"]


def catch_up_limit() -> int:
    """The most changes a catch-up sends one by one (a page); a reader further behind reloads."""
    return settings.LIVEFEED["PAGE_SIZE"]


async def catch_up(slug: str, after: int | None) -> tuple[int, list[tuple[int, str]] | None] | None:
    """`_catch_up`, without the database when this process knows the feed is public and at the
    `seq` the reader already has (it keeps the feed's pages at that `seq`): the common case of a
    crowd arriving from the page, or of readers resuming after a restart once pages are served."""
    known = answers.known_seq(slug)
    if known is None and after is not None and after == answers.watched_seq(slug):
        known = await _confirmed_seq(slug)
    if known is not None and (after is None or after == known):
        return known, []
    return await _catch_up_from_database(slug, after)


# One database read per feed confirms the kept seq for all the readers arriving meanwhile.
_confirming: dict[str, asyncio.Future[int | None]] = {}


async def _confirmed_seq(slug: str) -> int | None:
    """The kept seq once the database agrees, read once for every reader asking at the same time:
    a crowd still arriving after the page it loaded was kept longer ago than `MAX_KEPT_SECONDS`
    would otherwise cost the database a visit per reader."""
    pending = _confirming.get(slug)
    if pending is None:
        pending = asyncio.ensure_future(_confirm(slug))
        _confirming[slug] = pending
        pending.add_done_callback(
            lambda done: _confirming.pop(slug) if _confirming.get(slug) is done else None
        )
    return await asyncio.shield(pending)


async def _confirm(slug: str) -> int | None:
    since = answers.epoch
    seq = await _seq_for_readers(slug)
    return seq if seq is not None and answers.confirm(slug, seq, since_epoch=since) else None


def _seq_for_readers_now(slug: str) -> int | None:
    state = _catch_up(slug, None)
    return None if state is None else state[0]


_seq_for_readers = database_sync_to_async(_seq_for_readers_now, thread_sensitive=False)


def _catch_up(slug: str, after: int | None) -> tuple[int, list[tuple[int, str]] | None] | None:
    """The feed's current `seq` and the encoded changes after `after`, or None if readers may not
    see the feed. The changes are None when the reader must reload instead: it claims a `seq` the
    feed never reached (a restored backup, a stale tab), or it is more than a page behind. One
    short database visit, so a burst of connecting readers is cheap."""
    try:
        feed = selectors.feed_for_readers(slug=slug)
    except Feed.DoesNotExist:
        return None
    if after is None or after == feed.seq:
        return feed.seq, []
    if after > feed.seq:
        return feed.seq, None
    try:
        messages = selectors.changes_after(feed=feed, after=after, limit=catch_up_limit())
    except selectors.TooFarBehind:
        return feed.seq, None
    return feed.seq, [(message["seq"], events.encode(message)) for message in messages]


# Not thread-sensitive: connecting readers query in parallel instead of queueing on one thread.
_catch_up_from_database = database_sync_to_async(_catch_up, thread_sensitive=False)


def _parse_after(query_string: bytes) -> int | None:
    values = parse_qs(query_string.decode("latin-1")).get("after")
    if not values or values[0] == "":
        return None
    after = int(values[0])
    if after < 0:
        raise ValueError("after must not be negative")
    return after


class FeedConsumer(AsyncWebsocketConsumer):
    """One reader of one feed, and the `broadcast.hub.Listener` its feed's changes are handed to."""

    slug: str | None = None
    last_seq: int = 0
    accepted = False
    resume_needed = False
    address: str | None = None
    inbound_frames = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Dispatch the client's events one by one. Changes arrive through `broadcast`, so there is
        no channel layer to wait on, and a plain loop saves each reader the task, futures and sets
        of Channels' `await_many_dispatch` (a few KB per idle reader)."""
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Hand the event to its handler. Channels' own dispatch first closes stale database
        connections through a hop to the one thread for sync code, twice per reader; this
        consumer uses the database only through `database_sync_to_async`, which does that in the
        thread it runs on, so a crowd's handshakes do not queue on that thread."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        await self.disconnect(message["code"])
        raise StopConsumer()

    async def connect(self) -> None:
        """Subscribe, catch up and accept; close with 4404 for a draft or unknown feed.

        Refusals accept first, because a WebSocket close code only exists after the handshake.
        """
        client = self.scope.get("client") or ("", 0)
        if _connections_by_address[client[0]] >= max_connections_per_address():
            logger.warning(
                "Refusing a reader from %s: %d connections already", client[0], max_connections_per_address()
            )
            await self.accept()
            await self.close(code=CLOSE_TOO_MANY)
            return
        self.address = client[0]
        _connections_by_address[self.address] += 1
        try:
            after = _parse_after(self.scope.get("query_string", b""))
        except ValueError:
            await self.accept()
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        slug = self.scope["url_route"]["kwargs"]["slug"]
        self.writer = writer_for(self.base_send)
        # Live changes wait in `pending` until the catch-up has been written.
        self.filling = True
        self.pending: list[Change] = []
        self.filler: asyncio.Task[None] | None = None
        # Subscribe before reading the database, so a change committed in between is either in
        # the catch-up or arrives live (and duplicates are dropped by `seq`).
        await subscribe(feed_slug=slug, listener=self)
        try:
            state = await catch_up(slug, after)
        except Exception:
            # Leave nothing behind (listener, reader count, address slot); the reader retries.
            logger.exception("Could not catch up a reader of %s; it is told to resume", slug)
            await unsubscribe(feed_slug=slug, listener=self)
            self._release_address()
            await self.accept()
            await self.close(code=CLOSE_RESUME)
            return
        if state is None:
            await unsubscribe(feed_slug=slug, listener=self)
            await self.accept()
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.slug = slug
        keep_sampling()
        current, missed = state
        self.last_seq = current if after is None else after
        await self.accept()
        self.accepted = True
        if self.resume_needed:  # live delivery broke while we read the database
            self.writer.close(CLOSE_RESUME)
            return
        self._write_missed(current, missed)
        # Kept by every idle reader otherwise; nothing reads the scope after the handshake.
        self.scope = {"type": "websocket"}

    def _write_missed(self, current: int, missed: list[tuple[int, str]] | None) -> None:
        if missed is None:
            # The reader reloads its state as of `current` and follows live changes from there.
            assert self.slug is not None  # set on connect, before anything is written
            reset = events.reset_message(feed_slug=self.slug, seq=current)
            self.writer.write(Change(current, events.encode(reset)), catching_up=True)
            self.last_seq = current
        else:
            for seq, text in missed:
                if seq > self.last_seq:
                    self.writer.write(Change(seq, text), catching_up=True)
                    self.last_seq = seq
            self.last_seq = max(self.last_seq, current)
        self.filling = False
        pending, self.pending = self.pending, []
        for change in pending:
            self.deliver(change)
        if not self.filling:
            self.filler = None

    def deliver(self, change: Change) -> None:
        """Called for each change broadcast to the feed; writes it in `seq` order, once."""
        if change.seq == TRANSIENT_SEQ:
            # Outside the sequence (live counts): written now, or dropped while catching up, since
            # the next one replaces it.
            if not self.filling:
                self.writer.write(change)
            return
        if self.filling:
            self.pending.append(change)
            return
        if change.seq <= self.last_seq:
            return
        if change.seq == self.last_seq + 1 and change.text is not None:
            self.last_seq = change.seq
            self.writer.write(change)
            return
        # A gap: an earlier change's message is late or was lost, or this one came by its seq alone
        # (too big for the local bus). The database has them all.
        self.filling = True
        if change.text is not None:
            self.pending.append(change)
        self.filler = asyncio.get_running_loop().create_task(self._fill_gap())

    async def _fill_gap(self) -> None:
        assert self.slug is not None  # set on connect, before any change is delivered
        try:
            state = await catch_up(self.slug, self.last_seq)
        except Exception:
            # Stalling would leave the reader waiting forever: it resumes from its last seq.
            logger.exception("Could not fill a gap for a reader of %s; it is told to resume", self.slug)
            self.writer.close(CLOSE_RESUME)
            return
        if state is None:
            self.writer.close(CLOSE_NOT_FOUND)
            return
        self._write_missed(*state)

    def interrupted(self) -> None:
        """Live delivery had a hole: the reader reconnects and resumes from its last `seq`."""
        if not self.accepted:
            self.resume_needed = True  # a close code needs the handshake done first
            return
        self.writer.close(CLOSE_RESUME)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Readers cannot write: what they send changes nothing, and a large frame or a flood of
        them closes the connection."""
        self.inbound_frames += 1
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > MAX_INBOUND_BYTES:
            await self.close(code=CLOSE_TOO_BIG)
        elif self.inbound_frames > MAX_INBOUND_FRAMES:
            await self.close(code=CLOSE_POLICY)

    def _release_address(self) -> None:
        if self.address is not None:
            _connections_by_address[self.address] -= 1
            if _connections_by_address[self.address] <= 0:
                del _connections_by_address[self.address]
            self.address = None

    async def disconnect(self, code: int) -> None:
        self._release_address()
        if self.slug is not None:
            await unsubscribe(feed_slug=self.slug, listener=self)
