"""The readers' WebSocket: catch up from a `seq`, then follow live changes.

Thin on purpose: it checks the feed, subscribes through `broadcast`, and forwards the text each
change was encoded to once. Anyone may read from any origin; nothing can be written.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from . import broadcast, events, selectors
from .models import Feed

logger = logging.getLogger(__name__)

CLOSE_NOT_FOUND = 4404
CLOSE_BAD_REQUEST = 4400


def _catch_up(slug: str, after: int | None) -> tuple[int, list[tuple[int, str]]] | None:
    """The feed's current `seq` and the encoded changes after `after`, or None if readers may not
    see the feed. One short database visit, so a burst of connecting readers is cheap."""
    try:
        feed = selectors.feed_for_readers(slug=slug)
    except Feed.DoesNotExist:
        return None
    if after is None:
        return feed.seq, []
    messages = selectors.changes_after(feed=feed, after=after)
    return feed.seq, [(message["seq"], events.encode(message)) for message in messages]


# Not thread-sensitive: connecting readers query in parallel instead of queueing on one thread.
catch_up = database_sync_to_async(_catch_up, thread_sensitive=False)


def _parse_after(query_string: bytes) -> int | None:
    values = parse_qs(query_string.decode("latin-1")).get("after")
    if not values or values[0] == "":
        return None
    after = int(values[0])
    if after < 0:
        raise ValueError("after must not be negative")
    return after


class FeedConsumer(AsyncWebsocketConsumer):
    """One reader of one feed."""

    slug: str | None = None
    last_seq: int = 0

    async def connect(self) -> None:
        """Subscribe, catch up and accept; close with 4404 for a draft or unknown feed.

        Refusals accept first, because a WebSocket close code only exists after the handshake.
        """
        try:
            after = _parse_after(self.scope.get("query_string", b""))
        except ValueError:
            await self.accept()
            await self.close(code=CLOSE_BAD_REQUEST)
            return
        slug = self.scope["url_route"]["kwargs"]["slug"]
        # Subscribe before reading the database, so a change committed in between is either in
        # the catch-up or arrives live (and duplicates are dropped by `seq`).
        await broadcast.subscribe(feed_slug=slug, channel_name=self.channel_name)
        state = await catch_up(slug, after)
        if state is None:
            await broadcast.unsubscribe(feed_slug=slug, channel_name=self.channel_name)
            await self.accept()
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.slug = slug
        current, missed = state
        self.last_seq = current if after is None else after
        await self.accept()
        await self._send_missed(current, missed)

    async def _send_missed(self, current: int, missed: list[tuple[int, str]]) -> None:
        for seq, text in missed:
            if seq > self.last_seq:
                await self.send(text_data=text)
        self.last_seq = max([self.last_seq, current, *(seq for seq, _ in missed)])

    async def feed_change(self, event: dict[str, Any]) -> None:
        """Called for each change broadcast to the feed; forwards it in `seq` order, once."""
        seq = event["seq"]
        if seq <= self.last_seq:
            return
        if seq == self.last_seq + 1:
            self.last_seq = seq
            await self.send(text_data=event["text"])
            return
        # A gap: an earlier change's message is late or was lost. The database has them all.
        state = await catch_up(self.slug, self.last_seq)
        if state is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        await self._send_missed(*state)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Readers cannot write; anything they send is ignored."""

    async def disconnect(self, code: int) -> None:
        if self.slug is not None:
            await broadcast.unsubscribe(feed_slug=self.slug, channel_name=self.channel_name)
