"""Fixtures for the participation plug-in's tests: a poll, readers' clients, recorded broadcasts."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from feeds import services


@pytest.fixture(autouse=True)
def announcements_wait_for_the_test() -> Iterator[None]:
    """Count announcements run when a test says (`timers.run_waiting()`), not on a timer thread."""
    from feeds.participation import services, tallies
    from feeds.participation.timers import timers

    services.forget_readable_entries()
    tallies.reset()
    timers.reset(automatic=False)
    yield
    tallies.reset()


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every message handed to the readers of any feed, decoded, with its `seq`."""
    from feeds.broadcast import publishing

    sent: list[dict[str, Any]] = []

    def record(*, feed_slug: str, seq: int, text: str) -> None:
        sent.append({"feed_slug": feed_slug, "seq": seq, "at": time.monotonic(), **json.loads(text)})

    monkeypatch.setattr(publishing, "publish", record)
    return sent


def make_poll(
    feed: Any, by: Any, *, options: tuple[str, ...] = ("Blue", "Red", "Green"), **extra: Any
) -> Any:
    details = {"question": "Who wins tonight?", **{f"option_{n}": o for n, o in enumerate(options, start=1)}}
    details.update(extra.pop("details", {}))
    return services.create_entry(feed=feed, by=by, kind="poll", details=details, **extra)


@pytest.fixture
def poll(live_feed: Any, publisher: Any) -> Any:
    return make_poll(live_feed, publisher)


def vote_url(entry: Any) -> str:
    return f"/api/feeds/{entry.feed.slug}/entries/{entry.pk}/vote/"
