"""Corrections and removal notices reach partners' webhooks, as readers get them."""

from __future__ import annotations

import json

import pytest

from feeds import services
from feeds.webhooks import delivery
from tests.webhooks.test_webhooks import post, subscribe, webhook_settings  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_a_correction_is_delivered_with_its_note_and_earlier_wording(publisher, live_feed, receiver):
    subscription = subscribe(live_feed, publisher, receiver.url + "/hook")
    entry = post(live_feed, publisher, "Debris in Turn 3")
    services.correct_entry(entry=entry, by=publisher, note="It was Turn 4.", body="Debris in Turn 4")
    services.delete_entry(entry=entry, by=publisher, removal_notice=True)
    delivery.deliver_pending(subscription_id=subscription.pk)
    created, corrected, removed = receiver.wait_for(3)
    assert corrected.headers["Livefeed-Event"] == "entry.updated"
    [correction] = json.loads(corrected.body)["entry"]["corrections"]
    assert correction["note"] == "It was Turn 4." and correction["html"] == "<p>Debris in Turn 3</p>"
    assert json.loads(removed.body)["entry"] == {"id": entry.pk, "removal_notice": True}
