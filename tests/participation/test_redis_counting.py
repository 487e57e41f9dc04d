"""Counting across processes: two Daphne servers sharing real Redis and the database."""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx2 as httpx
import pytest
import redis as redis_client
from django.test import override_settings
from websockets.sync.client import connect

from feeds.participation import services
from feeds.participation.models import Ballot

from .conftest import make_poll

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_servers(start_daphne, redis):
    prefix = f"t{uuid.uuid4().hex[:8]}"
    env = {
        "REDIS_URL": redis.url,
        "LIVEFEED_REDIS_PREFIX": prefix,
        "LIVEFEED_PARTICIPATION_VOTE_RATE": "100000/min",
    }
    return start_daphne(**env), start_daphne(**env), prefix


class TallyWatcher(threading.Thread):
    """A reader following the feed in the background, noting when each tally of a poll arrives."""

    def __init__(self, url: str, entry_id: int) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.entry_id = entry_id
        self.seen: list[tuple[float, dict]] = []
        self.connected = threading.Event()
        self.start()
        assert self.connected.wait(10), "the reader could not connect"

    def run(self) -> None:
        with connect(self.url) as self.socket:
            self.connected.set()
            try:
                for text in self.socket:
                    message = json.loads(text)
                    if message.get("type") == "participation.tally" and message["entry"] == self.entry_id:
                        self.seen.append((message["sent_at"], message["counts"]))  # when its server sent it
            except Exception:
                return

    def wait_for_total(self, total: int, timeout: float = 15) -> list[tuple[float, dict]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.seen and sum(self.seen[-1][1].values()) >= total:
                return self.seen
            time.sleep(0.05)
        raise AssertionError(f"counts never reached {total}: {self.seen[-1:] if self.seen else 'no tally'}")

    def close(self) -> None:
        self.socket.close()


def test_votes_on_two_processes_are_counted_once_and_announced_at_most_once_a_second(
    two_servers, live_feed, publisher
):
    first, second, _ = two_servers
    poll = make_poll(live_feed, publisher)
    voters = 300
    watcher = TallyWatcher(f"{first.ws_url}/ws/feeds/{live_feed.slug}/", poll.pk)
    try:
        answers: list[int] = []

        def vote(server, option: int) -> None:
            with httpx.Client(base_url=server.url, timeout=20) as browser:
                response = browser.post(
                    f"/api/feeds/{live_feed.slug}/entries/{poll.pk}/vote/", json={"option": option}
                )
                answers.append(response.status_code)
                # The same browser (its cookie) on the other process is still one voter.
                other = second if server is first else first
                again = browser.post(
                    f"{other.url}/api/feeds/{live_feed.slug}/entries/{poll.pk}/vote/", json={"option": 0}
                )
                answers.append(again.status_code)

        threads = [
            threading.Thread(target=vote, args=(first if n % 2 else second, n % 3)) for n in range(voters)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(set(answers)) == [200, 409] and answers.count(200) == voters
        seen = watcher.wait_for_total(voters)
    finally:
        watcher.close()
    assert seen[-1][1] == {"0": 100, "1": 100, "2": 100}
    # Coalesced: at most one message a second, by when the servers sent them (each waits for the
    # gate the one before closed; arrival times also carry the network's jitter).
    span = seen[-1][0] - seen[0][0]
    assert len(seen) <= span + 1, (len(seen), span)
    # Every ballot reached the database (written behind, with the announcement), once.
    deadline = time.monotonic() + 10
    while Ballot.objects.filter(entry=poll).count() < voters and time.monotonic() < deadline:
        time.sleep(0.1)
    assert Ballot.objects.filter(entry=poll).count() == voters


def test_after_redis_loses_its_counts_the_database_wins(two_servers, live_feed, publisher, redis):
    first, second, prefix = two_servers
    poll = make_poll(live_feed, publisher)
    url = f"/api/feeds/{live_feed.slug}/entries/{poll.pk}/vote/"
    watcher = TallyWatcher(f"{second.ws_url}/ws/feeds/{live_feed.slug}/", poll.pk)
    try:
        for _ in range(5):
            assert httpx.post(f"{first.url}{url}", json={"option": 1}).status_code == 200
        watcher.wait_for_total(5)
        # Redis restarted empty (or was flushed): the counts come back from the database.
        client = redis_client.Redis.from_url(redis.url)
        for key in client.scan_iter(f"{prefix}:participation:*"):
            client.delete(key)
        browser = httpx.Client(base_url=second.url)
        assert browser.post(url, json={"option": 0}).status_code == 200
        assert browser.post(url, json={"option": 0}).status_code == 409  # its voters came back too
        seen = watcher.wait_for_total(6)
    finally:
        watcher.close()
    assert seen[-1][1] == {"0": 1, "1": 5}


def test_a_closed_poll_takes_no_vote_on_any_process(two_servers, live_feed, publisher, redis):
    first, second, prefix = two_servers
    poll = make_poll(live_feed, publisher)
    url = f"/api/feeds/{live_feed.slug}/entries/{poll.pk}/vote/"
    assert httpx.post(f"{first.url}{url}", json={"option": 0}).status_code == 200
    with override_settings(REDIS_URL=redis.url, REDIS_PREFIX=prefix):
        services.close_poll(entry=poll, by=publisher)
    for server in (first, second):
        refused = httpx.post(f"{server.url}{url}", json={"option": 1})
        assert refused.status_code == 409 and refused.json()["detail"] == "This poll is closed."
    poll.refresh_from_db()
    assert poll.details["result"]["counts"] == [1, 0, 0]


def test_ballots_written_from_many_threads_at_once_all_reach_the_database(redis, live_feed, publisher):
    """Persisting from several processes at once must neither lose nor double a ballot."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from feeds.participation import tally

    poll = make_poll(live_feed, publisher)
    box = tally.Box(tally.POLL, poll.pk)
    prefix = f"t{uuid.uuid4().hex[:8]}"
    with override_settings(REDIS_URL=redis.url, REDIS_PREFIX=prefix):

        def vote_and_persist(number: int) -> None:
            try:
                for voter in range(number * 200, number * 200 + 200):
                    assert tally.record(box, voter=f"v{voter}", choice=str(voter % 3)) is True
                    if voter % 50 == 0:
                        tally.persist(box)
                tally.persist(box)
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(vote_and_persist, range(6)))
        tally.persist(box, wait=True)
        assert tally.counts(box) == {"0": 400, "1": 400, "2": 400}
    assert Ballot.objects.filter(entry=poll).count() == 1200


def test_a_poll_deleted_while_a_crowd_votes_takes_no_more_votes(
    redis, live_feed, publisher, django_capture_on_commit_callbacks
):
    """Each process keeps what it read of a poll, until anything readers see of the feed changes."""
    from django.test import Client

    poll = make_poll(live_feed, publisher)
    url = f"/api/feeds/{live_feed.slug}/entries/{poll.pk}/vote/"
    with override_settings(REDIS_URL=redis.url, REDIS_PREFIX=f"t{uuid.uuid4().hex[:8]}"):
        assert Client().post(url, {"option": 0}, content_type="application/json").status_code == 200
        with django_capture_on_commit_callbacks(execute=True):
            from feeds import services as core_services

            core_services.delete_entry(entry=poll, by=publisher)
        refused = Client().post(url, {"option": 0}, content_type="application/json")
        assert refused.status_code == 404
