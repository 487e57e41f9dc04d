"""How many readers watch each feed right now, across every server process.

Each process counts its own readers in memory as they subscribe and leave (no I/O on a reader's
connect), and, when Redis is configured, writes those counts every few seconds under a key that
expires soon after. A process that dies stops refreshing its key, so its readers drop out of the
total within seconds instead of lingering as stale channel-layer group members.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections import Counter

from django.conf import settings

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
EXPIRY_SECONDS = 8

_process_id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
_readers: Counter[str] = Counter()
_heartbeat: asyncio.Task | None = None
_redis = None


def _key(process_id: str) -> str:
    return f"{settings.REDIS_PREFIX}:presence:{process_id}"


def _processes_key() -> str:
    return f"{settings.REDIS_PREFIX}:presence:processes"


def joined(feed_slug: str) -> None:
    """A reader of the feed subscribed in this process."""
    _readers[feed_slug] += 1
    _start_heartbeat()


def left(feed_slug: str) -> None:
    """A reader of the feed left this process."""
    if _readers[feed_slug] > 0:
        _readers[feed_slug] -= 1
    if _readers[feed_slug] == 0:
        del _readers[feed_slug]


def reset() -> None:
    """Forget this process's counts, stop its heartbeat and drop its Redis client.

    For tests: each starts with no readers counted and connects to its own Redis server.
    """
    global _heartbeat, _redis
    _readers.clear()
    heartbeat, _heartbeat, _redis = _heartbeat, None, None
    if heartbeat is not None and not heartbeat.done():
        loop = heartbeat.get_loop()
        if not loop.is_closed():
            loop.call_soon_threadsafe(heartbeat.cancel)


def redis_client():
    """This process's Redis client for presence and audience keys (one per process, made on first use)."""
    global _redis
    if _redis is None:
        import redis.asyncio

        _redis = redis.asyncio.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5)
    return _redis


def _start_heartbeat() -> None:
    global _heartbeat
    if not settings.REDIS_URL or (_heartbeat is not None and not _heartbeat.done()):
        return
    try:
        _heartbeat = asyncio.get_running_loop().create_task(_beat())
    except RuntimeError:  # no event loop: nothing to publish from
        pass


async def _beat() -> None:
    """Publish this process's counts until it stops."""
    while True:
        try:
            await _publish()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("Could not publish reader counts", exc_info=True)
        await asyncio.sleep(HEARTBEAT_SECONDS)


async def _publish() -> None:
    client = redis_client()
    key = _key(_process_id)
    async with client.pipeline(transaction=True) as pipe:
        pipe.delete(key)
        if _readers:
            pipe.hset(key, mapping=dict(_readers))
            pipe.expire(key, EXPIRY_SECONDS)
        pipe.sadd(_processes_key(), _process_id)
        await pipe.execute()


async def reader_count(*, feed_slug: str) -> int:
    """Readers subscribed to the feed now: this process alone without Redis, every process with it."""
    if not settings.REDIS_URL:
        return _readers.get(feed_slug, 0)
    client = redis_client()
    processes = [p.decode() for p in await client.smembers(_processes_key())]
    if not processes:
        return 0
    async with client.pipeline(transaction=False) as pipe:
        for process_id in processes:
            pipe.exists(_key(process_id))
            pipe.hget(_key(process_id), feed_slug)
        answers = await pipe.execute()
    total = 0
    gone = []
    for process_id, alive, count in zip(processes, answers[::2], answers[1::2], strict=True):
        if alive:
            total += int(count or 0)
        elif process_id != _process_id:
            gone.append(process_id)
    if gone:
        # A process whose key expired has stopped (or has no readers); it re-adds itself if not.
        await client.srem(_processes_key(), *gone)
    return total


async def reader_counts() -> dict[str, int]:
    """Readers of every watched feed now, by slug: this process alone without Redis, every live
    process with it (a process whose key expired has stopped and counts for nothing)."""
    if not settings.REDIS_URL:
        return dict(_readers)
    client = redis_client()
    processes = [p.decode() for p in await client.smembers(_processes_key())]
    async with client.pipeline(transaction=False) as pipe:
        for process_id in processes:
            pipe.hgetall(_key(process_id))
        answers = await pipe.execute()
    totals: Counter[str] = Counter()
    for counts in answers:
        for slug, count in counts.items():
            totals[slug.decode()] += int(count)
    return dict(totals)
