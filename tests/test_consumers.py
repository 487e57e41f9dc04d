"""The readers' WebSocket, driven through the real ASGI application."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from feeds import services
from feeds.models import Entry, Feed
from livefeed.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(path: str, origin: bytes = b"https://news.example") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, path, headers=[(b"origin", origin)])
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def receive(communicator: WebsocketCommunicator) -> dict:
    return json.loads(await communicator.receive_from(timeout=10))


async def test_catch_up_sends_every_missed_change_in_seq_order(publisher, live_feed):
    create = database_sync_to_async(services.create_entry)
    first = await create(feed=live_feed, by=publisher, body="first")
    second = await create(feed=live_feed, by=publisher, body="second")
    await database_sync_to_async(services.update_entry)(entry=first, by=publisher, body="first, edited")
    communicator = await connect(f"/ws/feeds/{live_feed.slug}/?after={first.created_seq}")
    messages = [await receive(communicator) for _ in range(2)]
    assert [(m["type"], m["entry"]["id"], m["seq"]) for m in messages] == [
        ("entry.created", second.pk, second.seq),
        ("entry.updated", first.pk, first.seq),
    ]
    assert messages[1]["entry"]["html"] == "<p>first, edited</p>"
    assert await communicator.receive_nothing(timeout=0.2)
    third = await create(feed=live_feed, by=publisher, body="third")  # positive control: the socket works
    assert (await receive(communicator))["seq"] == third.seq
    await communicator.disconnect()


async def test_live_changes_follow_the_catch_up(publisher, live_feed):
    communicator = await connect(f"/ws/feeds/{live_feed.slug}/?after={live_feed.seq}")
    assert await communicator.receive_nothing(timeout=0.1)
    entry = await database_sync_to_async(services.create_entry)(
        feed=live_feed, by=publisher, headline="Green flag"
    )
    message = await receive(communicator)
    assert message["type"] == "entry.created"
    assert message["seq"] == entry.seq and message["feed"] == live_feed.slug
    assert set(message["entry"]) >= {
        "id",
        "kind",
        "headline",
        "html",
        "published_at",
        "updated_at",
        "pinned",
        "key_event",
        "author",
    }
    assert message["entry"]["author"] == "Eddie Tor"
    created_seq = entry.seq
    await database_sync_to_async(services.delete_entry)(entry=entry, by=publisher)
    deleted = await receive(communicator)
    assert deleted == {
        "type": "entry.deleted",
        "seq": created_seq + 1,
        "feed": live_feed.slug,
        "entry": {"id": entry.pk},
    }
    await communicator.disconnect()


async def test_without_after_only_live_changes_are_sent(publisher, live_feed):
    create = database_sync_to_async(services.create_entry)
    await create(feed=live_feed, by=publisher, body="old news")
    communicator = await connect(f"/ws/feeds/{live_feed.slug}/")
    assert await communicator.receive_nothing(timeout=0.2)
    fresh = await create(feed=live_feed, by=publisher, body="fresh news")
    message = await receive(communicator)
    assert (message["seq"], message["entry"]["id"]) == (fresh.seq, fresh.pk)
    await communicator.disconnect()


async def test_feed_status_change_is_pushed(publisher, live_feed):
    communicator = await connect(f"/ws/feeds/{live_feed.slug}/?after={live_feed.seq}")
    await database_sync_to_async(services.update_feed)(feed=live_feed, by=publisher, status=Feed.Status.ENDED)
    message = await receive(communicator)
    assert message["type"] == "feed.updated" and message["feed_data"]["status"] == "ended"
    await communicator.disconnect()


async def test_draft_entry_never_sent_over_websocket(publisher, live_feed):
    communicator = await connect(f"/ws/feeds/{live_feed.slug}/?after={live_feed.seq}")
    create = database_sync_to_async(services.create_entry)
    draft = await create(feed=live_feed, by=publisher, body="embargoed", status=Entry.Status.DRAFT)
    assert await communicator.receive_nothing(timeout=0.3)
    # Positive control: a published entry posted the same way does arrive, and is the only one.
    published = await create(feed=live_feed, by=publisher, body="public")
    message = await receive(communicator)
    assert message["entry"]["id"] == published.pk != draft.pk
    assert "embargoed" not in json.dumps(message)
    await communicator.disconnect()


@pytest.mark.parametrize("slug", ["no-such-feed", "draft-feed"])
async def test_unknown_or_draft_feed_closes_with_4404(publisher, slug):
    await database_sync_to_async(services.create_feed)(by=publisher, title="Draft", slug="draft-feed")
    communicator = await connect(f"/ws/feeds/{slug}/")
    assert await communicator.receive_output(timeout=10) == {"type": "websocket.close", "code": 4404}


async def test_bad_after_closes_with_4400(live_feed):
    communicator = await connect(f"/ws/feeds/{live_feed.slug}/?after=yesterday")
    assert await communicator.receive_output(timeout=10) == {"type": "websocket.close", "code": 4400}


async def test_any_origin_may_read(publisher, live_feed):
    communicator = await connect(f"/ws/feeds/{live_feed.slug}/", origin=b"https://fan-forum.example.net")
    await database_sync_to_async(services.create_entry)(feed=live_feed, by=publisher, body="hello forum")
    assert (await receive(communicator))["type"] == "entry.created"
    await communicator.disconnect()


async def test_nothing_can_be_written_over_the_socket(publisher, live_feed):
    communicator = await connect(f"/ws/feeds/{live_feed.slug}/")
    await communicator.send_to(text_data=json.dumps({"type": "entry.created", "entry": {"headline": "fake"}}))
    assert await communicator.receive_nothing(timeout=0.2)
    assert not await database_sync_to_async(Entry.objects.exists)()
    entry = await database_sync_to_async(services.create_entry)(feed=live_feed, by=publisher, body="real")
    assert (await receive(communicator))["entry"]["id"] == entry.pk  # the socket was listening
    await communicator.disconnect()


async def test_a_gap_in_seq_is_filled_from_the_database(publisher, live_feed):
    """If a change's message is lost, the next one reveals the gap and the reader still gets both."""
    communicator = await connect(f"/ws/feeds/{live_feed.slug}/?after={live_feed.seq}")
    lost = await database_sync_to_async(services.create_entry)(feed=live_feed, by=publisher, body="lost")
    assert (await receive(communicator))["seq"] == lost.seq
    # Simulate a lost broadcast: commit a change without telling anyone, then a normal one.
    from django.db.models import F

    def silent_edit() -> int:
        Feed.objects.filter(pk=live_feed.pk).update(seq=F("seq") + 1)
        seq = Feed.objects.get(pk=live_feed.pk).seq
        Entry.objects.filter(pk=lost.pk).update(seq=seq, headline="silently edited")
        return seq

    silent_seq = await database_sync_to_async(silent_edit)()
    after = await database_sync_to_async(services.create_entry)(feed=live_feed, by=publisher, body="after")
    messages = [await receive(communicator) for _ in range(2)]
    assert [m["seq"] for m in messages] == [silent_seq, after.seq]
    assert messages[0]["entry"]["headline"] == "silently edited"
    await communicator.disconnect()


async def test_a_large_inbound_frame_closes_the_connection(live_feed):
    communicator = await connect(f"/ws/feeds/{live_feed.slug}/")
    await communicator.send_to(text_data="x" * 2048)
    assert await communicator.receive_output(timeout=10) == {"type": "websocket.close", "code": 1009}


async def test_a_flood_of_frames_closes_the_connection(live_feed):
    communicator = await connect(f"/ws/feeds/{live_feed.slug}/")
    for _ in range(20):
        await communicator.send_to(text_data="ping")
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.send_to(text_data="ping")
    assert await communicator.receive_output(timeout=10) == {"type": "websocket.close", "code": 1008}


async def client_at(address: str, slug: str) -> tuple[WebsocketCommunicator, dict | None]:
    communicator = WebsocketCommunicator(application, f"/ws/feeds/{slug}/")
    communicator.scope["client"] = [address, 40000]
    connected, _ = await communicator.connect()
    assert connected
    closed = None if await communicator.receive_nothing(timeout=0.2) else await communicator.receive_output()
    return communicator, closed


async def test_one_client_address_cannot_hold_more_than_its_share_of_connections(live_feed, settings):
    settings.LIVEFEED = {**settings.LIVEFEED, "MAX_CONNECTIONS_PER_ADDRESS": 3}
    held = [await client_at("203.0.113.5", live_feed.slug) for _ in range(3)]
    assert [closed for _, closed in held] == [None, None, None]
    _, refused = await client_at("203.0.113.5", live_feed.slug)
    assert refused == {"type": "websocket.close", "code": 4429}
    other, closed = await client_at("198.51.100.7", live_feed.slug)
    assert closed is None
    await held[0][0].disconnect()
    again, closed = await client_at("203.0.113.5", live_feed.slug)
    assert closed is None
    for communicator in [*(c for c, _ in held[1:]), other, again]:
        await communicator.disconnect()


async def test_a_reader_ahead_of_the_feed_is_told_to_reload_then_follows_live_changes(publisher, live_feed):
    """A restored backup or a stale tab: silence would leave the reader waiting for ever."""
    current = live_feed.seq
    communicator = await connect(f"/ws/feeds/{live_feed.slug}/?after={current + 50}")
    assert await receive(communicator) == {"type": "feed.reset", "seq": current, "feed": live_feed.slug}
    entry = await database_sync_to_async(services.create_entry)(
        feed=live_feed, by=publisher, body="after reset"
    )
    message = await receive(communicator)
    assert (message["type"], message["seq"]) == ("entry.created", entry.seq)
    await communicator.disconnect()


async def test_a_reader_more_than_a_page_behind_is_told_to_reload_instead_of_a_burst(
    publisher, live_feed, settings
):
    settings.LIVEFEED = {**settings.LIVEFEED, "PAGE_SIZE": 3}
    create = database_sync_to_async(services.create_entry)
    for n in range(4):
        await create(feed=live_feed, by=publisher, body=f"entry {n}")
    current = await database_sync_to_async(lambda: Feed.objects.get(pk=live_feed.pk).seq)()
    communicator = await connect(f"/ws/feeds/{live_feed.slug}/?after=0")
    assert await receive(communicator) == {"type": "feed.reset", "seq": current, "feed": live_feed.slug}
    assert await communicator.receive_nothing(timeout=0.2)
    entry = await create(feed=live_feed, by=publisher, body="live again")
    assert (await receive(communicator))["seq"] == entry.seq == current + 1
    await communicator.disconnect()
    # Within a page, the catch-up is sent change by change as before.
    close_behind = await connect(f"/ws/feeds/{live_feed.slug}/?after={current - 2}")
    assert [(await receive(close_behind))["seq"] for _ in range(3)] == [current - 1, current, current + 1]
    await close_behind.disconnect()


async def test_a_catch_up_that_fails_leaves_no_listener_count_or_slot_behind(
    live_feed, monkeypatch, settings
):
    from django.db import DatabaseError

    from feeds import consumers, presence
    from feeds.broadcast.hub import hub

    settings.LIVEFEED = {**settings.LIVEFEED, "MAX_CONNECTIONS_PER_ADDRESS": 1}

    def broken(**kwargs):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(consumers.selectors, "changes_after", broken)
    communicator = WebsocketCommunicator(application, f"/ws/feeds/{live_feed.slug}/?after=0")
    communicator.scope["client"] = ["203.0.113.9", 40000]
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_output(timeout=10) == {"type": "websocket.close", "code": 4012}
    assert hub.listeners() == []
    assert await presence.reader_count(feed_slug=live_feed.slug) == 0
    assert dict(consumers._connections_by_address) == {}
    await communicator.disconnect()
    # The address's one slot is free again: the same client can connect.
    monkeypatch.undo()
    again, closed = await client_at("203.0.113.9", live_feed.slug)
    assert closed is None
    assert len(hub.listeners()) == 1
    await again.disconnect()


async def test_a_gap_fill_that_fails_tells_the_reader_to_resume(publisher, live_feed, monkeypatch):
    from django.db import DatabaseError

    from feeds import consumers
    from feeds.broadcast import Change
    from feeds.broadcast.hub import hub

    communicator = await connect(f"/ws/feeds/{live_feed.slug}/?after={live_feed.seq}")
    first = await database_sync_to_async(services.create_entry)(feed=live_feed, by=publisher, body="first")
    assert (await receive(communicator))["seq"] == first.seq

    async def broken(slug, after):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(consumers, "catch_up", broken)
    hub.fan_out(live_feed.slug, Change(first.seq + 2, '{"type":"entry.created"}'))  # reveals a gap
    assert await communicator.receive_output(timeout=10) == {"type": "websocket.close", "code": 4012}


async def test_a_transient_message_is_written_at_once_and_takes_no_seq(publisher, live_feed):
    from feeds.broadcast import broadcast_transient

    before = live_feed.seq
    communicator = await connect(f"/ws/feeds/{live_feed.slug}/?after={before}")
    assert await communicator.receive_nothing(timeout=0.1)
    broadcast_transient(feed_slug=live_feed.slug, message={"type": "counts", "feed": live_feed.slug, "n": 3})
    assert await receive(communicator) == {"type": "counts", "feed": live_feed.slug, "n": 3}
    # The sequence of changes goes on as if it had not been there: no gap to fill, nothing skipped.
    entry = await database_sync_to_async(services.create_entry)(feed=live_feed, by=publisher, body="next")
    message = await receive(communicator)
    assert message["seq"] == entry.seq == before + 1
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()
