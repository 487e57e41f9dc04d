"""The one place that knows how a change reaches readers.

Services call `broadcast_change` inside their transaction; the message is encoded once there and
sent to the feed's group only after the transaction commits, so no reader ever hears of a change
the database could still roll back. Consumers call `subscribe`/`unsubscribe` and receive each
change as a `feed.change` event carrying the encoded text.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from . import presence
from .events import encode

logger = logging.getLogger(__name__)

EVENT_TYPE = "feed.change"


def group_name(feed_slug: str) -> str:
    """The channel-layer group of a feed's readers, by slug (a feed's slug never changes), so a
    connecting reader can subscribe before its first database query."""
    if len(feed_slug) > 90:  # group names are limited to 100 characters
        feed_slug = hashlib.sha256(feed_slug.encode()).hexdigest()
    return f"feed.{feed_slug}"


def broadcast_change(*, feed_slug: str, seq: int, message: dict[str, Any]) -> None:
    """Send `message` to every reader of the feed once the current transaction commits."""
    text = encode(message)
    event = {"type": EVENT_TYPE, "seq": seq, "text": text}
    transaction.on_commit(lambda: _send(feed_slug, event))


def _send(feed_slug: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    try:
        if loop is None:
            async_to_sync(layer.group_send)(group_name(feed_slug), event)
        else:
            # Called from code that runs inside an event loop's thread (a script or test driving
            # an async library synchronously): async_to_sync cannot block there, so schedule it.
            loop.create_task(layer.group_send(group_name(feed_slug), event))
    except Exception:
        # The change is committed; readers will pick it up from the database when the next
        # message reveals the gap in `seq`, or when they reconnect.
        logger.exception("Could not broadcast change %s of feed %s", event["seq"], feed_slug)


async def subscribe(*, feed_slug: str, channel_name: str) -> None:
    """Start delivering a feed's changes to a consumer's channel."""
    await get_channel_layer().group_add(group_name(feed_slug), channel_name)
    presence.joined(feed_slug)


async def unsubscribe(*, feed_slug: str, channel_name: str) -> None:
    """Stop delivering a feed's changes to a consumer's channel."""
    await get_channel_layer().group_discard(group_name(feed_slug), channel_name)
    presence.left(feed_slug)


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
