"""Answers kept per process at a feed's current seq: given again without Django, never stale."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator, WebsocketCommunicator

from feeds import answers, caching, consumers, services
from feeds.broadcast import publishing
from feeds.models import Feed
from livefeed.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

KEPT_PATHS = [
    "/feeds/{slug}/",
    "/feeds/{slug}/embed/",
    "/feeds/{slug}/atom/",
    "/api/feeds/{slug}/",
    "/api/feeds/{slug}/events/?after=0",
]


async def get(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    path, _, query = path.partition("?")
    communicator = HttpCommunicator(
        application, "GET", path, headers=[(b"host", b"testserver"), *(headers or [])]
    )
    communicator.scope["query_string"] = query.encode()
    response = await communicator.get_response(timeout=10)
    response["header"] = {name.decode().lower(): value.decode() for name, value in response["headers"]}
    return response


async def kept(path: str) -> dict[str, Any]:
    """Ask until the process keeps the answer (the first request starts watching the feed)."""
    for _ in range(3):
        response = await get(path)
        if answers.answers.current(answers.variant_key(_scope(path))) is not None:
            return response
    raise AssertionError(f"{path} was never kept")


def _scope(path: str) -> dict[str, Any]:
    path, _, query = path.partition("?")
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver")],
    }


def refuse_to_render(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any rendering through Django fail loudly: what follows must be answered from memory."""
    monkeypatch.setattr(caching, "_feed", lambda *args: pytest.fail("Django rendered a kept answer"))


@pytest.mark.parametrize("path", KEPT_PATHS)
async def test_kept_answer_is_given_again_without_rendering(publisher, live_feed, path, monkeypatch):
    url = path.format(slug=live_feed.slug)
    first = await kept(url)
    refuse_to_render(monkeypatch)
    again = await get(url)
    assert again["status"] == 200 and again["body"] == first["body"]
    assert again["header"]["etag"] == first["header"]["etag"]
    assert again["header"]["cache-control"] == first["header"]["cache-control"]


async def test_revalidation_is_answered_from_memory(publisher, live_feed, monkeypatch):
    url = f"/feeds/{live_feed.slug}/"
    first = await kept(url)
    refuse_to_render(monkeypatch)
    etag = first["header"]["etag"]
    response = await get(url, [(b"if-none-match", etag.encode())])
    assert response["status"] == 304 and response["body"] == b""
    assert response["header"]["etag"] == etag and "content-type" not in response["header"]
    assert "public" in response["header"]["cache-control"]


async def test_no_stale_page_after_an_edit(publisher, live_feed):
    entry = await database_sync_to_async(services.create_entry)(feed=live_feed, by=publisher, body="Lap 1")
    url = f"/feeds/{live_feed.slug}/"
    first = await kept(url)
    assert b"Lap 1" in first["body"]
    await database_sync_to_async(services.update_entry)(entry=entry, by=publisher, body="Lap 2 now")
    response = await get(url, [(b"if-none-match", first["header"]["etag"].encode())])
    assert response["status"] == 200 and b"Lap 2 now" in response["body"] and b"Lap 1" not in response["body"]


@pytest.mark.parametrize("path", KEPT_PATHS)
async def test_deleted_entry_is_gone_from_every_kept_answer(publisher, live_feed, path):
    entry = await database_sync_to_async(services.create_entry)(
        feed=live_feed, by=publisher, headline="Retracted crash report"
    )
    url = path.format(slug=live_feed.slug)
    assert b"Retracted crash report" in (await kept(url))["body"]
    await database_sync_to_async(services.delete_entry)(entry=entry, by=publisher)
    assert b"Retracted crash report" not in (await get(url))["body"]


async def test_feed_back_in_draft_is_never_given_from_memory(publisher, live_feed):
    url = f"/feeds/{live_feed.slug}/"
    await kept(url)
    await database_sync_to_async(services.update_feed)(feed=live_feed, by=publisher, status=Feed.Status.DRAFT)
    response = await get(url)
    assert response["status"] == 404 and "no-cache" in response["header"]["cache-control"]


async def test_draft_entry_never_reaches_a_kept_answer(publisher, live_feed):
    url = f"/feeds/{live_feed.slug}/"
    await kept(url)
    await database_sync_to_async(services.create_entry)(
        feed=live_feed, by=publisher, headline="Embargoed", status="draft"
    )
    await database_sync_to_async(services.create_entry)(feed=live_feed, by=publisher, headline="Public one")
    response = await get(url)
    assert b"Public one" in response["body"] and b"Embargoed" not in response["body"]


async def test_requests_with_a_session_always_reach_django(publisher, live_feed, monkeypatch):
    url = f"/feeds/{live_feed.slug}/"
    await kept(url)
    calls = []
    real = caching._feed
    monkeypatch.setattr(caching, "_feed", lambda *args: calls.append(args) or real(*args))
    await get(url, [(b"cookie", b"sessionid=abc")])
    assert calls
    assert answers.variant_key({**_scope(url), "headers": [(b"cookie", b"sessionid=abc")]}) is None
    assert answers.variant_key({**_scope(url), "headers": [(b"authorization", b"Bearer x")]}) is None


async def test_answers_are_kept_apart_by_remembered_order(publisher, live_feed):
    url = f"/feeds/{live_feed.slug}/"
    newest = await kept(url)
    oldest = await get(url, [(b"cookie", b"livefeed_order=oldest")])
    assert oldest["header"]["etag"] != newest["header"]["etag"]
    assert "private" in oldest["header"]["cache-control"] and "Cookie" in oldest["header"]["vary"]


async def test_a_change_whose_broadcast_was_lost_shows_once_the_kept_answer_has_aged(
    publisher, live_feed, monkeypatch
):
    url = f"/feeds/{live_feed.slug}/"
    await kept(url)
    monkeypatch.setattr(publishing, "publish", lambda **kwargs: None)  # the change never arrives
    await database_sync_to_async(services.create_entry)(
        feed=live_feed, by=publisher, headline="Lost on the way"
    )
    assert b"Lost on the way" not in (await get(url))["body"]
    monkeypatch.setattr(answers, "MAX_KEPT_SECONDS", 0.0)
    assert b"Lost on the way" in (await get(url))["body"]


async def test_revalidation_of_an_aged_answer_renders_it_once_and_keeps_it_again(
    publisher, live_feed, monkeypatch
):
    url = f"/feeds/{live_feed.slug}/"
    first = await kept(url)
    key = answers.variant_key(_scope(url))
    aged_at = answers.answers.kept[key].kept_at
    monkeypatch.setattr(answers, "MAX_KEPT_SECONDS", 0.0)
    response = await get(url, [(b"if-none-match", first["header"]["etag"].encode())])
    assert response["status"] == 304 and response["body"] == b""
    assert answers.answers.kept[key].kept_at > aged_at


async def test_other_preconditions_always_reach_django(live_feed):
    assert answers.variant_key({**_scope("/feeds/x/"), "headers": [(b"if-match", b'"a"')]}) is None


# --- Readers arriving from a kept page connect without a database visit ------------------------


async def follow(path: str) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, path)
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    return communicator


def count_database_catch_ups(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int | None]]:
    calls: list[tuple[str, int | None]] = []
    real = consumers._catch_up_from_database

    async def counted(slug: str, after: int | None):
        calls.append((slug, after))
        return await real(slug, after)

    monkeypatch.setattr(consumers, "_catch_up_from_database", counted)
    return calls


async def test_a_reader_at_the_kept_pages_seq_connects_without_the_database_and_follows_live(
    publisher, live_feed, monkeypatch
):
    page = await kept(f"/feeds/{live_feed.slug}/")
    calls = count_database_catch_ups(monkeypatch)
    assert page["status"] == 200
    reader = await follow(f"/ws/feeds/{live_feed.slug}/?after={live_feed.seq}")
    assert calls == [] and await reader.receive_nothing(timeout=0.1)
    entry = await database_sync_to_async(services.create_entry)(feed=live_feed, by=publisher, body="Lap 1")
    assert json.loads(await reader.receive_from(timeout=10))["seq"] == entry.seq
    await reader.disconnect()


async def test_a_reader_behind_or_after_a_change_catches_up_from_the_database(
    publisher, live_feed, monkeypatch
):
    behind = live_feed.seq
    missed = await database_sync_to_async(services.create_entry)(feed=live_feed, by=publisher, body="Missed")
    await kept(f"/feeds/{live_feed.slug}/")
    calls = count_database_catch_ups(monkeypatch)
    reader = await follow(f"/ws/feeds/{live_feed.slug}/?after={behind}")
    assert json.loads(await reader.receive_from(timeout=10))["seq"] == missed.seq
    await reader.disconnect()
    # A change heard since the page was kept: the process no longer knows the feed's seq.
    again = await database_sync_to_async(services.create_entry)(feed=live_feed, by=publisher, body="Again")
    reader = await follow(f"/ws/feeds/{live_feed.slug}/?after={missed.seq}")
    assert json.loads(await reader.receive_from(timeout=10))["seq"] == again.seq
    await reader.disconnect()
    assert calls == [(live_feed.slug, behind), (live_feed.slug, missed.seq)]


async def test_a_feed_back_in_draft_refuses_readers_even_with_its_pages_kept_before(publisher, live_feed):
    await kept(f"/feeds/{live_feed.slug}/")
    seq = live_feed.seq
    await database_sync_to_async(services.update_feed)(feed=live_feed, by=publisher, status=Feed.Status.DRAFT)
    reader = await follow(f"/ws/feeds/{live_feed.slug}/?after={seq}")
    assert await reader.receive_output(timeout=10) == {
        "type": "websocket.close",
        "code": consumers.CLOSE_NOT_FOUND,
    }


def count_seq_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = consumers._seq_for_readers

    async def counted(slug: str) -> int | None:
        calls.append(slug)
        return await real(slug)

    monkeypatch.setattr(consumers, "_seq_for_readers", counted)
    return calls


async def test_readers_arriving_after_the_kept_page_aged_share_one_database_read(
    publisher, live_feed, monkeypatch
):
    await kept(f"/feeds/{live_feed.slug}/")
    monkeypatch.setattr(answers, "MAX_KEPT_SECONDS", 0.0)
    catch_ups, seq_reads = count_database_catch_ups(monkeypatch), count_seq_reads(monkeypatch)
    crowd = await asyncio.gather(
        *(follow(f"/ws/feeds/{live_feed.slug}/?after={live_feed.seq}") for _ in range(8))
    )
    assert catch_ups == [] and seq_reads == [live_feed.slug]
    entry = await database_sync_to_async(services.create_entry)(feed=live_feed, by=publisher, body="Lap 1")
    for reader in crowd:
        assert json.loads(await reader.receive_from(timeout=10))["seq"] == entry.seq
        await reader.disconnect()


async def test_a_reader_at_the_kept_seq_gets_a_change_whose_broadcast_was_lost_once_the_page_aged(
    publisher, live_feed, monkeypatch
):
    await kept(f"/feeds/{live_feed.slug}/")
    seq = live_feed.seq
    monkeypatch.setattr(publishing, "publish", lambda **kwargs: None)  # the change never arrives
    lost = await database_sync_to_async(services.create_entry)(feed=live_feed, by=publisher, body="Lost")
    monkeypatch.setattr(answers, "MAX_KEPT_SECONDS", 0.0)
    catch_ups = count_database_catch_ups(monkeypatch)
    reader = await follow(f"/ws/feeds/{live_feed.slug}/?after={seq}")
    assert json.loads(await reader.receive_from(timeout=10))["seq"] == lost.seq
    assert catch_ups == [(live_feed.slug, seq)]
    await reader.disconnect()


def count_renders(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The requests Django renders a feed's answer for, from now on."""
    requests: list[Any] = []
    read = caching._feed

    def counted(request, slug):
        if not any(seen is request for seen in requests):
            requests.append(request)
        return read(request, slug)

    monkeypatch.setattr(caching, "_feed", counted)
    return requests


async def test_a_crowd_at_a_process_that_kept_nothing_yet_renders_the_page_twice_not_once_each(
    publisher, live_feed, monkeypatch
):
    # The first rendering only starts watching the feed; the crowd waits for one more, which is
    # kept, instead of every waiting reader rendering the page at once.
    renders = count_renders(monkeypatch)
    url = f"/feeds/{live_feed.slug}/"
    crowd = await asyncio.gather(*(get(url) for _ in range(20)))
    assert {response["status"] for response in crowd} == {200}
    assert len({response["body"] for response in crowd}) == 1
    assert len(renders) == 2


async def test_a_crowd_asking_for_what_cannot_be_kept_is_rendered_side_by_side(live_feed, monkeypatch):
    await database_sync_to_async(Feed.objects.filter(pk=live_feed.pk).update)(status=Feed.Status.DRAFT)
    renders = count_renders(monkeypatch)
    crowd = await asyncio.gather(*(get(f"/feeds/{live_feed.slug}/") for _ in range(10)))
    assert {response["status"] for response in crowd} == {404}
    assert len(renders) == 10
