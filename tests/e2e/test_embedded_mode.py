"""Every change reaches connected readers and desks live, whichever local process made it: the
background worker (a scheduled entry, a timing poll), a management command, another server.

Real processes, in the mode of the pass's database (`tests/e2e/conftest.py`): the embedded mode (no
Redis; the local bus carries the change) on SQLite, REDIS_URL set on PostgreSQL. Each test prints the delay it measured, from the moment the change
was made (its commit time, or the timing answer that caused it) to its arrival; run with `-s` to
see them.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import pytest
from django.utils import timezone
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from feeds.models import Entry, Feed
from feeds.timing import poller
from feeds.timing.models import TimingSource
from tests.e2e.test_desk_processes import desk_socket
from tests.fixtures import servers
from tests.fixtures.timing_server import Response, timing_server

pytestmark = pytest.mark.django_db(transaction=True)

# Live means pushed to the socket the reader holds open: nothing else could bring it there (no
# process polls the database, and these readers never reconnect), only later, with the next
# change, or never. The bound leaves room for a machine busy with other work; the delays are
# printed, and how fast is `make bench`'s to measure.
LIVE_SECONDS = 5.0
WAIT_SECONDS = 30.0  # for things that are not timed: a worker's first poll, a command starting
RECORDING = Path(__file__).resolve().parents[1] / "fixtures" / "timing" / "livefeed_caution.json"


class Heard:
    """What one WebSocket receives, each message with the time it arrived; read on a thread of its
    own, so waiting for one socket never delays noticing another's message."""

    def __init__(self, socket) -> None:
        self.socket = socket
        self.messages: list[tuple[float, dict]] = []
        self.close_code: int | None = None
        self.closed_at: float | None = None
        self.ended = False
        self.condition = threading.Condition()
        threading.Thread(target=self.read, daemon=True).start()

    def read(self) -> None:
        try:
            for text in self.socket:
                arrived = time.time()
                with self.condition:
                    self.messages.append((arrived, json.loads(text)))
                    self.condition.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self.condition:
                self.closed_at = time.time()
                self.close_code = self.socket.close_code
                self.ended = True
                self.condition.notify_all()

    def wait_for(self, wanted: Callable[[dict], bool], timeout: float = WAIT_SECONDS) -> tuple[float, dict]:
        """The first message `wanted` accepts, and when it arrived."""

        def found() -> tuple[float, dict] | None:
            return next(((at, message) for at, message in self.messages if wanted(message)), None)

        with self.condition:
            self.condition.wait_for(lambda: found() is not None or self.ended, timeout=timeout)
            match = found()
        if match is None:
            raise AssertionError(
                f"never heard it; heard {[m for _, m in self.messages]} (closed: {self.close_code})"
            )
        return match

    def wait_closed(self, timeout: float = WAIT_SECONDS) -> tuple[float, int | None]:
        """When the server closed the socket, and with which code."""
        with self.condition:
            assert self.condition.wait_for(lambda: self.ended, timeout=timeout), "the socket stayed open"
        return self.closed_at, self.close_code


@contextmanager
def follow(server: servers.Daphne, feed: Feed, staff) -> Iterator[tuple[Heard, Heard]]:
    """A reader of the feed and a staff member's desk, both connected and subscribed."""
    feed.refresh_from_db()
    with (
        connect(f"{server.ws_url}/ws/feeds/{feed.slug}/?after={feed.seq}", open_timeout=10) as reader,
        desk_socket(server, staff, feed.slug) as desk,
    ):
        heard_by_reader, heard_by_desk = Heard(reader), Heard(desk)
        # The desk counts readers once it has joined its group: from then on it hears every change.
        heard_by_desk.wait_for(lambda message: message["type"] == "readers")
        yield heard_by_reader, heard_by_desk


def entry_message(entry_id: int | None = None, **fields) -> Callable[[dict], bool]:
    def wanted(message: dict) -> bool:
        entry = message.get("entry") or {}
        return (entry_id is None or entry.get("id") == entry_id) and all(
            entry.get(k) == v for k, v in fields.items()
        )

    return wanted


def race_flag(flag: str) -> Callable[[dict], bool]:
    return lambda message: (
        message["type"] == "feed.updated" and message["feed_data"]["race"].get("flag") == flag
    )


def assert_live(what: str, mode: dict[str, str], made_at: datetime | float, **arrivals: float) -> None:
    """Print each delay from `made_at` and assert each change was pushed live (`LIVE_SECONDS`)."""
    start = made_at.timestamp() if isinstance(made_at, datetime) else made_at
    delays = {who: arrived - start for who, arrived in arrivals.items()}
    label = "REDIS_URL" if mode else "embedded"
    print(
        f"\n[delay] {what} ({label}): "
        + ", ".join(f"{who} {delay * 1000:.0f} ms" for who, delay in delays.items())
    )
    for who, delay in delays.items():
        assert 0 <= delay < LIVE_SECONDS, f"{who} heard of {what} {delay:.3f} s after it was made"


def test_a_scheduled_entry_published_by_the_worker_reaches_readers_and_the_desk_live(
    mode, start_daphne, start_worker, publisher, make_member, live_feed
):
    server = start_daphne(**mode)
    start_worker(**mode)
    with follow(server, live_feed, make_member("Editor", "eve")) as (reader, desk):
        response = httpx.post(
            f"{server.url}/api/feeds/{live_feed.slug}/entries/",
            json={
                "headline": "Green flag",
                "body": "Racing",
                "publish_at": (timezone.now() + timedelta(seconds=3)).isoformat(),
            },
            headers={"Authorization": f"Bearer {publisher.token}"},
            timeout=10,
        )
        assert response.status_code == 201 and response.json()["status"] == "draft"
        entry_id = response.json()["id"]
        heard_by_reader, message = reader.wait_for(
            lambda m: m["type"] == "entry.created" and entry_message(entry_id)(m)
        )
        heard_by_desk, _ = desk.wait_for(entry_message(entry_id, status="published"))
    assert message["entry"]["headline"] == "Green flag"
    entry = Entry.objects.get(pk=entry_id)
    assert_live(
        "a scheduled entry published by the worker",
        mode,
        entry.published_at,
        reader=heard_by_reader,
        desk=heard_by_desk,
    )


def test_a_timing_poll_that_changes_the_flag_reaches_readers_and_the_desk_live(
    mode, start_daphne, start_worker, make_member, live_feed
):
    editor = make_member("Editor", "eve")
    answers = [
        Response({"flag": "green", "lap": 10}),
        Response({"flag": "yellow", "lap": 11, "flag_reason": "debris"}),
    ]
    with timing_server(answers) as timing:
        source = TimingSource.objects.create(
            feed=live_feed, author=editor, url=timing.url, interval_seconds=1, max_backoff_seconds=2
        )
        server = start_daphne(**mode)
        start_worker(**mode, LIVEFEED_OUTBOUND_ALLOW_PRIVATE="true")
        with follow(server, live_feed, editor) as (reader, desk):
            poller.start(source=source)
            reader.wait_for(race_flag("green"))
            timing.advance()
            heard_by_reader, _ = reader.wait_for(race_flag("yellow"))
            heard_by_desk, _ = desk.wait_for(race_flag("yellow"))
            # The flag change is posted too (as a draft, the source's default): the desk hears it.
            heard_post, post = desk.wait_for(
                lambda m: (
                    entry_message(kind="race_status", status="draft")(m)
                    and m["entry"]["details"]["flag"] == "yellow"
                )
            )
            assert not [m for _, m in reader.messages if m.get("entry", {}).get("id") == post["entry"]["id"]]
    assert_live(
        "a timing poll changing the flag",
        mode,
        timing.first_served[1],
        reader=heard_by_reader,
        desk=heard_by_desk,
        desk_flag_post=heard_post,
    )


SHELL_CREATE = """
from django.contrib.auth import get_user_model
from feeds import services
from feeds.models import Feed
services.create_entry(feed=Feed.objects.get(slug="night-race"), by=get_user_model().objects.get(username="editor"),
                      headline="From the shell", body={body})
"""


def test_an_entry_created_from_a_management_command_reaches_readers_and_the_desk_live(
    mode, start_daphne, server_env, publisher, make_member, live_feed
):
    server = start_daphne(**mode)
    with follow(server, live_feed, make_member("Editor", "eve")) as (reader, desk):
        result = servers.manage(
            {**server_env, **mode}, "shell", "-c", SHELL_CREATE.format(body='"Typed at the prompt"')
        )
        assert result.returncode == 0, result.stderr
        heard_by_reader, message = reader.wait_for(entry_message(headline="From the shell"))
        heard_by_desk, _ = desk.wait_for(entry_message(headline="From the shell", status="published"))
    entry = Entry.objects.get(headline="From the shell")
    assert message["type"] == "entry.created" and message["entry"]["id"] == entry.pk
    assert_live(
        "an entry created by `manage.py shell`",
        mode,
        entry.published_at,
        reader=heard_by_reader,
        desk=heard_by_desk,
    )


def test_a_timing_replay_command_moves_the_race_status_live(
    mode, start_daphne, server_env, make_member, live_feed
):
    editor = make_member("Editor", "eve")
    TimingSource.objects.create(feed=live_feed, author=editor, url="")
    server = start_daphne(**mode)
    with follow(server, live_feed, editor) as (reader, desk):
        result = servers.manage(
            {**server_env, **mode}, "replaytiming", str(RECORDING), live_feed.slug, "--speed", "0"
        )
        assert result.returncode == 0, result.stderr
        heard_by_reader, message = reader.wait_for(race_flag("yellow"))
        heard_by_desk, _ = desk.wait_for(race_flag("yellow"))
    assert message["feed_data"]["race"]["lap"] == 57
    assert_live(
        "a race status replayed by `manage.py replaytiming`",
        mode,
        Feed.objects.get(pk=live_feed.pk).updated_at,
        reader=heard_by_reader,
        desk=heard_by_desk,
    )


def test_an_entry_posted_on_one_server_process_reaches_readers_and_the_desk_on_another(
    mode, start_daphne, publisher, make_member, live_feed
):
    a, b = start_daphne(**mode), start_daphne(**mode)
    with follow(b, live_feed, make_member("Editor", "eve")) as (reader, desk):
        response = httpx.post(
            f"{a.url}/api/feeds/{live_feed.slug}/entries/",
            json={"headline": "Pit stop", "body": "Four tyres"},
            headers={"Authorization": f"Bearer {publisher.token}"},
            timeout=10,
        )
        assert response.status_code == 201
        entry_id = response.json()["id"]
        heard_by_reader, _ = reader.wait_for(entry_message(entry_id))
        heard_by_desk, _ = desk.wait_for(entry_message(entry_id))
    assert_live(
        "an entry posted on another server process",
        mode,
        Entry.objects.get(pk=entry_id).published_at,
        reader=heard_by_reader,
        desk=heard_by_desk,
    )


def test_an_entry_too_big_for_one_datagram_reaches_readers_from_the_database_and_the_desk_reloads(
    start_daphne, server_env, publisher, make_member, live_feed
):
    server = start_daphne()
    body = '"Überholmanöver " * 20_000'  # 300,000 characters: more than a datagram holds, in text or HTML
    with follow(server, live_feed, make_member("Editor", "eve")) as (reader, desk):
        result = servers.manage(server_env, "shell", "-c", SHELL_CREATE.format(body=body))
        assert result.returncode == 0, result.stderr
        heard_by_reader, message = reader.wait_for(entry_message(headline="From the shell"))
        # The desk is asked to reconnect, which makes it reload its list.
        closed_at, code = desk.wait_closed()
    assert code == 4012
    assert "Überholmanöver" in message["entry"]["html"] and len(message["entry"]["html"]) > 300_000
    assert_live(
        "an entry too big for one datagram",
        {},
        Entry.objects.get(headline="From the shell").published_at,
        reader=heard_by_reader,
        desk_reload=closed_at,
    )


def test_processes_sharing_a_database_find_each_other_without_configuration(
    start_daphne, server_env, publisher, make_member, live_feed
):
    """The bus directory follows the SQLite file (another database: LIVEFEED_VAR_DIR, shared here)."""
    unset = {"LIVEFEED_BUS_DIR": ""}
    server = start_daphne(**unset)
    with follow(server, live_feed, make_member("Editor", "eve")) as (reader, desk):
        result = servers.manage(
            {**server_env, **unset}, "shell", "-c", SHELL_CREATE.format(body='"No settings needed"')
        )
        assert result.returncode == 0, result.stderr
        reader.wait_for(entry_message(headline="From the shell"), timeout=LIVE_SECONDS * 5)
        desk.wait_for(entry_message(headline="From the shell"), timeout=LIVE_SECONDS * 5)


BURST = """
from django.contrib.auth import get_user_model
from feeds import services
from feeds.models import Feed
feed, editor = Feed.objects.get(slug="night-race"), get_user_model().objects.get(username="editor")
for lap in range(60):
    services.create_entry(feed=feed, by=editor, headline=f"Lap {lap}")
"""


def test_a_burst_of_changes_from_a_command_reaches_readers_complete_and_in_order(
    mode, start_daphne, server_env, publisher, make_member, live_feed
):
    server = start_daphne(**mode)
    with follow(server, live_feed, make_member("Editor", "eve")) as (reader, desk):
        result = servers.manage({**server_env, **mode}, "shell", "-c", BURST)
        assert result.returncode == 0, result.stderr
        heard_by_reader, _ = reader.wait_for(entry_message(headline="Lap 59"))
        heard_by_desk, _ = desk.wait_for(entry_message(headline="Lap 59"))
    created = [message for _, message in reader.messages if message["type"] == "entry.created"]
    assert [message["entry"]["headline"] for message in created] == [f"Lap {lap}" for lap in range(60)]
    assert [message["seq"] for message in created] == list(range(created[0]["seq"], created[0]["seq"] + 60))
    desk_headlines = [m["entry"]["headline"] for _, m in desk.messages if m["type"] == "entry.updated"]
    assert desk_headlines == [f"Lap {lap}" for lap in range(60)]
    assert_live(
        "the last of 60 entries from one command",
        mode,
        Entry.objects.get(headline="Lap 59").published_at,
        reader=heard_by_reader,
        desk=heard_by_desk,
    )
