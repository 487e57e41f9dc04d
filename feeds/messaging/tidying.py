"""Housekeeping steps for messaging: spent linking codes and old delivery ids go."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from .models import LinkCode, MessagingDelivery

# Telegram redelivers an update for up to a day and Slack retries within minutes: a week of
# handled ids is ample to recognise a redelivery.
DELIVERIES_KEPT = timedelta(days=7)


def remove_spent_link_codes() -> int:
    """Delete linking codes that expired or were used; how many went."""
    now = timezone.now()
    return LinkCode.objects.filter(Q(expires_at__lte=now) | Q(used_at__isnull=False)).delete()[0]


def remove_old_deliveries() -> int:
    """Delete handled delivery ids older than DELIVERIES_KEPT; how many went."""
    return MessagingDelivery.objects.filter(received_at__lt=timezone.now() - DELIVERIES_KEPT).delete()[0]
