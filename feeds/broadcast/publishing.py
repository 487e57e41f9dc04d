"""Publishing a change after its transaction commits: the one way a change leaves its process.

Services call `broadcast_change` inside their transaction; the message is encoded once there and
published only after the transaction commits, so no reader hears of a change the database could
still roll back. With `REDIS_URL` it is one PUBLISH per change, which every server process's Redis
link hands to its hub; without Redis (the embedded mode) the change goes straight to the local hub
and over the local bus to the other processes of the machine (`local_bus`).
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction

from ..events import encode
from ..signals import change_recorded
from .hub import hub
from .local_bus import send_change
from .redis_link import redis_channel
from .writers import Change

if TYPE_CHECKING:
    from ..models import Feed

logger = logging.getLogger(__name__)

if settings.REDIS_URL:
    # Imported with the app, not by the first publish: importing redis took 0.7 to 1.4 s on a busy
    # machine, and a short-lived process (a command, the shell) delivered its first change that late.
    import redis  # noqa: F401


def broadcast_change(*, feed: Feed, seq: int, message: dict[str, Any]) -> None:
    """Send `message` to every reader of the feed once the current transaction commits.

    Plug-ins hear the same text through `change_recorded`, sent in this transaction.
    """
    text = encode(message)
    change_recorded.send(sender=type(feed), feed=feed, seq=seq, event=message["type"], text=text)
    feed_slug = feed.slug
    transaction.on_commit(lambda: publish(feed_slug=feed_slug, seq=seq, text=text))


# The `seq` a transient message travels under: readers write it at once and never catch it up.
TRANSIENT_SEQ = 0


def broadcast_transient(*, feed_slug: str, message: dict[str, Any]) -> None:
    """Send `message` to the feed's readers now, outside the sequence of changes.

    For state a newer message replaces (live counts): it takes no `seq`, is not stored, and a
    reader who misses it reads the state again from its source. Never for anything a reader must
    not miss, and never for a draft.
    """
    publish(feed_slug=feed_slug, seq=TRANSIENT_SEQ, text=encode(message))


def publish(*, feed_slug: str, seq: int, text: str) -> None:
    """Hand a committed change to every process's readers; never raises.

    A lost publish loses nothing: readers fill the gap in `seq` from the database when the next
    change arrives, and a Redis outage makes every reader resume (see `RedisLink`).
    """
    try:
        if settings.REDIS_URL:
            _publisher().publish(redis_channel(feed_slug), f"{seq} {text}")
        else:
            send_change(feed_slug=feed_slug, seq=seq, text=text)
            hub.fan_out(feed_slug, Change(seq, text))
    except Exception:
        logger.exception("Could not broadcast change %s of feed %s", seq, feed_slug)


@functools.cache
def _publisher() -> Any:
    import redis

    # Short timeouts: a publish runs in the request that saved the change, and posting must keep
    # working (and answering quickly) while Redis is down.
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=1)


def reset() -> None:
    """Close and forget the cached Redis client, so the next publish connects to the current
    `REDIS_URL` (tests start a Redis server of their own)."""
    if _publisher.cache_info().currsize:
        try:
            _publisher().close()
        except Exception:
            logger.debug("Could not close the Redis publisher", exc_info=True)
    _publisher.cache_clear()


def redis_ping() -> bool | None:
    """Whether Redis answers (None when the process runs without Redis), for the health check."""
    if not settings.REDIS_URL:
        return None
    try:
        return bool(_publisher().ping())
    except Exception:
        return False
