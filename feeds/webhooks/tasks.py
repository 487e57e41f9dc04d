"""Webhook and WebSub work for `manage.py db_worker`: posting never waits for a partner's server."""

from __future__ import annotations

from django_tasks import task

from . import delivery, websub


@task()
def deliver_webhooks(*, subscription_id: int) -> int:
    """Deliver a subscription's pending changes in order; queued by each change and each retry."""
    return delivery.deliver_pending(subscription_id=subscription_id)


@task()
def ping_websub_hub(*, feed_id: int) -> bool:
    """Tell the hub the feed's syndication URLs changed; at most one is pending per feed."""
    return websub.ping(feed_id=feed_id)
