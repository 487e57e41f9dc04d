"""Background work run by `manage.py db_worker`: publishing entries scheduled for later."""

from __future__ import annotations

from datetime import datetime

from django_tasks import task

from . import services


@task()
def publish_at_time(*, entry_id: int, due: str) -> bool:
    """Publish a scheduled entry; queued with `run_after` set to its publish time."""
    return services.publish_scheduled_entry(entry_id=entry_id, due=datetime.fromisoformat(due))
