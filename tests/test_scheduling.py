"""Scheduled entries: invisible until their time, published once, by the editor who scheduled them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from feeds import selectors, services
from feeds.models import Entry

pytestmark = pytest.mark.django_db


def scheduled(publisher, feed, *, minutes: int = 10) -> Entry:
    return services.create_entry(
        feed=feed,
        by=publisher,
        body="At the green flag",
        publish_at=timezone.now() + timedelta(minutes=minutes),
    )


def test_a_scheduled_entry_is_an_invisible_draft_with_a_queued_task(publisher, live_feed):
    entry = scheduled(publisher, live_feed)
    assert entry.status == "draft" and not entry.is_visible_to_readers
    assert selectors.changes_after(feed=live_feed, after=live_feed.seq) == []
    task = DBTaskResult.objects.get()
    assert task.run_after == entry.publish_at and task.args_kwargs["kwargs"]["entry_id"] == entry.pk


def test_it_is_not_published_before_its_time(publisher, live_feed):
    entry = scheduled(publisher, live_feed)
    assert services.publish_scheduled_entry(entry_id=entry.pk, due=entry.publish_at) is False
    assert not Entry.objects.get(pk=entry.pk).is_visible_to_readers


def test_it_is_published_once_when_due(publisher, live_feed):
    entry = scheduled(publisher, live_feed)
    due = timezone.now() - timedelta(seconds=1)
    Entry.objects.filter(pk=entry.pk).update(publish_at=due)  # as if the time had come
    assert services.publish_scheduled_entry(entry_id=entry.pk, due=due) is True
    assert services.publish_scheduled_entry(entry_id=entry.pk, due=due) is False
    entry = Entry.objects.get(pk=entry.pk)
    assert entry.is_visible_to_readers and entry.publish_at is None and entry.seq == live_feed.seq + 1


def test_a_rescheduled_entry_ignores_its_old_time(publisher, live_feed):
    entry = scheduled(publisher, live_feed)
    old = entry.publish_at
    services.update_entry(entry=entry, by=publisher, publish_at=old + timedelta(minutes=5))
    Entry.objects.filter(pk=entry.pk).update(publish_at=timezone.now() + timedelta(minutes=5))
    assert services.publish_scheduled_entry(entry_id=entry.pk, due=old) is False


def test_a_time_in_the_past_is_refused(publisher, live_feed):
    with pytest.raises(ValidationError) as error:
        scheduled(publisher, live_feed, minutes=-1)
    assert "publish_at" in error.value.message_dict


def test_contributors_cannot_schedule(make_member, live_feed):
    with pytest.raises(PermissionDenied):
        scheduled(make_member("Contributor", "casey"), live_feed)
