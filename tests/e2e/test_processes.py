"""Real Redis, real Daphne processes sharing it, readers over real sockets."""

from __future__ import annotations

import json

import httpx2 as httpx
import pytest
from websockets.sync.client import connect

from tests.fixtures.readers import FeedState

pytestmark = pytest.mark.django_db(transaction=True)


def post(server, publisher, path: str, method: str = "POST", **data) -> httpx.Response:
    response = httpx.request(
        method,
        f"{server.url}/api/feeds/{path}",
        json=data or None,
        headers={"Authorization": f"Bearer {publisher.token}"},
        timeout=10,
    )
    response.raise_for_status()
    return response


def server_entries(server, slug: str) -> dict[int, tuple[str, str]]:
    data = httpx.get(f"{server.url}/api/feeds/{slug}/", timeout=10).json()
    entries = data["entries"] + ([data["pinned"]] if data["pinned"] else [])
    return {entry["id"]: (entry["headline"], entry["html"]) for entry in entries}


def test_reader_on_one_process_receives_entry_posted_through_another(
    start_daphne, redis, publisher, live_feed
):
    a = start_daphne(REDIS_URL=redis.url)
    b = start_daphne(REDIS_URL=redis.url)
    with connect(f"{b.ws_url}/ws/feeds/{live_feed.slug}/?after={live_feed.seq}", open_timeout=10) as reader:
        created = post(
            a, publisher, f"{live_feed.slug}/entries/", headline="Green flag", body="Racing!"
        ).json()
        message = json.loads(reader.recv(timeout=10))
    assert message["type"] == "entry.created"
    assert message["seq"] == created["seq"] == live_feed.seq + 1
    assert message["entry"]["id"] == created["id"] and message["entry"]["html"] == "<p>Racing!</p>"


def test_reader_that_reconnects_ends_with_exactly_the_servers_state(
    start_daphne, redis, publisher, live_feed
):
    a = start_daphne(REDIS_URL=redis.url)
    b = start_daphne(REDIS_URL=redis.url)
    slug = live_feed.slug
    state = FeedState(last_seq=live_feed.seq)
    with connect(f"{b.ws_url}/ws/feeds/{slug}/?after={state.last_seq}", open_timeout=10) as reader:
        ids = [
            post(a, publisher, f"{slug}/entries/", headline=f"Lap {n}", body="Report").json()["id"]
            for n in range(3)
        ]
        pinned = post(a, publisher, f"{slug}/entries/", headline="Pinned", body="Report", pinned=True).json()
        state.receive_until(reader, pinned["seq"])
    # While the reader is away: a new entry, an edit, a delete, a draft and a new pin.
    new = post(a, publisher, f"{slug}/entries/", headline="Caution", body="Debris").json()
    post(a, publisher, f"{slug}/entries/{ids[0]}/", method="PATCH", body="Lap 0, corrected")
    post(a, publisher, f"{slug}/entries/{ids[1]}/", method="DELETE")
    post(a, publisher, f"{slug}/entries/", headline="Embargoed", body="Report", status="draft")
    post(a, publisher, f"{slug}/entries/{new['id']}/", method="PATCH", pinned=True)
    current = httpx.get(f"{a.url}/api/feeds/{slug}/events/?after=0", timeout=10).json()["seq"]
    with connect(f"{b.ws_url}/ws/feeds/{slug}/?after={state.last_seq}", open_timeout=10) as reader:
        state.receive_until(reader, current)
    assert state.visible() == server_entries(a, slug)
    assert ids[1] not in state.entries and new["id"] in state.entries
    assert state.entries[new["id"]]["pinned"] and not state.entries[pinned["id"]]["pinned"]
    assert state.seqs == sorted(set(state.seqs)), "each change once, in seq order"


def test_events_api_matches_the_websocket(start_daphne, publisher, live_feed):
    server = start_daphne()
    slug = live_feed.slug
    with connect(f"{server.ws_url}/ws/feeds/{slug}/?after={live_feed.seq}", open_timeout=10) as reader:
        last = post(server, publisher, f"{slug}/entries/", headline="Stage 1", body="Report").json()
        pushed = json.loads(reader.recv(timeout=10))
    polled = httpx.get(f"{server.url}/api/feeds/{slug}/events/?after={live_feed.seq}", timeout=10).json()
    assert polled["events"] == [pushed] and polled["seq"] == last["seq"]


def test_sites_sharing_one_redis_keep_their_changes_and_reader_counts_apart(
    start_daphne, redis, publisher, live_feed
):
    """Two sites (each its own REDIS_PREFIX) on one Redis: each publishes only on its own channels
    and counts readers under its own keys, though both serve a feed of the same slug."""
    import redis as redis_client

    watcher = redis_client.Redis(port=redis.port, socket_timeout=10).pubsub()
    watcher.psubscribe("*")
    site_a = start_daphne(REDIS_URL=redis.url, LIVEFEED_REDIS_PREFIX="site-a")
    site_b = start_daphne(REDIS_URL=redis.url, LIVEFEED_REDIS_PREFIX="site-b")
    slug = live_feed.slug
    published: set[tuple[bytes, int]] = set()

    def published_until(seq: int, channel: bytes) -> None:
        for message in watcher.listen():
            if message["type"] == "pmessage" and b".feed." in message["channel"]:
                published.add((message["channel"], int(message["data"].split(b" ", 1)[0])))
                if (channel, seq) in published:
                    return

    with (
        connect(f"{site_a.ws_url}/ws/feeds/{slug}/?after={live_feed.seq}", open_timeout=10) as reader_a,
        connect(f"{site_b.ws_url}/ws/feeds/{slug}/?after={live_feed.seq}", open_timeout=10) as reader_b,
    ):
        on_a = post(site_a, publisher, f"{slug}/entries/", headline="Site A", body="-").json()
        assert json.loads(reader_a.recv(timeout=10))["seq"] == on_a["seq"]
        published_until(on_a["seq"], f"site-a.feed.{slug}".encode())
        on_b = post(site_b, publisher, f"{slug}/entries/", headline="Site B", body="-").json()
        seqs_b = []
        while on_b["seq"] not in seqs_b:
            seqs_b.append(json.loads(reader_b.recv(timeout=10))["seq"])
        published_until(on_b["seq"], f"site-b.feed.{slug}".encode())
        keys = redis_client.Redis(port=redis.port)
        presence_a, presence_b = keys.keys("site-a:presence:*"), keys.keys("site-b:presence:*")
    assert published == {
        (f"site-a.feed.{slug}".encode(), on_a["seq"]),
        (f"site-b.feed.{slug}".encode(), on_b["seq"]),
    }
    assert presence_a and presence_b, "each site keeps its reader count under its own prefix"
    assert not set(presence_a) & set(presence_b)
