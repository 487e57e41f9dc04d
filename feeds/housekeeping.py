"""Periodic tidying that keeps a long-running site's tables small and its queues moving.

Run by `manage.py housekeeping` (hourly: deploy/systemd/livefeed-housekeeping.timer). Each step
is safe to repeat and safe to run while the site serves readers and the worker delivers.
"""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from .models import IdempotencyKey, LinkCode, MessagingDelivery
from .webhooks import delivery
from .webhooks.models import WebhookDelivery, WebhookSubscription

# Telegram redelivers an update for up to a day and Slack retries within minutes: a week of
# handled ids is ample to recognise a redelivery.
MESSAGING_DELIVERIES_KEPT = timedelta(days=7)
# Finished background tasks (a timing poll every few seconds, a wake-up per webhook change).
TASK_RESULTS_KEPT_DAYS = 1
FAILED_TASK_RESULTS_KEPT_DAYS = 7


def tidy() -> dict[str, int]:
    """Run every step once; how many rows each removed or how many queues it restarted."""
    now = timezone.now()
    return {
        "expired idempotency keys": IdempotencyKey.objects.filter(expires_at__lte=now).delete()[0],
        "spent linking codes": LinkCode.objects.filter(Q(expires_at__lte=now) | Q(used_at__isnull=False)).delete()[0],
        "old messaging deliveries": MessagingDelivery.objects.filter(
            received_at__lt=now - MESSAGING_DELIVERIES_KEPT
        ).delete()[0],
        "finished task results": _prune_task_results(),
        "webhook queues restarted": restart_stalled_webhooks(),
    }


def restart_stalled_webhooks() -> int:
    """Queue a run for each active subscription whose due deliveries nobody is working on.

    A worker that died mid-delivery leaves its claim to lapse; without this, the subscription
    would wait for the next change to the feed before its queue moved again.
    """
    now = timezone.now()
    stalled_since = now - delivery.LEASE_MARGIN
    due = WebhookDelivery.objects.filter(
        subscription=OuterRef("pk"), status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=stalled_since
    )
    stalled = WebhookSubscription.objects.filter(delivery.unclaimed(now), Exists(due), active=True).values_list(
        "pk", flat=True
    )
    count = 0
    for subscription_id in stalled:
        delivery.schedule(subscription_id=subscription_id)
        count += 1
    return count


def _prune_task_results() -> int:
    from django_tasks_db.models import DBTaskResult

    before = DBTaskResult.objects.count()
    call_command(
        "prune_db_task_results", queue_name="*", min_age_days=TASK_RESULTS_KEPT_DAYS,
        failed_min_age_days=FAILED_TASK_RESULTS_KEPT_DAYS, verbosity=0, stdout=StringIO(),
    )
    return before - DBTaskResult.objects.count()
