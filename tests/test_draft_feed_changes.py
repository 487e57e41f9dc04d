"""Entries prepared in a draft feed (the messaging workflow posts to a draft feed on purpose) reach
readers, the events API and partners when the feed goes live, like any other change; and a feed
going back to draft tells readers nothing that was not public."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from feeds import services, signals
from feeds.models import Entry, Feed
from livefeed.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def recorded():
    """Every change as plug-ins (webhooks, WebSub) hear it, through `change_recorded`."""
    heard: list[tuple[int, dict]] = []

    def receiver(*, seq: int, text: str, **kwargs: object) -> None:
        heard.append((seq, json.loads(text)))

    signals.change_recorded.connect(receiver, dispatch_uid="test-recorded")
    yield heard
    signals.change_recorded.disconnect(dispatch_uid="test-recorded")


def events_after(slug: str, after: int) -> list[dict]:
    response = Client().get(f"/api/feeds/{slug}/events/?after={after}")
    assert response.status_code == 200
    return response.json()["events"]


async def catch_up_from_zero(slug: str) -> list[dict]:
    communicator = WebsocketCommunicator(application, f"/ws/feeds/{slug}/?after=0")
    connected, _ = await communicator.connect()
    assert connected
    messages = []
    while not await communicator.receive_nothing(timeout=0.5):
        messages.append(json.loads(await communicator.receive_from()))
    await communicator.disconnect()
    return messages


def test_entry_published_in_a_draft_feed_reaches_every_path_when_the_feed_goes_live(publisher, recorded):
    feed = services.create_feed(by=publisher, title="Qualifying", slug="qualifying")
    entry = services.create_entry(feed=feed, by=publisher, headline="Pole for number 7", body="x")
    assert recorded == []
    services.update_feed(feed=feed, by=publisher, status=Feed.Status.LIVE)

    entry.refresh_from_db()
    assert entry.seq is not None and entry.created_seq == entry.seq
    assert entry.published_at is not None
    assert Client().get(f"/feeds/{feed.slug}/entries/{entry.pk}/").status_code == 200
    events = events_after(feed.slug, 0)
    assert [(e["type"], e.get("entry", {}).get("id")) for e in events] == [
        ("feed.updated", None),
        ("entry.created", entry.pk),
    ]
    assert [e["seq"] for e in events] == [1, 2]
    assert [(seq, m["type"]) for seq, m in recorded] == [(1, "feed.updated"), (2, "entry.created")]
    assert recorded[1][1]["entry"]["headline"] == "Pole for number 7"


async def test_entry_published_in_a_draft_feed_is_in_a_websocket_catch_up_from_zero(publisher):
    feed = await database_sync_to_async(services.create_feed)(by=publisher, title="Warm-up", slug="warm-up")
    entry = await database_sync_to_async(services.create_entry)(feed=feed, by=publisher, headline="Held")
    await database_sync_to_async(services.update_feed)(feed=feed, by=publisher, status=Feed.Status.LIVE)
    messages = await catch_up_from_zero(feed.slug)
    assert [(m["type"], m.get("entry", {}).get("id")) for m in messages] == [
        ("feed.updated", None),
        ("entry.created", entry.pk),
    ]
    assert messages[1]["entry"]["published_at"] is not None


def test_changes_made_while_a_live_feed_is_back_in_draft_reach_readers_when_it_returns(
    publisher, live_feed, recorded
):
    edited = services.create_entry(feed=live_feed, by=publisher, headline="Before", body="x")
    removed = services.create_entry(feed=live_feed, by=publisher, headline="Soon gone", body="x")
    kept = services.create_entry(feed=live_feed, by=publisher, headline="Untouched", body="x")
    services.update_feed(feed=live_feed, by=publisher, status=Feed.Status.DRAFT)
    seen = Feed.objects.get(pk=live_feed.pk).seq
    recorded.clear()

    services.update_entry(entry=edited, by=publisher, headline="After")
    services.delete_entry(entry=removed, by=publisher)
    added = services.create_entry(feed=live_feed, by=publisher, headline="Added in draft", body="x")
    assert recorded == []
    services.update_feed(feed=live_feed, by=publisher, status=Feed.Status.LIVE)

    events = events_after(live_feed.slug, seen)
    summary = [(e["type"], e.get("entry", {}).get("id")) for e in events]
    assert summary == [
        ("feed.updated", None),
        ("entry.updated", edited.pk),
        ("entry.deleted", removed.pk),
        ("entry.created", added.pk),
    ]
    assert [e["seq"] for e in events] == list(range(seen + 1, seen + 5))
    assert events[1]["entry"]["headline"] == "After"
    assert [m for _, m in recorded] == events
    assert kept.pk not in [e.get("entry", {}).get("id") for e in events]
    added.refresh_from_db()
    assert added.published_at is not None
    assert Client().get(f"/feeds/{live_feed.slug}/entries/{added.pk}/").status_code == 200


def test_a_feed_going_back_to_draft_tells_readers_only_what_was_public(publisher, live_feed, recorded):
    services.update_feed(
        feed=live_feed,
        by=publisher,
        status=Feed.Status.DRAFT,
        title="Secret new name",
        summary="Unannounced sponsor",
    )
    [(seq, message)] = recorded
    assert message["type"] == "feed.updated" and message["feed_data"]["status"] == "draft"
    assert message["feed_data"]["title"] == "Night Race" and message["feed_data"]["summary"] == ""
    assert "Secret" not in json.dumps(message) and "sponsor" not in json.dumps(message)
    assert message["seq"] == message["feed_data"]["seq"] == seq
    # Positive control: once live again, the new title is public and is sent.
    services.update_feed(feed=live_feed, by=publisher, status=Feed.Status.LIVE)
    assert recorded[-1][1]["feed_data"]["title"] == "Secret new name"


def test_an_entry_deleted_in_a_draft_feed_before_readers_saw_it_leaves_nothing(publisher):
    feed = services.create_feed(by=publisher, title="Test day", slug="test-day")
    entry = services.create_entry(feed=feed, by=publisher, headline="Oops", body="x")
    services.delete_entry(entry=entry, by=publisher)
    assert not Entry.objects.filter(pk=entry.pk).exists()
    services.update_feed(feed=feed, by=publisher, status=Feed.Status.LIVE)
    assert [e["type"] for e in events_after(feed.slug, 0)] == ["feed.updated"]
