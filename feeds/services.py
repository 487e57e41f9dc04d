"""Every write to feeds and entries, and the broadcast that follows it.

Views, the admin, the API and management commands all call these functions, so the rules hold
on every path: drafts stay invisible, each change readers can see takes the feed's next `seq`,
and it is broadcast only after the transaction commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from . import events
from .broadcast import broadcast_change
from .models import Entry, Feed
from .rendering import render_markdown

ENTRY_FIELDS = {"kind", "headline", "body", "status", "pinned", "key_event"}
FEED_FIELDS = {"title", "summary", "status", "coverage_start", "coverage_end"}


def next_seq(feed: Feed) -> int:
    """Take the feed's next change number; call inside a transaction.

    The UPDATE locks the feed's row until commit, so concurrent writers to one feed queue here and
    never share a number, and numbers have no gaps: a rolled-back change gives its number back.
    """
    Feed.objects.filter(pk=feed.pk).update(seq=F("seq") + 1)
    feed.seq = Feed.objects.filter(pk=feed.pk).values_list("seq", flat=True).get()
    return feed.seq


def _require(user: AbstractBaseUser, permission: str, message: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied(message)


def _clean_text(value: str) -> str:
    return value.replace("\x00", "")


# --- Feeds ------------------------------------------------------------------------------------


def create_feed(
    *,
    by: AbstractBaseUser,
    title: str,
    slug: str,
    summary: str = "",
    status: str = Feed.Status.DRAFT,
    coverage_start: datetime | None = None,
    coverage_end: datetime | None = None,
) -> Feed:
    """Create a feed; a feed created live or ended counts as its first visible change."""
    _require(by, "feeds.add_feed", "You may not create feeds.")
    feed = Feed(
        title=_clean_text(title),
        slug=slug,
        summary=_clean_text(summary),
        status=status,
        coverage_start=coverage_start,
        coverage_end=coverage_end,
    )
    _fill_coverage_times(feed)
    feed.full_clean()
    with transaction.atomic():
        feed.save()
        if feed.is_visible_to_readers:
            _record_feed_change(feed, by=by)
    return feed


def update_feed(*, feed: Feed, by: AbstractBaseUser, **changes: Any) -> Feed:
    """Change a feed's own fields (title, summary, status, coverage times) and tell its readers."""
    unknown = set(changes) - FEED_FIELDS
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    _require(by, "feeds.change_feed", "You may not change feeds.")
    with transaction.atomic():
        locked = Feed.objects.select_for_update().get(pk=feed.pk)
        was_visible = locked.is_visible_to_readers
        changed = False
        for name, value in changes.items():
            if isinstance(value, str):
                value = _clean_text(value)
            if getattr(locked, name) != value:
                setattr(locked, name, value)
                changed = True
        if not changed:
            return locked
        _fill_coverage_times(locked)
        locked.full_clean()
        locked.save()
        if was_visible or locked.is_visible_to_readers:
            _record_feed_change(locked, by=by)
    _copy_state(locked, into=feed)
    return feed


def _fill_coverage_times(feed: Feed) -> None:
    now = timezone.now()
    if feed.status in (Feed.Status.LIVE, Feed.Status.ENDED) and feed.coverage_start is None:
        feed.coverage_start = now
    if feed.status == Feed.Status.ENDED and feed.coverage_end is None:
        feed.coverage_end = max(now, feed.coverage_start)


def _record_feed_change(feed: Feed, *, by: AbstractBaseUser) -> None:
    seq = next_seq(feed)
    feed.changed_seq = seq
    Feed.objects.filter(pk=feed.pk).update(changed_seq=seq)
    broadcast_change(feed_slug=feed.slug, seq=seq, message=events.feed_message(feed))


# --- Entries ----------------------------------------------------------------------------------


def create_entry(
    *,
    feed: Feed,
    by: AbstractBaseUser,
    body: str = "",
    headline: str = "",
    kind: str = Entry.Kind.TEXT,
    status: str = Entry.Status.PUBLISHED,
    pinned: bool = False,
    key_event: bool = False,
) -> Entry:
    """Add an entry to a feed; a published one reaches readers at once."""
    _require(by, "feeds.add_entry", "You may not write entries.")
    if status == Entry.Status.PUBLISHED:
        _require(by, "feeds.publish_entry", "You may not publish entries.")
    entry = Entry(
        feed=feed,
        author=by,
        kind=kind,
        headline=_clean_text(headline),
        body=_clean_text(body),
        status=status,
        pinned=pinned,
        key_event=key_event,
    )
    if not entry.body.strip() and not entry.headline.strip():
        raise ValidationError({"body": "Write a headline or a body."})
    entry.html = render_markdown(entry.body)
    entry.full_clean(exclude=["author"])
    with transaction.atomic():
        entry.save()
        if entry.is_visible_to_readers:
            _record_entry_change(entry, became_visible=True)
    return entry


def update_entry(*, entry: Entry, by: AbstractBaseUser, **changes: Any) -> Entry:
    """Edit, publish, unpublish, pin or mark an entry; readers see the result as one change."""
    unknown = set(changes) - ENTRY_FIELDS
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    _require(by, "feeds.change_entry", "You may not edit entries.")
    with transaction.atomic():
        locked = Entry.objects.select_for_update().select_related("feed").get(pk=entry.pk)
        if locked.is_tombstone:
            raise ValidationError("This entry has been deleted.")
        was_visible = locked.is_visible_to_readers
        changed = False
        for name, value in changes.items():
            if isinstance(value, str):
                value = _clean_text(value)
            if getattr(locked, name) != value:
                setattr(locked, name, value)
                changed = True
        if not changed:
            return locked
        if not locked.body.strip() and not locked.headline.strip():
            raise ValidationError({"body": "Write a headline or a body."})
        if was_visible or locked.status == Entry.Status.PUBLISHED:
            _require(by, "feeds.publish_entry", "You may not change what readers see.")
        locked.html = render_markdown(locked.body)
        locked.full_clean(exclude=["author"])
        locked.save()
        is_visible = locked.is_visible_to_readers
        if was_visible or is_visible:
            _record_entry_change(locked, became_visible=is_visible and not was_visible)
    _copy_state(locked, into=entry)
    return entry


def delete_entry(*, entry: Entry, by: AbstractBaseUser) -> None:
    """Delete an entry; one readers have seen leaves a tombstone so they can be told."""
    _require(by, "feeds.delete_entry", "You may not delete entries.")
    with transaction.atomic():
        locked = Entry.objects.select_for_update().select_related("feed").get(pk=entry.pk)
        if locked.is_tombstone:
            return
        was_visible = locked.is_visible_to_readers
        if was_visible:
            _require(by, "feeds.publish_entry", "You may not change what readers see.")
        if locked.seq is None:
            locked.delete()
            return
        locked.deleted_at = timezone.now()
        locked.headline = locked.body = locked.html = ""
        locked.pinned = locked.key_event = False
        locked.save()
        if was_visible:
            _record_entry_change(locked, became_visible=False)
    _copy_state(locked, into=entry)


def _record_entry_change(entry: Entry, *, became_visible: bool) -> None:
    """Give the entry the feed's next `seq`, keep one pinned entry per feed, and broadcast."""
    seq = next_seq(entry.feed)
    entry.seq = seq
    update: dict[str, Any] = {"seq": seq}
    if became_visible:
        entry.created_seq = seq
        update["created_seq"] = seq
        if entry.published_at is None:
            entry.published_at = timezone.now()
            update["published_at"] = entry.published_at
    Entry.objects.filter(pk=entry.pk).update(**update)
    broadcast_change(
        feed_slug=entry.feed.slug,
        seq=seq,
        message=events.entry_message(entry, feed_slug=entry.feed.slug, after=seq - 1),
    )
    if entry.pinned and entry.is_visible_to_readers:
        for other in Entry.objects.select_for_update().filter(feed=entry.feed_id, pinned=True).exclude(pk=entry.pk):
            other.feed = entry.feed
            other.pinned = False
            other.save(update_fields=["pinned", "updated_at"])
            if other.is_visible_to_readers:
                _record_entry_change(other, became_visible=False)


def _copy_state(source: Any, *, into: Any) -> None:
    """Refresh the caller's instance with the saved state."""
    for field in source._meta.concrete_fields:
        setattr(into, field.attname, getattr(source, field.attname))
