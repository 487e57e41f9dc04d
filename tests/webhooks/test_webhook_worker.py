"""Webhooks and WebSub pings delivered by the real background worker process (`manage.py db_worker`)."""

from __future__ import annotations

import json
import time

import pytest

from feeds import services
from feeds.models import Feed
from feeds.webhooks import subscriptions
from feeds.webhooks.models import WebhookDelivery, WebhookSubscription, WebSubPing
from tests.fixtures.receivers import documented_verify
from tests.fixtures.receivers import receiver as start_receiver

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "partner-secret"
SITE = "https://live.example.com"


def subscribe(feed: Feed, by, url: str) -> WebhookSubscription:
    return subscriptions.save_subscription(
        subscription=WebhookSubscription(feed=feed, url=url, secret=SECRET), by=by
    )


def wait_until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the worker did not get there in time")
        time.sleep(0.1)


def test_the_worker_delivers_every_change_in_order_through_failures_and_pings_the_hub(
    settings, start_worker, publisher, live_feed, receiver
):
    verify = documented_verify()
    with start_receiver() as hub:
        settings.LIVEFEED = {**settings.LIVEFEED, "WEBSUB_HUB": hub.url, "SITE_URL": SITE}
        start_worker(
            LIVEFEED_WEBHOOK_RETRY_SECONDS="0.2", LIVEFEED_WEBSUB_HUB=hub.url, LIVEFEED_SITE_URL=SITE
        )
        subscribe(live_feed, publisher, receiver.url)
        receiver.fail(2)
        first = services.create_entry(feed=live_feed, by=publisher, body="Lights out")
        second = services.create_entry(feed=live_feed, by=publisher, body="Lap 1")
        services.update_race_status(feed=live_feed, by=publisher, changes={"flag": "yellow"})
        services.delete_entry(entry=first, by=publisher)
        acknowledged = receiver.wait_acknowledged(4)
        seq = Feed.objects.get().seq
        wait_until(lambda: WebSubPing.objects.filter(pinged_seq=seq).exists())
    assert [request.answered for request in receiver.requests] == [500, 500, 204, 204, 204, 204]
    assert all(
        verify(SECRET, request.body, request.headers["Livefeed-Signature"]) for request in receiver.requests
    )
    messages = [json.loads(request.body) for request in acknowledged]
    assert [(message["type"], message["seq"]) for message in messages] == [
        ("entry.created", seq - 3),
        ("entry.created", seq - 2),
        ("feed.updated", seq - 1),
        ("entry.deleted", seq),
    ]
    assert messages[1]["entry"]["id"] == second.pk
    assert len({request.headers["Livefeed-Delivery"] for request in acknowledged}) == 4
    # The worker records an acknowledgement once it has read it, a moment after the receiver sent it.
    wait_until(lambda: not WebhookDelivery.objects.filter(status="pending").exists())
    # The hub heard of all three feeds, in as many pings as it took, never more than one per change.
    topics = [request.body.decode() for request in hub.requests]
    assert topics and len(topics) % 3 == 0 and len(topics) <= 3 * 4
    assert all("hub.mode=publish" in topic for topic in topics)


def test_posting_returns_while_the_receiver_hangs(start_worker, publisher, live_feed, receiver):
    start_worker()
    subscribe(live_feed, publisher, receiver.url)
    release = receiver.hold()
    services.create_entry(feed=live_feed, by=publisher, body="Lap 1")
    receiver.wait_for(1)  # the worker is stuck waiting for the receiver
    later = services.create_entry(feed=live_feed, by=publisher, body="Lap 2")
    # The post came back while the receiver still holds the first delivery.
    assert not release.is_set() and len(receiver.requests) == 1
    assert WebhookDelivery.objects.get(seq=later.seq).status == "pending"
    release.set()
    acknowledged = receiver.wait_acknowledged(2)
    assert [json.loads(request.body)["entry"]["html"] for request in acknowledged] == [
        "<p>Lap 1</p>",
        "<p>Lap 2</p>",
    ]
