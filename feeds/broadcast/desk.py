"""The editors' desk: changes, drafts included, for the staff watching a feed.

Staff see drafts, so their messages travel through the channel layer in a group of their own that
readers never join; nothing here hands a message to the readers' hub, so no path leads from a
draft to a reader. Desk traffic is a few staff per feed, so the channel layer's per-member message is fine.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import weakref
from collections import deque
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from livefeed.django_threads import serving_loop

from ..events import encode
from .hub import hub
from .local_bus import listen as listen_on_local_bus
from .local_bus import send_to_group

logger = logging.getLogger(__name__)

DESK_EVENT_TYPE = "desk.change"
# Sent instead of a desk message too big for the local bus: the desk reconnects and reloads.
DESK_RELOAD_EVENT_TYPE = "desk.reload"


def desk_group_name(feed_slug: str) -> str:
    """The channel-layer group of the staff watching a feed's desk."""
    if len(feed_slug) > 90:
        feed_slug = hashlib.sha256(feed_slug.encode()).hexdigest()
    return f"desk.{feed_slug}"


def broadcast_to_desk(*, feed_slug: str, message: dict[str, Any]) -> None:
    """Send `message` (drafts included) to the feed's desk once the current transaction commits."""
    event = {"type": DESK_EVENT_TYPE, "text": encode(message)}
    group = desk_group_name(feed_slug)

    def send() -> None:
        # Without Redis the channel layer is this process's alone; the local bus tells the others.
        send_to_group(group=group, event=event, fallback={"type": DESK_RELOAD_EVENT_TYPE})
        _send_group(group, event)

    transaction.on_commit(send)


def _send_group(group: str, event: dict[str, Any]) -> None:
    try:
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    try:
        if loop is not None:
            _outbox(loop).put(group, event)
        elif (serving := serving_loop()) is not None:
            # From a request's thread: the server's loop sends it once it is free. Waiting for
            # it here held the request (and, fighting for the interpreter lock, the loop) while
            # the loop wrote a change to every reader; a new loop per message also meant a new
            # Redis connection per message.
            serving.call_soon_threadsafe(lambda: _outbox(serving).put(group, event))
        else:  # a command, the task worker: no server loop in this process
            async_to_sync(get_channel_layer().group_send)(group, event)
    except Exception:
        # The desk reloads its list when it reconnects; a lost message is not a lost change.
        logger.exception("Could not send a desk message to %s", group)


class _Outbox:
    """A loop's desk messages, sent one after another so each desk gets them in order."""

    def __init__(self) -> None:
        self.pending: deque[tuple[str, dict[str, Any]]] = deque()
        self.task: asyncio.Task[None] | None = None

    def put(self, group: str, event: dict[str, Any]) -> None:
        self.pending.append((group, event))
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self.drain())

    async def drain(self) -> None:
        try:
            while self.pending:
                group, event = self.pending.popleft()
                try:
                    await get_channel_layer().group_send(group, event)
                except Exception:
                    logger.exception("Could not send a desk message to %s", group)
        finally:
            self.task = None


_outboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Outbox] = weakref.WeakKeyDictionary()


def _outbox(loop: asyncio.AbstractEventLoop) -> _Outbox:
    outbox = _outboxes.get(loop)
    if outbox is None:
        outbox = _outboxes[loop] = _Outbox()
    return outbox


async def subscribe_desk(*, feed_slug: str, channel_name: str) -> None:
    """Start delivering a feed's desk messages to a staff consumer's channel."""
    await get_channel_layer().group_add(desk_group_name(feed_slug), channel_name)
    # The hub is only where changes for readers would go: the bus hands desk messages to the group.
    listen_on_local_bus(hub)


async def unsubscribe_desk(*, feed_slug: str, channel_name: str) -> None:
    """Stop delivering a feed's desk messages to a staff consumer's channel."""
    await get_channel_layer().group_discard(desk_group_name(feed_slug), channel_name)
