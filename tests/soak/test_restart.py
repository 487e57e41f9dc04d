"""A server process dies under 2,000 readers: they come back spread out, catch up, lose nothing,
and the readers of the other process never notice."""

from __future__ import annotations

import asyncio
import json
import random
import resource
import signal
import time
from collections import Counter

import httpx2 as httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tests.fixtures import servers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]

READERS_ON_VICTIM = 2000
READERS_ON_OTHER = 200
# The page script's backoff (static/feeds/live.js): full jitter over [ceiling/2, ceiling].
MIN_DELAY, MAX_DELAY = 0.5, 30.0


class Reader:
    """Follows the feed like the page's script: resumes from its last seq with jittered backoff."""

    def __init__(self, url: str, after: int) -> None:
        self.url, self.last_seq, self.seqs = url, after, []
        self.opens: list[float] = []
        self.attempts: list[float] = []
        self.stopping = False

    async def run(self) -> None:
        attempt = 0
        while not self.stopping:
            self.attempts.append(time.monotonic())
            try:
                async with connect(
                    f"{self.url}?after={self.last_seq}", open_timeout=60, max_queue=8
                ) as socket:
                    self.opens.append(time.monotonic())
                    attempt = 0
                    async for message in socket:
                        seq = json.loads(message)["seq"]
                        self.seqs.append(seq)
                        self.last_seq = max(self.last_seq, seq)
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError):
                pass
            if self.stopping:
                return
            ceiling = min(MAX_DELAY, MIN_DELAY * 2**attempt)
            attempt += 1
            await asyncio.sleep(ceiling / 2 + random.random() * ceiling / 2)


async def until(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {timeout} s")
        await asyncio.sleep(0.1)


def test_killed_server_readers_reconnect_spread_out_and_lose_nothing(
    start_daphne, server_env, redis, publisher, live_feed, tmp_path
):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    env = {**server_env, "REDIS_URL": redis.url}
    slug, first = live_feed.slug, live_feed.seq + 1
    other = start_daphne(REDIS_URL=redis.url)

    def post(server, headline: str) -> int:
        response = httpx.post(
            f"{server.url}/api/feeds/{slug}/entries/",
            json={"headline": headline, "body": "Report"},
            headers={"Authorization": f"Bearer {publisher.token}"},
            timeout=60,
        )
        response.raise_for_status()
        return response.json()["seq"]

    async def scenario() -> dict:
        with servers.daphne_server(env, tmp_path / "victim.log") as victim:
            victims = [
                Reader(f"{victim.ws_url}/ws/feeds/{slug}/", live_feed.seq) for _ in range(READERS_ON_VICTIM)
            ]
            others = [
                Reader(f"{other.ws_url}/ws/feeds/{slug}/", live_feed.seq) for _ in range(READERS_ON_OTHER)
            ]
            tasks = [asyncio.create_task(reader.run()) for reader in victims + others]
            everyone = victims + others
            await until(
                lambda: all(reader.opens for reader in everyone), timeout=180, what="every reader connected"
            )
            seq = await asyncio.to_thread(post, other, "Before")
            await until(
                lambda: all(r.last_seq >= seq for r in everyone), timeout=60, what="first entry everywhere"
            )

            victim.process.send_signal(signal.SIGKILL)
            victim.process.wait()
            killed = time.monotonic()
            for number in range(3):
                seq = await asyncio.to_thread(post, other, f"While down {number}")
            await asyncio.sleep(2)  # a supervisor's restart delay

        with servers.daphne_server(env, tmp_path / "victim.log", port=victim.port):
            restarted = time.monotonic()
            seq = await asyncio.to_thread(post, other, "After")
            await until(
                lambda: all(r.last_seq >= seq for r in everyone), timeout=240, what="every reader caught up"
            )
            for reader in everyone:
                reader.stopping = True
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return {"victims": victims, "others": others, "killed": killed, "restarted": restarted, "last": seq}

    try:
        result = asyncio.run(scenario())
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    expected = list(range(first, result["last"] + 1))
    for reader in result["victims"] + result["others"]:
        assert reader.seqs == expected, "every entry once, in order, after the restart too"
    # The other process's readers never noticed.
    assert all(len(reader.opens) == 1 for reader in result["others"])
    # No thundering herd: reconnection attempts are spread by the jittered backoff.
    retries = [t - result["killed"] for reader in result["victims"] for t in reader.attempts[1:]]
    per_100ms = Counter(int(offset * 10) for offset in retries)
    reopened = [reader.opens[-1] - result["restarted"] for reader in result["victims"]]
    per_second = Counter(int(max(0.0, offset)) for offset in reopened)
    print(
        f"\n{len(retries)} reconnection attempts; busiest 100 ms: {max(per_100ms.values())}; "
        f"reconnected per second after the restart: {sorted(per_second.items())}"
    )
    # Without backoff and jitter every reader would be back within the same second.
    assert max(per_second.values()) < READERS_ON_VICTIM / 2
