"""The process's Redis subscription, against a real Redis server."""

from __future__ import annotations

import asyncio
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


async def test_a_link_logging_in_as_a_redis_user_subscribes_and_delivers(
    redis, settings, publisher, live_feed
):
    admin = redis_client.Redis.from_url(redis.url)
    admin.execute_command("ACL", "SETUSER", "livefeed-link", "on", ">s3cret", "~*", "&*", "+@all")
    port = redis_client.connection.parse_url(redis.url)["port"]
    settings.REDIS_URL = f"redis://livefeed-link:s3cret@127.0.0.1:{port}/0"
    communicator = WebsocketCommunicator(application, f"/ws/feeds/{live_feed.slug}/?after={live_feed.seq}")
    connected, _ = await communicator.connect()
    assert connected
    entry = await database_sync_to_async(services.create_entry)(
        feed=live_feed, by=publisher, body="Green flag"
    )
    message = json.loads(await communicator.receive_from(timeout=10))
    assert (message["type"], message["seq"]) == ("entry.created", entry.seq)
    clients = admin.client_list()
    assert any(client["user"] == "livefeed-link" and "subscribe" in client["cmd"] for client in clients)
    await communicator.disconnect()
    admin.execute_command("ACL", "DELUSER", "livefeed-link")
    admin.close()


def test_replies_are_read_whole_however_the_bytes_are_split():
    from feeds.broadcast.redis_link import Subscription

    stream = (
        b"*3\r\n$9\r\nsubscribe\r\n$10\r\nlf.feed.gp\r\n:1\r\n"
        b'*3\r\n$7\r\nmessage\r\n$10\r\nlf.feed.gp\r\n$12\r\n7 {"a":"\r\n"}\r\n'
        b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
        b"+OK\r\n$-1\r\n"
    )
    expected = [
        [b"subscribe", b"lf.feed.gp", 1],
        [b"message", b"lf.feed.gp", b'7 {"a":"\r\n"}'],
        [b"pong", b""],
        b"OK",
        None,
    ]

    async def read(chunks: list[bytes]) -> list[object]:
        subscription = Subscription()
        for chunk in chunks:
            subscription.data_received(chunk)
        return subscription.replies

    for split in range(1, len(stream)):
        assert asyncio.run(read([stream[:split], stream[split:]])) == expected
    assert asyncio.run(read([bytes([byte]) for byte in stream])) == expected


def test_an_error_reply_ends_the_subscription():
    from feeds.broadcast.redis_link import Subscription

    async def read() -> Subscription:
        subscription = Subscription()
        subscription.data_received(b"-NOPERM this user has no permissions\r\n")
        return subscription

    subscription = asyncio.run(read())
    assert isinstance(subscription.lost.exception(), ConnectionError)
    assert "NOPERM" in str(subscription.lost.exception())
