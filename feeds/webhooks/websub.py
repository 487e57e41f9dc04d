"""WebSub (https://www.w3.org/TR/websub/): feeds name their hub, and the hub hears of each change.

With `LIVEFEED_WEBSUB_HUB` set, the Atom, RSS and JSON feeds name the hub (feeds.hub, in the
core), and every change to a public feed leaves one pending ping per feed (`hub.mode=publish` for
each syndication URL) that the worker sends. A burst of changes while a
ping is pending adds nothing to it, so the hub is pinged about once per burst, not per change.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx2
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from .. import outbound
from ..hub import hub_url, topic_urls
from ..models import Feed
from .models import WebSubPing

logger = logging.getLogger(__name__)

TIMEOUT = 10.0
MAX_ATTEMPTS = 5
# A ping queued longer ago than this and still pending was lost (a worker died): queue it again.
STALE_AFTER = timedelta(minutes=10)


def request_ping(*, feed: Feed, seq: int) -> None:
    """Leave a pending ping for the feed's change `seq`, queueing the worker only if none is pending.

    Runs in the change's transaction; the feed row is already locked there, and the ping row is
    locked so the worker's "done, anything new?" check cannot interleave with it.
    """
    if not hub_url() or not feed.is_visible_to_readers:
        return
    now = timezone.now()
    ping, _ = WebSubPing.objects.select_for_update().get_or_create(feed_id=feed.pk)
    pending = (
        ping.requested_seq > ping.pinged_seq
        and ping.queued_at is not None
        and ping.queued_at > now - STALE_AFTER
    )
    ping.requested_seq = max(ping.requested_seq, seq)
    if not pending:
        ping.queued_at = now
        _queue(feed_id=feed.pk)
    ping.save(update_fields=["requested_seq", "queued_at"])


def _queue(*, feed_id: int, delay: float = 0) -> None:
    task = (
        ping_websub_hub.using(run_after=timezone.now() + timedelta(seconds=delay))
        if delay
        else ping_websub_hub
    )
    task.enqueue(feed_id=feed_id)


def ping(*, feed_id: int) -> bool:
    """Send the feed's pending ping: one `hub.mode=publish` POST per syndication URL.

    Returns True when the hub took every one. Changes made while pinging leave the ping pending,
    and it is queued once more; a hub that keeps failing is given up on after MAX_ATTEMPTS.
    """
    hub = hub_url()
    feed = Feed.objects.filter(pk=feed_id).only("slug", "status").first()
    state = WebSubPing.objects.filter(feed_id=feed_id).first()
    if feed is None or state is None or state.requested_seq <= state.pinged_seq:
        return False
    target = state.requested_seq
    error = ""
    if hub and feed.is_visible_to_readers:
        for topic in topic_urls(feed.slug):
            try:
                response = outbound.request(
                    "POST", hub, timeout=TIMEOUT, data={"hub.mode": "publish", "hub.url": topic}
                )
                if not response.is_success:
                    error = f"The hub answered HTTP {response.status_code} for {topic}."
            except (outbound.RefusedURL, httpx2.HTTPError) as failure:
                error = f"The hub could not be reached: {failure}"
            if error:
                break
    with transaction.atomic():
        state = WebSubPing.objects.select_for_update().get(feed_id=feed_id)
        now = timezone.now()
        if error and state.attempts + 1 < MAX_ATTEMPTS:
            state.attempts += 1
            state.last_error = error
            state.queued_at = now
            _queue(feed_id=feed_id, delay=10 * 2 ** (state.attempts - 1))
            logger.warning("WebSub ping of feed %s failed (%s); retrying", feed_id, error)
        else:
            if error:
                logger.warning(
                    "WebSub ping of feed %s given up after %d attempts: %s", feed_id, MAX_ATTEMPTS, error
                )
            state.pinged_seq = max(state.pinged_seq, target)
            state.attempts = 0
            state.last_error = error
            state.queued_at = None
            if state.requested_seq > state.pinged_seq:
                state.queued_at = now
                _queue(feed_id=feed_id)
        state.save()
    return not error


@task()
def ping_websub_hub(*, feed_id: int) -> bool:
    """The worker's task: tell the hub the feed's syndication URLs changed (one pending per feed)."""
    return ping(feed_id=feed_id)
