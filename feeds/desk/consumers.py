"""The desk's WebSocket: staff of the newsroom follow every change to a feed, drafts included,
the number of readers watching it now and each new sample of the audience chart.

Unlike the readers' socket it needs the admin session and accepts only this site's origin.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user
from django.utils import timezone

from .. import presence, roles
from ..audience.sampling import interval_seconds, keep_sampling
from ..broadcast.desk import subscribe_desk, unsubscribe_desk
from ..broadcast.writers import CLOSE_RESUME
from ..events import timestamp
from ..models import Feed, ReaderSample

logger = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
READER_COUNT_INTERVAL = 2.0


def _may_watch(user: Any, slug: str) -> bool | None:
    """True if the user may watch the feed's desk, False if not, None if there is no such feed."""
    if user is None or not roles.can_watch_desk(user):
        return False
    return True if Feed.objects.filter(slug=slug).exists() else None


may_watch = database_sync_to_async(_may_watch)


@database_sync_to_async
def samples_after(slug: str, after: datetime) -> list[tuple[datetime, int]]:
    """The feed's audience samples taken after `after`, oldest first."""
    return list(
        ReaderSample.objects.filter(feed__slug=slug, at__gt=after).order_by("at").values_list("at", "readers")
    )


def _session_still_allows(session_key: str | None, user_id: Any) -> bool:
    """Whether the session the desk opened with still exists, still belongs to the same user, and
    that user (read afresh: roles and staff status can be taken away) may still watch desks."""
    if not session_key:
        return False
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(SimpleNamespace(session=store))
    return user.pk == user_id and roles.can_watch_desk(user)


session_still_allows = database_sync_to_async(_session_still_allows)


class DeskConsumer(AsyncWebsocketConsumer):
    """One staff member's desk for one feed."""

    slug: str | None = None
    counter: asyncio.Task | None = None
    session_key: str | None = None
    user_id: Any = None

    async def connect(self) -> None:
        """Check the session's user, subscribe to the desk group, start counting readers."""
        slug = self.scope["url_route"]["kwargs"]["slug"]
        allowed = await may_watch(self.scope.get("user"), slug)
        await self.accept()
        if not allowed:
            await self.close(code=CLOSE_FORBIDDEN if allowed is False else CLOSE_NOT_FOUND)
            return
        self.slug = slug
        session = self.scope.get("session")
        self.session_key = session.session_key if session is not None else None
        self.user_id = self.scope["user"].pk
        await subscribe_desk(feed_slug=slug, channel_name=self.channel_name)
        keep_sampling()
        self.counter = asyncio.create_task(self._count_readers())

    async def _still_allowed(self) -> bool:
        """Re-check the session and role; a revoked editor is closed with 4403 and gets no more."""
        if self.slug is None:
            return False
        if await session_still_allows(self.session_key, self.user_id):
            return True
        logger.info("Closing a desk of %s: its session or role was revoked", self.slug)
        await unsubscribe_desk(feed_slug=self.slug, channel_name=self.channel_name)
        self.slug = None
        if self.counter is not None and self.counter is not asyncio.current_task():
            self.counter.cancel()
        await self.close(code=CLOSE_FORBIDDEN)
        return False

    async def _count_readers(self) -> None:
        """Send the feed's reader count whenever it changes, each new audience sample, and re-check
        the session, every 2 s."""
        last = None
        # The desk's chart loaded the samples before its socket opened; a repeat is merged by time.
        sampled = timezone.now() - timedelta(seconds=2 * interval_seconds())
        while True:
            try:
                if not await self._still_allowed():
                    return
                count = await presence.reader_count(feed_slug=self.slug)
                if count != last:
                    last = count
                    await self.send(text_data=f'{{"type":"readers","count":{count}}}')
                for at, readers in await samples_after(self.slug, sampled):
                    sampled = at
                    sample = {"type": "readers.sample", "at": timestamp(at), "readers": readers}
                    await self.send(text_data=json.dumps(sample))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Could not count the readers of %s", self.slug)
            await asyncio.sleep(READER_COUNT_INTERVAL)

    async def desk_change(self, event: dict[str, Any]) -> None:
        """Called for each change to the feed (drafts included); forwards the encoded text to a
        session that may still see it."""
        if await self._still_allowed():
            await self.send(text_data=event["text"])

    async def desk_reload(self, event: dict[str, Any]) -> None:
        """Called when a change was too big to relay between local processes: the desk reconnects
        on this close code and reloads its list."""
        await self.close(code=CLOSE_RESUME)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Writes go through the desk's HTTP endpoints; anything sent here is ignored."""

    async def disconnect(self, code: int) -> None:
        if self.counter is not None:
            self.counter.cancel()
        if self.slug is not None:
            await unsubscribe_desk(feed_slug=self.slug, channel_name=self.channel_name)
