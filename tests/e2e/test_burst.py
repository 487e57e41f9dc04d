"""A crowd arriving at once: 2,000 readers connect together through Redis, and all get the next entry."""

from __future__ import annotations

import asyncio
import json
import resource

import httpx2 as httpx
import pytest
from websockets.asyncio.client import connect

pytestmark = pytest.mark.django_db(transaction=True)

READERS = 2000


async def crowd(ws_url: str, post_entry) -> tuple[int, list[int]]:
    """Connect every reader at once, post one entry, and collect which entry each one received."""
    results = await asyncio.gather(
        *(connect(ws_url, open_timeout=60, max_queue=4) for _ in range(READERS)), return_exceptions=True
    )
    sockets = [socket for socket in results if not isinstance(socket, BaseException)]
    try:
        entry_id = await asyncio.to_thread(post_entry)

        async def first_entry(socket) -> int:
            return json.loads(await asyncio.wait_for(socket.recv(), 30))["entry"]["id"]

        received = await asyncio.gather(*(first_entry(socket) for socket in sockets), return_exceptions=True)
        return entry_id, [r for r in received if not isinstance(r, BaseException)]
    finally:
        await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)


def test_two_thousand_readers_connect_at_once_and_all_receive_the_next_entry(
    start_daphne, redis, publisher, live_feed
):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    server = start_daphne(REDIS_URL=redis.url)

    def post_entry() -> int:
        response = httpx.post(
            f"{server.url}/api/feeds/{live_feed.slug}/entries/",
            json={"headline": "Green flag"},
            headers={"Authorization": f"Bearer {publisher.token}"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()["id"]

    try:
        entry_id, received = asyncio.run(crowd(f"{server.ws_url}/ws/feeds/{live_feed.slug}/", post_entry))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert received == [entry_id] * READERS
