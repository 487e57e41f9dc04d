"""Writes to webhook subscriptions, for the admin: only those who may run the feed manage them."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import roles
from . import delivery
from .models import WebhookDelivery, WebhookSubscription, new_secret

# How long deliveries stay signed with a replaced secret too: time for the partner to switch.
ROTATION_OVERLAP = timedelta(hours=24)

EDITABLE_FIELDS = ["feed", "url", "secret", "events", "active", "updated_at"]


def save_subscription(*, subscription: WebhookSubscription, by: AbstractBaseUser) -> WebhookSubscription:
    """Create or change a subscription; turning it back on resumes from its oldest pending delivery.

    Only the fields an editor sets are written, so a worker's concurrent bookkeeping is kept.
    """
    if not roles.can_run_feed(by):
        raise PermissionDenied(_("You may not manage webhooks."))
    subscription.full_clean(exclude=["lease_owner", "lease_until"])
    with transaction.atomic():
        if subscription.pk is None:
            subscription.save()
            return subscription
        was_active = WebhookSubscription.objects.values_list("active", flat=True).get(pk=subscription.pk)
        fields = list(EDITABLE_FIELDS)
        if subscription.active and not was_active:
            subscription.consecutive_failures = 0
            subscription.disabled_reason = ""
            subscription.disabled_at = None
            fields += ["consecutive_failures", "disabled_reason", "disabled_at"]
            _resume(subscription)
        elif was_active and not subscription.active:
            subscription.disabled_reason = f"Turned off by {by.get_username()}."
            subscription.disabled_at = timezone.now()
            fields += ["disabled_reason", "disabled_at"]
        subscription.save(update_fields=fields)
    return subscription


def enable_subscription(*, subscription: WebhookSubscription, by: AbstractBaseUser) -> WebhookSubscription:
    """Turn a (disabled) subscription back on."""
    subscription.active = True
    return save_subscription(subscription=subscription, by=by)


def _resume(subscription: WebhookSubscription) -> None:
    """The oldest pending delivery is due now; the worker takes it from there, in order."""
    WebhookDelivery.objects.filter(subscription=subscription, status=WebhookDelivery.Status.PENDING).update(
        next_attempt_at=timezone.now()
    )
    delivery.schedule(subscription_id=subscription.pk)


def rotate_secret(
    *, subscription: WebhookSubscription, by: AbstractBaseUser, overlap: timedelta = ROTATION_OVERLAP
) -> WebhookSubscription:
    """Give the subscription a new secret; for `overlap`, deliveries carry a signature under the
    old one too, so the partner can switch without a refused delivery."""
    if not roles.can_run_feed(by):
        raise PermissionDenied(_("You may not manage webhooks."))
    now = timezone.now()
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        still_retiring = [
            item for item in locked.retiring_secrets if datetime.fromisoformat(item["until"]) > now
        ]
        locked.retiring_secrets = [
            {"secret": locked.secret, "until": (now + overlap).isoformat()},
            *still_retiring,
        ]
        locked.secret = new_secret()
        locked.save(update_fields=["secret", "retiring_secrets", "updated_at"])
    subscription.secret, subscription.retiring_secrets = locked.secret, locked.retiring_secrets
    return subscription
