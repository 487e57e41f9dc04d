"""The desk across real processes: reader counts over two Daphne processes sharing Redis, drafts
reaching staff only, and scheduled entries published by the real background worker."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from datetime import timedelta

import httpx2 as httpx
import pytest
from django.test import Client
from django.utils import timezone
from websockets.sync.client import connect

from feeds.models import Entry

pytestmark = pytest.mark.django_db(transaction=True)


def desk_socket(server, user, slug: str):
    client = Client()
    client.force_login(user)
    return connect(
        f"{server.ws_url}/ws/desk/{slug}/",
        open_timeout=10,
        origin=server.url,
        additional_headers={"Cookie": f"sessionid={client.cookies['sessionid'].value}"},
    )


def readers_reach(socket, count: int, timeout: float = 15) -> None:
    """Wait until the desk reports `count` readers (counts from other processes arrive within seconds)."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            message = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            break
        if message["type"] == "readers":
            seen.append(message["count"])
            if message["count"] == count:
                return
    raise AssertionError(f"the desk reported {seen}, never {count}")


def next_of(socket, wanted: str, timeout: float = 10) -> dict:
    while True:
        message = json.loads(socket.recv(timeout=timeout))
        if message["type"] == wanted:
            return message


def test_desk_counts_readers_on_every_process(start_daphne, redis, make_member, live_feed):
    a = start_daphne(REDIS_URL=redis.url)
    b = start_daphne(REDIS_URL=redis.url)
    editor = make_member("Editor", "eve")
    with ExitStack() as stack:
        readers = [
            stack.enter_context(connect(f"{server.ws_url}/ws/feeds/{live_feed.slug}/", open_timeout=10))
            for server in (a, a, a, b, b)
        ]
        with desk_socket(b, editor, live_feed.slug) as desk:
            readers_reach(desk, 5)
            readers[0].close()
            readers_reach(desk, 4)
        # A process that dies without saying goodbye drops out of the count within seconds.
        a.process.kill()
        with desk_socket(b, editor, live_feed.slug) as desk:
            readers_reach(desk, 2)


def test_a_draft_posted_on_one_process_reaches_the_desk_on_another_and_no_reader(
    start_daphne, redis, make_member, live_feed
):
    a = start_daphne(REDIS_URL=redis.url)
    b = start_daphne(REDIS_URL=redis.url)
    contributor, editor = make_member("Contributor", "casey"), make_member("Editor", "eve")
    with (
        connect(f"{b.ws_url}/ws/feeds/{live_feed.slug}/?after={live_feed.seq}", open_timeout=10) as reader,
        desk_socket(b, editor, live_feed.slug) as desk,
    ):
        response = httpx.post(
            f"{a.url}/api/feeds/{live_feed.slug}/entries/",
            json={"body": "Embargoed", "status": "draft"},
            headers={"Authorization": f"Bearer {contributor.token}"},
            timeout=10,
        )
        assert response.status_code == 201
        message = next_of(desk, "entry.updated")
        assert message["entry"]["body"] == "Embargoed" and message["entry"]["status"] == "draft"
        with pytest.raises(TimeoutError):
            reader.recv(timeout=1)
        # Positive control: the same reader does hear a published entry.
        published = httpx.post(
            f"{a.url}/api/feeds/{live_feed.slug}/entries/",
            json={"body": "Public"},
            headers={"Authorization": f"Bearer {editor.token}"},
            timeout=10,
        ).json()
        assert json.loads(reader.recv(timeout=10))["entry"]["id"] == published["id"]


def test_a_scheduled_entry_appears_on_time_and_never_before(
    start_daphne, start_worker, redis, publisher, live_feed
):
    server = start_daphne(REDIS_URL=redis.url)
    start_worker(REDIS_URL=redis.url)
    slug = live_feed.slug
    with connect(f"{server.ws_url}/ws/feeds/{slug}/?after={live_feed.seq}", open_timeout=10) as reader:
        # Far enough ahead that a loaded machine still posts it before its time.
        publish_at = timezone.now() + timedelta(seconds=6)
        response = httpx.post(
            f"{server.url}/api/feeds/{slug}/entries/",
            json={"headline": "Green flag", "body": "They're racing", "publish_at": publish_at.isoformat()},
            headers={"Authorization": f"Bearer {publisher.token}"},
            timeout=10,
        )
        assert response.status_code == 201 and response.json()["status"] == "draft"
        entry_id = response.json()["id"]
        # Until its time, the entry is nowhere a reader could look.
        # Each round is judged only if it finished before the publish time, so a slow request on a
        # loaded machine cannot turn an on-time publication into a failure.
        checked = 0
        while timezone.now() < publish_at:
            page = httpx.get(f"{server.url}/api/feeds/{slug}/", timeout=10).json()
            events = httpx.get(f"{server.url}/api/feeds/{slug}/events/?after=0", timeout=10).json()["events"]
            early = reader_heard_something(reader)
            if timezone.now() >= publish_at:
                break
            assert entry_id not in [e["id"] for e in page["entries"]]
            assert entry_id not in [e["entry"]["id"] for e in events if "entry" in e]
            assert early is None, f"a reader heard of something before its time: {early}"
            checked += 1
            time.sleep(0.2)
        assert checked, "the entry was never checked before its time"
        if early is not None:
            message = json.loads(early)
        else:
            message = json.loads(reader.recv(timeout=20))
        received_at = timezone.now()
    assert message["type"] == "entry.created" and message["entry"]["id"] == entry_id
    assert received_at >= publish_at
    entry = Entry.objects.get(pk=entry_id)
    assert entry.is_visible_to_readers and entry.published_at >= publish_at and entry.publish_at is None


def reader_heard_something(socket) -> str | None:
    """A message that has already arrived, if any."""
    try:
        return socket.recv(timeout=0)
    except TimeoutError:
        return None
