"""Closing a poll at its closing time: the worker stores the final result when the time comes.

Votes are refused from the closing time on whatever happens here (`selectors.poll_closed`); this
is what puts the final counts in the entry, for readers and partners, without an editor's click.
Each change to a poll with a closing time queues a task for that time; a task whose time was
changed since, or whose poll was closed by hand, does nothing.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from django_tasks import task

from feeds import roles
from feeds.models import Entry

from . import kind as poll_kind
from . import services

logger = logging.getLogger(__name__)

CHANGED_EVENTS = ("entry.created", "entry.updated")


def on_change_recorded(*, event: str, text: str, **kwargs: Any) -> None:
    """`feeds.signals.change_recorded` receiver: queue the closing of a poll that has a time."""
    if event not in CHANGED_EVENTS or '"kind":"poll"' not in text.replace(" ", ""):
        return
    entry = json.loads(text).get("entry") or {}
    details = entry.get("details") or {}
    closing = poll_kind.closes_at(details)
    if entry.get("kind") != poll_kind.PollKind.name or closing is None or poll_kind.final_result(details):
        return
    close_when_due.using(run_after=closing).enqueue(entry_id=entry["id"], due=closing.isoformat())


@task()
def close_when_due(*, entry_id: int, due: str) -> bool:
    """The worker's task: close the poll if it is still open and `due` is still its closing time."""
    return close_due_poll(entry_id=entry_id, due=datetime.fromisoformat(due))


def close_due_poll(*, entry_id: int, due: datetime) -> bool:
    """Store the final result of a poll whose closing time `due` has come; False if nothing to do."""
    entry = Entry.objects.select_related("feed", "author").filter(pk=entry_id).first()
    if entry is None or entry.kind != poll_kind.PollKind.name or not entry.is_visible_to_readers:
        return False
    if poll_kind.final_result(entry.details) is not None or poll_kind.closes_at(entry.details) != due:
        return False
    if due > timezone.now():
        logger.warning("Closing poll %s ran before its time %s; left open.", entry_id, due)
        return False
    closer = _closer(entry)
    if closer is None:
        logger.warning("Poll %s reached its closing time but no one who may publish wrote it.", entry_id)
        return False
    services.close_poll(entry=entry, by=closer)
    return True


def _closer(entry: Entry) -> AbstractBaseUser | None:
    """Who the closing is recorded as: the poll's author, else the last editor who saved it."""
    candidates = [entry.author] + [
        record.history_user for record in entry.history.order_by("-history_date")[:5]
    ]
    for user in candidates:
        if user is not None and roles.can_publish(user):
            return user
    return None
