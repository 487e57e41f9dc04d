"""What posting does for partners: rows written inside the change's own transaction.

`broadcast_change` calls `record_change` for every change readers see, so a rolled-back change
leaves nothing behind and a committed one always has its deliveries and their wake-up task (the
task is a row in the same database, visible to the worker only once the change commits).
"""

from __future__ import annotations

from ..models import Feed
from . import delivery, websub
from .models import WebhookDelivery, WebhookSubscription


def record_change(*, feed: Feed, seq: int, event: str, text: str) -> None:
    """Queue `text` for each active subscription of the feed that wants `event`, and a hub ping."""
    subscriptions = [
        subscription
        for subscription in WebhookSubscription.objects.filter(feed_id=feed.pk, active=True).only(
            "pk", "events"
        )
        if subscription.wants(event)
    ]
    if subscriptions:
        WebhookDelivery.objects.bulk_create(
            WebhookDelivery(subscription=subscription, event=event, seq=seq, body=text)
            for subscription in subscriptions
        )
        for subscription in subscriptions:
            delivery.schedule(subscription_id=subscription.pk)
    websub.request_ping(feed=feed, seq=seq)


def on_change_recorded(*, feed: Feed, seq: int, event: str, text: str, **kwargs: object) -> None:
    """Receiver of `feeds.signals.change_recorded`: queue the change for partners."""
    record_change(feed=feed, seq=seq, event=event, text=text)
