"""WebSub: public feeds name their hub, and the hub hears of changes once per burst, never of drafts."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs
from xml.etree import ElementTree

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from feeds import services
from feeds.models import Feed
from feeds.webhooks import websub
from feeds.webhooks.models import WebSubPing
from feeds.webhooks.websub import ping_websub_hub

pytestmark = pytest.mark.django_db

SITE = "https://live.example.com"
ATOM = "http://www.w3.org/2005/Atom"
SYNDICATION = ["atom/", "rss/", "feed.json"]


@pytest.fixture
def hub(settings, receiver):
    settings.LIVEFEED = {**settings.LIVEFEED, "WEBSUB_HUB": receiver.url + "/hub", "SITE_URL": SITE}
    return receiver


def ping_tasks() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(task_path=ping_websub_hub.module_path, status="READY"))


def test_feeds_name_the_hub_and_themselves_in_link_headers_and_documents(hub, live_feed):
    client = Client()
    for suffix in SYNDICATION:
        response = client.get(f"/feeds/{live_feed.slug}/{suffix}")
        self_url = f"{SITE}/feeds/{live_feed.slug}/{suffix}"
        assert response.status_code == 200
        assert response["Link"] == f'<{hub.url}/hub>; rel="hub", <{self_url}>; rel="self"'
    atom = ElementTree.fromstring(client.get(f"/feeds/{live_feed.slug}/atom/").content)
    links = {link.get("rel"): link.get("href") for link in atom.findall(f"{{{ATOM}}}link")}
    assert links["hub"] == hub.url + "/hub" and links["self"] == f"{SITE}/feeds/{live_feed.slug}/atom/"
    rss = ElementTree.fromstring(client.get(f"/feeds/{live_feed.slug}/rss/").content)
    links = {link.get("rel"): link.get("href") for link in rss.iter(f"{{{ATOM}}}link")}
    assert links["hub"] == hub.url + "/hub" and links["self"] == f"{SITE}/feeds/{live_feed.slug}/rss/"
    assert client.get(f"/feeds/{live_feed.slug}/feed.json").json()["hubs"] == [
        {"type": "WebSub", "url": hub.url + "/hub"}
    ]


def test_without_a_hub_nothing_is_advertised_or_queued(publisher, live_feed):
    client = Client()
    for suffix in SYNDICATION:
        assert "Link" not in client.get(f"/feeds/{live_feed.slug}/{suffix}")
    assert 'rel="hub"' not in client.get(f"/feeds/{live_feed.slug}/atom/").content.decode()
    services.create_entry(feed=live_feed, by=publisher, body="Green flag")
    assert not WebSubPing.objects.exists() and ping_tasks() == []


def test_the_hub_is_told_of_each_syndication_url_after_a_change(hub, publisher, live_feed):
    services.create_entry(feed=live_feed, by=publisher, body="Green flag")
    (task,) = ping_tasks()
    assert websub.ping(**task.args_kwargs["kwargs"]) is True
    requests = hub.wait_for(3)
    assert [request.path for request in requests] == ["/hub"] * 3
    forms = [parse_qs(request.body.decode()) for request in requests]
    assert all(form["hub.mode"] == ["publish"] for form in forms)
    assert [form["hub.url"][0] for form in forms] == [
        f"{SITE}/feeds/{live_feed.slug}/{suffix}" for suffix in SYNDICATION
    ]


def test_a_burst_of_changes_is_one_ping(hub, publisher, live_feed):
    for lap in range(1, 6):
        services.create_entry(feed=live_feed, by=publisher, body=f"Lap {lap}")
    services.update_race_status(feed=live_feed, by=publisher, changes={"lap": 6})
    (task,) = ping_tasks()
    websub.ping(feed_id=live_feed.pk)
    assert len(hub.wait_for(3)) == 3
    # Nothing is left pending, so a second run sends nothing; the next change queues a new ping.
    assert websub.ping(feed_id=live_feed.pk) is False and len(hub.requests) == 3
    task.delete()
    services.create_entry(feed=live_feed, by=publisher, body="Lap 7")
    assert len(ping_tasks()) == 1


@pytest.mark.django_db(transaction=True)
def test_changes_made_while_pinging_are_pinged_once_more(hub, publisher, live_feed):
    services.create_entry(feed=live_feed, by=publisher, body="Lap 1")
    DBTaskResult.objects.all().delete()
    release = hub.hold()
    pinging = threading.Thread(target=websub.ping, kwargs={"feed_id": live_feed.pk})
    pinging.start()
    try:
        hub.wait_for(1)  # the hub is slow to answer; meanwhile two more changes
        services.create_entry(feed=live_feed, by=publisher, body="Lap 2")
        services.create_entry(feed=live_feed, by=publisher, body="Lap 3")
        assert ping_tasks() == []  # a ping is pending: they add nothing
    finally:
        release.set()
    pinging.join(10)
    (again,) = ping_tasks()
    assert websub.ping(**again.args_kwargs["kwargs"]) is True
    assert len(hub.wait_for(6)) == 6
    state = WebSubPing.objects.get()
    assert state.pinged_seq == state.requested_seq == Feed.objects.get().seq


def test_a_failing_hub_is_retried_later(hub, publisher, live_feed):
    services.create_entry(feed=live_feed, by=publisher, body="Lap 1")
    DBTaskResult.objects.all().delete()
    hub.fail(1, status=503)
    assert websub.ping(feed_id=live_feed.pk) is False
    (retry,) = ping_tasks()
    state = WebSubPing.objects.get()
    assert state.attempts == 1 and "HTTP 503" in state.last_error and state.requested_seq > state.pinged_seq
    assert websub.ping(feed_id=live_feed.pk) is True and len(hub.wait_for(4)) == 4


def test_draft_feeds_are_never_announced(hub, publisher):
    feed = services.create_feed(by=publisher, title="Next week", slug="next-week")
    services.create_entry(feed=feed, by=publisher, body="Published into a draft feed")
    services.update_race_status(feed=feed, by=publisher, changes={"flag": "green"})
    assert not WebSubPing.objects.exists() and ping_tasks() == []
    response = Client().get(f"/feeds/{feed.slug}/atom/")
    assert response.status_code == 404 and "Link" not in response
