"""The audience chart's samples across two Daphne processes sharing Redis: one count per moment,
adding up the readers of both processes, reaching a desk on either."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from datetime import datetime

import pytest
from websockets.sync.client import connect

from feeds.models import ReaderSample
from tests.e2e.test_desk_processes import desk_socket

pytestmark = pytest.mark.django_db(transaction=True)


def sample_reaches(socket, readers: int, timeout: float = 20) -> dict:
    """Wait for the desk to hear a sample of `readers` readers."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            message = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            break
        if message["type"] == "readers.sample":
            seen.append(message["readers"])
            if message["readers"] == readers:
                return message
    raise AssertionError(f"the desk heard samples of {seen}, never {readers}")


def test_samples_add_up_the_readers_of_every_process_once_per_moment(
    start_daphne, redis, make_member, live_feed
):
    env = {"REDIS_URL": redis.url, "LIVEFEED_AUDIENCE_SAMPLE_SECONDS": "1"}
    a, b = start_daphne(**env), start_daphne(**env)
    editor = make_member("Editor", "eve")
    with desk_socket(a, editor, live_feed.slug) as desk, ExitStack() as stack:
        for server in (a, a, a, b, b):
            stack.enter_context(connect(f"{server.ws_url}/ws/feeds/{live_feed.slug}/", open_timeout=10))
        five = sample_reaches(desk, 5)
        stack.close()
        sample_reaches(desk, 0)

    rows = list(ReaderSample.objects.filter(feed=live_feed).order_by("at").values_list("at", "readers"))
    moments = [at for at, _ in rows]
    # Both processes sample; each moment was written once, on a whole second.
    assert len(moments) == len(set(moments)) >= 3
    assert all(at.microsecond == 0 for at in moments)
    assert max(readers for _, readers in rows) == 5
    assert datetime.fromisoformat(five["at"]) in moments
