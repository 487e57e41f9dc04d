"""The process's Redis subscription, against a real Redis server."""

from __future__ import annotations

import json

import pytest
import redis as redis_client
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from feeds import services
from feeds.broadcast import redis_channel
from livefeed.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_malformed_message_on_a_feed_channel_is_skipped_without_dropping_readers(
    redis, settings, publisher, live_feed
):
    settings.REDIS_URL = redis.url
    other = await database_sync_to_async(services.create_feed)(
        by=publisher, title="Other", slug="other", status="live"
    )
    readers = []
    for feed in (live_feed, other):
        communicator = WebsocketCommunicator(application, f"/ws/feeds/{feed.slug}/?after={feed.seq}")
        connected, _ = await communicator.connect()
        assert connected
        readers.append(communicator)
    client = redis_client.Redis.from_url(redis.url)
    for garbage in (b"not-a-seq {}", b"", "12 \udcff".encode("utf-8", "surrogatepass")):
        client.publish(redis_channel(live_feed.slug), garbage)
    # Every reader still follows live changes: none was told to resume (close code 4012).
    for communicator, feed in zip(readers, (live_feed, other), strict=True):
        entry = await database_sync_to_async(services.create_entry)(
            feed=feed, by=publisher, body="still here"
        )
        message = json.loads(await communicator.receive_from(timeout=10))
        assert (message["type"], message["seq"]) == ("entry.created", entry.seq)
    for communicator in readers:
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()
    client.close()
