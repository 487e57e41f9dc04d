"""Votes counted in the event loop: a crowd's votes after Django's first cost one Redis script, and
the answers, counts, limits and refusals are exactly Django's.

The whole ASGI application runs in this process against real Redis, so the test can tell which
path counted each vote; the two-process tests in `test_redis_counting` run real Daphne servers.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis as redis_client
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.test import override_settings

from feeds import services as core_services
from feeds.participation import loop_votes, tally
from feeds.participation.models import Ballot, FeedParticipation, Reaction
from feeds.participation.timers import timers

from .conftest import make_poll

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def production(redis: Any) -> Iterator[None]:
    """This process as a production server: counts, announcement slots and limits in Redis."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis.url,
            "KEY_PREFIX": prefix,
        }
    }
    with override_settings(REDIS_URL=redis.url, REDIS_PREFIX=prefix, CACHES=caches):
        loop_votes.reset()
        yield
    loop_votes.reset()


class Browser:
    """A reader's browser: keeps the reader cookie it is given, like a real one."""

    def __init__(self, *, origin: bytes | None = None) -> None:
        self.cookie: bytes | None = None
        self.origin = origin

    def post(
        self, path: str, body: Any, *, raw: bytes | None = None
    ) -> tuple[int, dict[bytes, bytes], bytes]:
        return async_to_sync(self.send)(path, body, raw=raw)

    async def send(
        self, path: str, body: Any, *, raw: bytes | None = None
    ) -> tuple[int, dict[bytes, bytes], bytes]:
        from livefeed.asgi import application

        headers = [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"accept", b"application/json"),
        ]
        if self.cookie:
            headers.append((b"cookie", self.cookie))
        if self.origin:
            headers.append((b"origin", self.origin))
        scope = {
            "type": "http",
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("203.0.113.9", 50000),
            "server": ("testserver", 80),
        }
        sent = raw if raw is not None else json.dumps(body).encode()

        async def exchange() -> tuple[dict[str, Any], bytes]:
            communicator = ApplicationCommunicator(application, scope)
            await communicator.send_input({"type": "http.request", "body": sent})
            start = await communicator.receive_output(10)
            chunks = []
            while True:
                message = await communicator.receive_output(10)
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
            await communicator.wait(10)
            return start, b"".join(chunks)

        start, answer = await exchange()
        headers_by_name = {name.lower(): value for name, value in start["headers"]}
        if b"set-cookie" in headers_by_name:
            self.cookie = headers_by_name[b"set-cookie"].split(b";", 1)[0]
        return start["status"], headers_by_name, answer


def cookie_attributes(header: bytes) -> set[bytes]:
    """A Set-Cookie header's attributes but its value and its expiry date (the second it was made)."""
    return {
        part.strip() for part in header.split(b";")[1:] if not part.strip().lower().startswith(b"expires=")
    }


def vote_path(poll: Any) -> str:
    return f"/api/feeds/{poll.feed.slug}/entries/{poll.pk}/vote/"


def counts(box: tally.Box) -> dict[str, int]:
    return tally.counts(box)


def test_after_django_s_first_answer_a_crowd_s_votes_are_counted_in_the_loop(
    production, live_feed, publisher
):
    poll = make_poll(live_feed, publisher)
    first = Browser()
    status, django_headers, django_body = first.post(vote_path(poll), {"option": 0})
    assert status == 200 and loop_votes.counted_here == 0  # Django counted it
    crowd = [Browser() for _ in range(5)]
    answers = [browser.post(vote_path(poll), {"option": 1}) for browser in crowd]
    assert loop_votes.counted_here == 5
    for status, headers, body in answers:
        assert status == 200 and body == django_body == b'{"counted":true}'
        # Django's answer, headers and all; only the new reader's own cookie differs.
        assert {k: v for k, v in headers.items() if k != b"set-cookie"} == {
            k: v for k, v in django_headers.items() if k != b"set-cookie"
        }
        assert cookie_attributes(headers[b"set-cookie"]) == cookie_attributes(django_headers[b"set-cookie"])
    assert len({browser.cookie for browser in [first, *crowd]}) == 6
    box = tally.Box(tally.POLL, poll.pk)
    assert counts(box) == {"0": 1, "1": 5}
    # The announcement the crowd's first vote scheduled tells readers and writes every ballot.
    assert timers.run_waiting() == 1
    assert Ballot.objects.filter(entry=poll).count() == 6


def test_a_crowd_voting_at_once_shares_a_few_redis_connections(production, live_feed, publisher, redis):
    poll = make_poll(live_feed, publisher)
    assert Browser().post(vote_path(poll), {"option": 0})[0] == 200  # Django's answer, learned
    watcher = redis_client.Redis.from_url(redis.url)
    before = len(watcher.client_list())

    async def crowd() -> tuple[list[int], int]:
        answers = await asyncio.gather(*(Browser().send(vote_path(poll), {"option": 1}) for _ in range(60)))
        return [status for status, _, _ in answers], len(watcher.client_list())

    statuses, during = async_to_sync(crowd)()
    assert statuses == [200] * 60 and loop_votes.counted_here == 60
    assert during - before <= loop_votes.MAX_REDIS_CONNECTIONS
    assert counts(tally.Box(tally.POLL, poll.pk)) == {"0": 1, "1": 60}


def test_a_browser_that_voted_gets_django_s_409_and_nothing_is_counted_twice(
    production, live_feed, publisher
):
    poll = make_poll(live_feed, publisher)
    Browser().post(vote_path(poll), {"option": 0})
    browser = Browser()
    assert browser.post(vote_path(poll), {"option": 2})[0] == 200
    assert loop_votes.counted_here == 1
    status, _, body = browser.post(vote_path(poll), {"option": 1})
    assert status == 409 and json.loads(body) == {"detail": "This browser has already voted in this poll."}
    assert loop_votes.counted_here == 1
    assert counts(tally.Box(tally.POLL, poll.pk)) == {"0": 1, "2": 1}


def test_a_closed_poll_and_a_withdrawn_one_take_no_vote_in_the_loop(
    production, live_feed, publisher, django_capture_on_commit_callbacks
):
    from feeds.participation import services

    closed, withdrawn = make_poll(live_feed, publisher), make_poll(live_feed, publisher)
    for poll in (closed, withdrawn):
        assert Browser().post(vote_path(poll), {"option": 0})[0] == 200
    with django_capture_on_commit_callbacks(execute=True):
        services.close_poll(entry=closed, by=publisher)
        core_services.update_entry(entry=withdrawn, by=publisher, status="draft")
    status, _, body = Browser().post(vote_path(closed), {"option": 1})
    assert status == 409 and json.loads(body)["detail"] == "This poll is closed."
    assert Browser().post(vote_path(withdrawn), {"option": 1})[0] == 404
    assert loop_votes.counted_here == 0
    closed.refresh_from_db()
    assert closed.details["result"]["counts"] == [1, 0, 0]


def test_an_option_past_the_last_or_a_body_django_would_refuse_goes_to_django(
    production, live_feed, publisher
):
    poll = make_poll(live_feed, publisher)
    Browser().post(vote_path(poll), {"option": 0})
    assert Browser().post(vote_path(poll), {"option": 3})[0] == 400
    assert Browser().post(vote_path(poll), {"option": True})[0] == 400
    assert Browser().post(vote_path(poll), None, raw=b'{"option": 1')[0] == 400
    assert Browser().post(vote_path(poll), {"option": "1"})[0] == 200  # DRF reads "1" as 1
    assert loop_votes.counted_here == 0
    assert counts(tally.Box(tally.POLL, poll.pk)) == {"0": 1, "1": 1}


def test_the_address_limit_counts_votes_on_both_paths(production, live_feed, publisher):
    from django.conf import settings

    poll = make_poll(live_feed, publisher)
    # Nested inside `production`'s override, and undone before it (pytest-django's `settings`
    # fixture would be undone after it, and bring back the Redis settings for later tests).
    with override_settings(LIVEFEED={**settings.LIVEFEED, "PARTICIPATION_VOTE_RATE": "3/min"}):
        statuses = [Browser().post(vote_path(poll), {"option": 0}) for _ in range(5)]
    assert [status for status, _, _ in statuses] == [200, 200, 200, 429, 429]
    assert loop_votes.counted_here == 2
    assert int(statuses[-1][1][b"retry-after"]) >= 1
    assert counts(tally.Box(tally.POLL, poll.pk)) == {"0": 3}


def test_a_vote_from_another_site_s_page_is_refused_as_django_refuses_it(production, live_feed, publisher):
    poll = make_poll(live_feed, publisher)
    Browser().post(vote_path(poll), {"option": 0})
    status, _, body = Browser(origin=b"https://elsewhere.example").post(vote_path(poll), {"option": 1})
    assert status == 403 and json.loads(body) == {"detail": "Send this from the feed's own page."}
    assert Browser(origin=b"http://testserver").post(vote_path(poll), {"option": 1})[0] == 200
    assert loop_votes.counted_here == 1


def test_reactions_are_counted_in_the_loop_once_per_browser(production, live_feed, publisher):
    FeedParticipation.objects.update_or_create(feed=live_feed, defaults={"reactions_enabled": True})
    entry = core_services.create_entry(feed=live_feed, by=publisher, body="Green flag.")
    path = f"/api/feeds/{live_feed.slug}/entries/{entry.pk}/reaction/"
    assert Browser().post(path, {"reaction": "wow"})[0] == 200
    browser = Browser()
    assert browser.post(path, {"reaction": "love"})[0] == 200
    assert browser.post(path, {"reaction": "love"})[0] == 409
    assert Browser().post(path, {"reaction": "boo"})[0] == 400
    assert loop_votes.counted_here == 1
    timers.run_waiting()
    assert sorted(Reaction.objects.filter(entry=entry).values_list("reaction", flat=True)) == ["love", "wow"]


def test_other_entries_posted_during_the_vote_leave_it_in_the_loop(production, live_feed, publisher):
    """Only a change of the poll itself, or of the feed, makes a process read the poll again."""
    poll = make_poll(live_feed, publisher)
    Browser().post(vote_path(poll), {"option": 0})
    for lap in range(3):
        core_services.create_entry(feed=live_feed, by=publisher, body=f"Lap {lap}.")
        assert Browser().post(vote_path(poll), {"option": 1})[0] == 200
    assert loop_votes.counted_here == 3
    core_services.update_entry(
        entry=poll, by=publisher, details={**poll.details, "question": "Who wins now?"}
    )
    assert Browser().post(vote_path(poll), {"option": 1})[0] == 200
    assert loop_votes.counted_here == 3  # the edited poll was read again, by Django


def test_reactions_turned_off_in_the_admin_list_are_refused_from_the_next_one(
    production, live_feed, publisher
):
    switches, _ = FeedParticipation.objects.update_or_create(
        feed=live_feed, defaults={"reactions_enabled": True}
    )
    entry = core_services.create_entry(feed=live_feed, by=publisher, body="Green flag.")
    path = f"/api/feeds/{live_feed.slug}/entries/{entry.pk}/reaction/"
    assert Browser().post(path, {"reaction": "wow"})[0] == 200
    assert Browser().post(path, {"reaction": "wow"})[0] == 200
    switches.reactions_enabled = False
    switches.save()  # as the admin's editable list saves it
    status, _, body = Browser().post(path, {"reaction": "wow"})
    assert status == 403 and json.loads(body) == {"detail": "Reactions are off for this feed."}
    assert loop_votes.counted_here == 1


def test_a_crowd_s_first_votes_at_once_send_one_to_django_and_the_rest_are_counted_in_the_loop(
    production, live_feed, publisher
):
    """Nothing learned yet: the first vote goes to Django, the others wait for its answer instead
    of all taking a request thread each (which starved the loop, and every reader with it)."""
    poll = make_poll(live_feed, publisher)

    async def crowd() -> list[int]:
        answers = await asyncio.gather(*(Browser().send(vote_path(poll), {"option": 1}) for _ in range(30)))
        return [status for status, _, _ in answers]

    assert async_to_sync(crowd)() == [200] * 30
    assert loop_votes.counted_here == 29
    assert counts(tally.Box(tally.POLL, poll.pk)) == {"1": 30}
    assert timers.run_waiting() == 1
    assert Ballot.objects.filter(entry=poll).count() == 30


def test_when_django_refuses_the_first_vote_the_others_wait_no_longer_and_get_django_s_answers(
    production, live_feed, publisher
):
    poll = make_poll(live_feed, publisher)

    async def crowd() -> list[int]:
        bad = Browser().send(vote_path(poll), {"option": 99})
        good = [Browser().send(vote_path(poll), {"option": 1}) for _ in range(5)]
        answers = await asyncio.gather(bad, *good)
        return [status for status, _, _ in answers]

    assert async_to_sync(crowd)() == [400, 200, 200, 200, 200, 200]
    assert counts(tally.Box(tally.POLL, poll.pk)) == {"1": 5}


def test_the_ballots_are_in_the_database_when_the_counts_go_out_and_a_failed_write_holds_nothing_back(
    production, live_feed, publisher, monkeypatch
):
    from feeds.broadcast import publishing

    poll = make_poll(live_feed, publisher)
    for option in (0, 1, 1):
        assert Browser().post(vote_path(poll), {"option": option})[0] == 200
    stored_when_sent = []

    def publish(*, feed_slug: str, seq: int, text: str) -> None:
        if json.loads(text)["type"] == "participation.tally":
            stored_when_sent.append(Ballot.objects.filter(entry=poll).count())

    monkeypatch.setattr(publishing, "publish", publish)
    assert timers.run_waiting() == 1
    assert stored_when_sent == [3]

    # The database refuses the next write: the readers still get the new count.
    def refuse(box: tally.Box, **kwargs: Any) -> int:
        raise RuntimeError("database unavailable")

    monkeypatch.setattr(tally, "persist", refuse)
    tally.redis_client().delete(tally.Box(tally.POLL, poll.pk).key("gate"))
    assert Browser().post(vote_path(poll), {"option": 2})[0] == 200
    assert timers.run_waiting() == 1
    assert stored_when_sent == [3, 3]
    assert counts(tally.Box(tally.POLL, poll.pk)) == {"0": 1, "1": 2, "2": 1}
