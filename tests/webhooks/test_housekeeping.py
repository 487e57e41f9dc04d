"""Housekeeping restarts webhook queues a dead worker left behind."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from feeds import housekeeping
from feeds.webhooks.delivery import deliver_webhooks
from feeds.webhooks.models import WebhookDelivery, WebhookSubscription

pytestmark = pytest.mark.django_db


def test_a_webhook_queue_left_by_a_dead_worker_is_restarted_and_a_busy_one_is_not(live_feed):
    now = timezone.now()
    stalled, busy, off = (
        WebhookSubscription.objects.create(
            feed=live_feed, url=f"https://partner.example/{name}", active=name != "off"
        )
        for name in ("stalled", "busy", "off")
    )
    WebhookSubscription.objects.filter(pk=stalled.pk).update(
        lease_owner="dead", lease_until=now - timedelta(seconds=1)
    )
    WebhookSubscription.objects.filter(pk=busy.pk).update(
        lease_owner="alive", lease_until=now + timedelta(seconds=30)
    )
    for subscription in (stalled, busy, off):
        WebhookDelivery.objects.create(
            subscription=subscription,
            event="entry.created",
            seq=1,
            body="{}",
            next_attempt_at=now - timedelta(minutes=5),
        )
    DBTaskResult.objects.all().delete()
    assert housekeeping.tidy()["webhook queues restarted"] == 1
    [queued] = DBTaskResult.objects.filter(task_path=deliver_webhooks.module_path)
    assert queued.args_kwargs["kwargs"] == {"subscription_id": stalled.pk}
