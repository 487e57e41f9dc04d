"""The server entry point's garbage-collector policy: collect and freeze once readers settle."""

from __future__ import annotations

import asyncio
import gc

import pytest

from feeds.broadcast.hub import hub
from livefeed import serve


class QuietListener:
    def deliver(self, change: object) -> None:
        pass

    def interrupted(self) -> None:
        pass


@pytest.fixture
def unfrozen():
    yield
    gc.unfreeze()


async def test_garbage_is_frozen_once_the_connection_set_stops_changing(monkeypatch, unfrozen):
    monkeypatch.setattr(serve, "GC_SETTLE_SECONDS", 0.05)
    gc.unfreeze()
    settling = serve.install_garbage_settling()
    hub.add("night-race", QuietListener(), asyncio.get_running_loop())
    assert settling.timer is not None and gc.get_freeze_count() == 0

    for _ in range(200):
        if settling.timer is None:
            break
        await asyncio.sleep(0.01)
    assert settling.timer is None and settling.unsettled_since is None
    assert gc.get_freeze_count() > 0


async def test_a_connection_set_under_constant_churn_is_settled_when_overdue(monkeypatch, unfrozen):
    loop = asyncio.get_running_loop()
    settling = serve.install_garbage_settling()
    hub.add("night-race", QuietListener(), loop)
    first = settling.timer
    settling.unsettled_since = loop.time() - serve.GC_SETTLE_AT_LEAST_EVERY - 1
    hub.add("night-race", QuietListener(), loop)

    assert first.cancelled()
    assert settling.timer.when() <= loop.time()
