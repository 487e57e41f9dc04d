"""`manage.py housekeeping` keeps a long-running site's tables small; plug-in apps add their own steps."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from feeds import housekeeping
from feeds.models import IdempotencyKey
from feeds.services import publish_at_time

pytestmark = pytest.mark.django_db


def key(user, name: str, *, expires_in: timedelta) -> IdempotencyKey:
    return IdempotencyKey.objects.create(
        user=user,
        key=name,
        fingerprint="0" * 64,
        method="POST",
        path="/api/",
        status_code=201,
        expires_at=timezone.now() + expires_in,
    )


def test_expired_idempotency_keys_go_and_live_ones_stay(publisher):
    key(publisher, "old", expires_in=timedelta(minutes=-1))
    key(publisher, "live", expires_in=timedelta(hours=1))
    housekeeping.tidy()
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["live"]


def test_finished_task_results_older_than_a_day_go_and_queued_tasks_stay():
    due = (timezone.now() + timedelta(hours=1)).isoformat()
    finished_long_ago, finished_just_now, queued = (
        publish_at_time.enqueue(entry_id=number, due=due).id for number in range(3)
    )
    DBTaskResult.objects.filter(pk=finished_long_ago).update(
        status="SUCCESSFUL", finished_at=timezone.now() - timedelta(days=2)
    )
    DBTaskResult.objects.filter(pk=finished_just_now).update(status="SUCCESSFUL", finished_at=timezone.now())
    assert housekeeping.tidy()["finished task results"] == 1
    assert {str(pk) for pk in DBTaskResult.objects.values_list("pk", flat=True)} == {
        str(finished_just_now),
        str(queued),
    }


def test_the_command_says_what_it_did(publisher):
    key(publisher, "old", expires_in=timedelta(minutes=-1))
    out = StringIO()
    call_command("housekeeping", stdout=out)
    assert "expired idempotency keys: 1" in out.getvalue()
