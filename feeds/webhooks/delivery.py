"""Delivering a subscription's changes, run by the background worker.

In order per subscription: the oldest pending delivery goes first, and while it fails, later
ones wait (retried with exponential backoff) until it succeeds or the subscription is disabled
after `WEBHOOK_MAX_FAILURES` failures in a row. A worker claims a subscription with a conditional
UPDATE (a lease) before delivering, so two workers never deliver to one URL at once; no database
lock is held while the receiver answers, so a slow receiver never holds up posting.
"""

from __future__ import annotations

import logging
import random
import uuid
from datetime import datetime, timedelta

import httpx2
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django_tasks import task

from .. import outbound
from . import signing
from .models import WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

# Longer than one request may take, so a live worker never loses its claim mid-delivery; a dead
# worker's claim lapses after this.
LEASE_MARGIN = timedelta(seconds=60)
ERROR_LENGTH = 500


def option(name: str) -> float:
    return settings.LIVEFEED[name]


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones: doubling, capped, jittered."""
    delay = min(option("WEBHOOK_RETRY_SECONDS") * 2 ** (attempts - 1), option("WEBHOOK_RETRY_MAX_SECONDS"))
    return delay * (0.9 + random.random() * 0.2)


def deliver_pending(*, subscription_id: int) -> int:
    """Deliver the subscription's due changes, oldest first; returns how many were acknowledged.

    Returns at once if another worker holds the subscription: that worker looks for new rows
    after letting go, so a change committed meanwhile is not left behind.
    """
    owner = uuid.uuid4().hex
    delivered = 0
    while _claim(subscription_id, owner):
        try:
            delivered += _deliver_due(subscription_id, owner)
        finally:
            _release(subscription_id, owner)
        if not _has_due(subscription_id):
            break
    _prune(subscription_id)
    return delivered


def unclaimed(now: datetime) -> Q:
    """Subscriptions no worker is delivering to: never claimed, released, or the claim lapsed."""
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def _lease_end(now: datetime) -> datetime:
    return now + timedelta(seconds=option("WEBHOOK_TIMEOUT")) + LEASE_MARGIN


def _claim(subscription_id: int, owner: str) -> bool:
    now = timezone.now()
    return bool(
        WebhookSubscription.objects.filter(unclaimed(now), pk=subscription_id, active=True).update(
            lease_owner=owner, lease_until=_lease_end(now)
        )
    )


def _release(subscription_id: int, owner: str) -> None:
    WebhookSubscription.objects.filter(pk=subscription_id, lease_owner=owner).update(
        lease_owner="", lease_until=None
    )


def _holds(subscription_id: int, owner: str) -> bool:
    """Renew the claim before an attempt; False if it lapsed and another worker took over."""
    return bool(
        WebhookSubscription.objects.filter(pk=subscription_id, lease_owner=owner, active=True).update(
            lease_until=_lease_end(timezone.now())
        )
    )


def _head(subscription_id: int) -> WebhookDelivery | None:
    """The oldest pending delivery: nothing later goes out before it."""
    return (
        WebhookDelivery.objects.filter(subscription_id=subscription_id, status=WebhookDelivery.Status.PENDING)
        .order_by("id")
        .first()
    )


def _has_due(subscription_id: int) -> bool:
    head = _head(subscription_id)
    # A subscription turned off meanwhile is not claimed again, which ends the loop.
    return head is not None and head.next_attempt_at <= timezone.now()


def _deliver_due(subscription_id: int, owner: str) -> int:
    delivered = 0
    while True:
        head = _head(subscription_id)
        if head is None or head.next_attempt_at > timezone.now() or not _holds(subscription_id, owner):
            return delivered
        subscription = WebhookSubscription.objects.filter(pk=subscription_id).first()
        if subscription is None or not _attempt(subscription, head):
            return delivered
        delivered += 1


def _attempt(subscription: WebhookSubscription, delivery: WebhookDelivery) -> bool:
    """POST one delivery and record the outcome; True when the receiver acknowledged it (2xx)."""
    body = delivery.body.encode()
    headers = signing.headers(
        secrets=signing_secrets(subscription),
        body=body,
        event=delivery.event,
        delivery_id=str(delivery.delivery_id),
    )
    status: int | None = None
    try:
        response = outbound.request(
            "POST", subscription.url, timeout=option("WEBHOOK_TIMEOUT"), content=body, headers=headers
        )
        status = response.status_code
        error = "" if response.is_success else f"The receiver answered HTTP {status}."
    except outbound.RefusedURL as refused:
        error = f"Refused: {refused}"
    except httpx2.TimeoutException:
        error = f"No answer within {option('WEBHOOK_TIMEOUT'):g} s."
    except httpx2.HTTPError as failure:
        error = f"The request failed: {failure.__class__.__name__}: {failure}"
    if error:
        _record_failure(subscription, delivery, status=status, error=error[:ERROR_LENGTH])
        return False
    _record_success(subscription, delivery, status=status)
    return True


def signing_secrets(subscription: WebhookSubscription) -> list[str]:
    """The current secret, then those a rotation replaced whose overlap has not ended."""
    now = timezone.now()
    retiring = [
        item["secret"]
        for item in subscription.retiring_secrets
        if datetime.fromisoformat(item["until"]) > now
    ]
    return [subscription.secret, *retiring]


def _record_success(
    subscription: WebhookSubscription, delivery: WebhookDelivery, *, status: int | None
) -> None:
    now = timezone.now()
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.DELIVERED,
            attempts=F("attempts") + 1,
            last_attempt_at=now,
            delivered_at=now,
            response_status=status,
            error="",
        )
        WebhookSubscription.objects.filter(pk=subscription.pk).update(consecutive_failures=0)


def _record_failure(
    subscription: WebhookSubscription, delivery: WebhookDelivery, *, status: int | None, error: str
) -> None:
    """Schedule a retry with backoff, or disable the subscription after a run of failures."""
    now = timezone.now()
    attempts = delivery.attempts + 1
    retry_at = now + timedelta(seconds=retry_delay(attempts))
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            attempts=attempts,
            last_attempt_at=now,
            next_attempt_at=retry_at,
            response_status=status,
            error=error,
        )
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            consecutive_failures=F("consecutive_failures") + 1
        )
        failures = WebhookSubscription.objects.values_list("consecutive_failures", flat=True).get(
            pk=subscription.pk
        )
        limit = int(option("WEBHOOK_MAX_FAILURES"))
        if failures >= limit:
            reason = f"Disabled after {failures} failed deliveries in a row. Last error: {error}"
            WebhookSubscription.objects.filter(pk=subscription.pk).update(
                active=False, disabled_reason=reason, disabled_at=now
            )
            logger.warning("Webhook subscription %s disabled: %s", subscription.pk, reason)
        else:
            logger.info(
                "Webhook delivery %s to %s failed (%s); retrying at %s",
                delivery.pk,
                subscription.url,
                error,
                retry_at,
            )
            schedule(subscription_id=subscription.pk, at=retry_at)


def schedule(*, subscription_id: int, at: datetime | None = None) -> None:
    """Queue a delivery run for the worker (inside the caller's transaction, if any)."""
    task = deliver_webhooks if at is None else deliver_webhooks.using(run_after=at)
    task.enqueue(subscription_id=subscription_id)


def restart_stalled() -> int:
    """Queue a run for each active subscription whose due deliveries nobody is working on.

    A worker that died mid-delivery leaves its claim to lapse; without this (run by housekeeping),
    the subscription would wait for the next change to the feed before its queue moved again.
    """
    now = timezone.now()
    due = WebhookDelivery.objects.filter(
        subscription=OuterRef("pk"),
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at__lte=now - LEASE_MARGIN,
    )
    stalled = WebhookSubscription.objects.filter(unclaimed(now), Exists(due), active=True).values_list(
        "pk", flat=True
    )
    count = 0
    for subscription_id in stalled:
        schedule(subscription_id=subscription_id)
        count += 1
    return count


def _prune(subscription_id: int) -> None:
    """Keep the delivery log bounded: acknowledged deliveries are kept `WEBHOOK_KEEP_DAYS` days."""
    cutoff = timezone.now() - timedelta(days=option("WEBHOOK_KEEP_DAYS"))
    WebhookDelivery.objects.filter(
        subscription_id=subscription_id, status=WebhookDelivery.Status.DELIVERED, delivered_at__lt=cutoff
    ).delete()


@task()
def deliver_webhooks(*, subscription_id: int) -> int:
    """The worker's task: deliver a subscription's pending changes in order (queued per change and retry)."""
    return deliver_pending(subscription_id=subscription_id)
