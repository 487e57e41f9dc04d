"""Every few seconds, record how many readers each watched feed has, once across all processes.

Each server process that has had a reader or a desk runs the sampler. At every boundary of the
interval one process claims the moment (a Redis key set only if absent; without Redis there is one
server process), adds up the counts every process keeps in `presence`, and writes one row per feed
that is live or watched. The unique (feed, moment) constraint keeps a second writer harmless.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from channels.db import database_sync_to_async
from django.conf import settings
from django.db.models import Q

from .. import presence
from ..models import Feed, ReaderSample

logger = logging.getLogger(__name__)

# A claimed moment's key outlives any clock skew between processes.
CLAIM_SECONDS = 60
# The interval the figures are read with while sampling is off.
DEFAULT_INTERVAL_SECONDS = 5

_task: asyncio.Task[None] | None = None


def interval_seconds() -> int:
    """Seconds between two samples (`LIVEFEED_AUDIENCE_SAMPLE_SECONDS`)."""
    return settings.LIVEFEED["AUDIENCE_SAMPLE_SECONDS"] or DEFAULT_INTERVAL_SECONDS


def keep_sampling() -> None:
    """Make sure this process samples; called when a reader or a desk connects (no I/O here)."""
    global _task
    if not settings.LIVEFEED["AUDIENCE_SAMPLE_SECONDS"] or (_task is not None and not _task.done()):
        return
    try:
        _task = asyncio.get_running_loop().create_task(_sample_forever())
    except RuntimeError:  # no event loop: nothing to sample from
        pass


def running() -> bool:
    """Whether this process samples now."""
    return _task is not None and not _task.done()


def reset() -> None:
    """Stop this process's sampler (for tests: each starts without one)."""
    global _task
    task, _task = _task, None
    if task is not None and not task.done():
        loop = task.get_loop()
        if not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)


def moment_now(step: int) -> datetime:
    """The boundary of the interval nearest to now, the moment a sample taken now stands for."""
    return datetime.fromtimestamp(round(time.time() / step) * step, UTC)


async def _sample_forever() -> None:
    while True:
        step = interval_seconds()
        await asyncio.sleep(step - time.time() % step)
        try:
            await sample(at=moment_now(step))
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("Could not sample reader counts", exc_info=True)


async def sample(*, at: datetime) -> int:
    """Record every live or watched feed's readers at `at` unless another process already does;
    returns the number of rows written by this call."""
    if not await _claim(at):
        return 0
    counts = await presence.reader_counts()
    return await _record(at, counts)


async def _claim(at: datetime) -> bool:
    if not settings.REDIS_URL:
        return True
    key = f"{settings.REDIS_PREFIX}:audience:sampled:{int(at.timestamp())}"
    return bool(await presence.redis_client().set(key, "1", nx=True, ex=CLAIM_SECONDS))


@database_sync_to_async
def _record(at: datetime, counts: dict[str, int]) -> int:
    feeds = Feed.objects.filter(Q(status=Feed.Status.LIVE) | Q(slug__in=[s for s, n in counts.items() if n]))
    rows = [
        ReaderSample(feed_id=feed_id, at=at, readers=counts.get(slug, 0))
        for feed_id, slug in feeds.values_list("id", "slug")
    ]
    ReaderSample.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
