"""Housekeeping drops spent linking codes and handled delivery ids once they are no use."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from feeds import housekeeping
from feeds.messaging.models import LinkCode, MessagingDelivery

pytestmark = pytest.mark.django_db


def test_used_and_expired_linking_codes_go(publisher):
    now = timezone.now()
    LinkCode.objects.create(user=publisher, code_hash="expired", expires_at=now - timedelta(seconds=1))
    LinkCode.objects.create(
        user=publisher, code_hash="used", expires_at=now + timedelta(minutes=5), used_at=now
    )
    LinkCode.objects.create(user=publisher, code_hash="fresh", expires_at=now + timedelta(minutes=5))
    housekeeping.tidy()
    assert list(LinkCode.objects.values_list("code_hash", flat=True)) == ["fresh"]


def test_handled_messaging_ids_are_kept_a_week():
    old = MessagingDelivery.objects.create(platform="telegram", delivery_id="1")
    MessagingDelivery.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=8))
    MessagingDelivery.objects.create(platform="telegram", delivery_id="2")
    housekeeping.tidy()
    assert list(MessagingDelivery.objects.values_list("delivery_id", flat=True)) == ["2"]
