"""`manage.py housekeeping` keeps a long-running site's tables small and its webhook queues moving."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from feeds import housekeeping
from feeds.models import IdempotencyKey, LinkCode, MessagingDelivery, WebhookDelivery, WebhookSubscription
from feeds.tasks import publish_at_time
from feeds.webhooks.tasks import deliver_webhooks

pytestmark = pytest.mark.django_db


def key(user, name: str, *, expires_in: timedelta) -> IdempotencyKey:
    return IdempotencyKey.objects.create(
        user=user, key=name, fingerprint="0" * 64, method="POST", path="/api/", status_code=201,
        expires_at=timezone.now() + expires_in,
    )


def test_expired_idempotency_keys_go_and_live_ones_stay(publisher):
    key(publisher, "old", expires_in=timedelta(minutes=-1))
    key(publisher, "live", expires_in=timedelta(hours=1))
    housekeeping.tidy()
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["live"]


def test_used_and_expired_linking_codes_go(publisher):
    now = timezone.now()
    LinkCode.objects.create(user=publisher, code_hash="expired", expires_at=now - timedelta(seconds=1))
    LinkCode.objects.create(user=publisher, code_hash="used", expires_at=now + timedelta(minutes=5), used_at=now)
    LinkCode.objects.create(user=publisher, code_hash="fresh", expires_at=now + timedelta(minutes=5))
    housekeeping.tidy()
    assert list(LinkCode.objects.values_list("code_hash", flat=True)) == ["fresh"]


def test_handled_messaging_ids_are_kept_a_week():
    old = MessagingDelivery.objects.create(platform="telegram", delivery_id="1")
    MessagingDelivery.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=8))
    MessagingDelivery.objects.create(platform="telegram", delivery_id="2")
    housekeeping.tidy()
    assert list(MessagingDelivery.objects.values_list("delivery_id", flat=True)) == ["2"]


def test_finished_task_results_older_than_a_day_go_and_queued_tasks_stay():
    due = (timezone.now() + timedelta(hours=1)).isoformat()
    finished_long_ago, finished_just_now, queued = (
        publish_at_time.enqueue(entry_id=number, due=due).id for number in range(3)
    )
    DBTaskResult.objects.filter(pk=finished_long_ago).update(status="SUCCESSFUL", finished_at=timezone.now() - timedelta(days=2))
    DBTaskResult.objects.filter(pk=finished_just_now).update(status="SUCCESSFUL", finished_at=timezone.now())
    assert housekeeping.tidy()["finished task results"] == 1
    assert {str(pk) for pk in DBTaskResult.objects.values_list("pk", flat=True)} == {str(finished_just_now), str(queued)}


def test_a_webhook_queue_left_by_a_dead_worker_is_restarted_and_a_busy_one_is_not(live_feed):
    now = timezone.now()
    stalled, busy, off = (
        WebhookSubscription.objects.create(feed=live_feed, url=f"https://partner.example/{name}", active=name != "off")
        for name in ("stalled", "busy", "off")
    )
    WebhookSubscription.objects.filter(pk=stalled.pk).update(lease_owner="dead", lease_until=now - timedelta(seconds=1))
    WebhookSubscription.objects.filter(pk=busy.pk).update(lease_owner="alive", lease_until=now + timedelta(seconds=30))
    for subscription in (stalled, busy, off):
        WebhookDelivery.objects.create(
            subscription=subscription, event="entry.created", seq=1, body="{}", next_attempt_at=now - timedelta(minutes=5)
        )
    DBTaskResult.objects.all().delete()
    assert housekeeping.tidy()["webhook queues restarted"] == 1
    [queued] = DBTaskResult.objects.filter(task_path=deliver_webhooks.module_path)
    assert queued.args_kwargs["kwargs"] == {"subscription_id": stalled.pk}


def test_the_command_says_what_it_did(publisher):
    key(publisher, "old", expires_in=timedelta(minutes=-1))
    out = StringIO()
    call_command("housekeeping", stdout=out)
    assert "expired idempotency keys: 1" in out.getvalue()
