"""Every read a reader may see. Drafts never leave through here."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Case, IntegerField, Q, Value, When

from . import events
from .models import Entry, Feed


class InvalidCursor(ValueError):
    """A pagination cursor that this server did not produce."""


class TooFarBehind(Exception):
    """A reader missed more changes than `changes_after` was asked to send: it reloads instead."""


def feeds_for_readers() -> list[Feed]:
    """Published feeds: live ones first, then the most recent."""
    return list(
        Feed.objects.visible_to_readers()
        .annotate(
            live_first=Case(
                When(status=Feed.Status.LIVE, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("live_first", "-coverage_start", "-updated_at")
    )


def feed_for_readers(*, slug: str) -> Feed:
    """The feed a reader asked for; raises Feed.DoesNotExist for drafts and unknown slugs alike."""
    return Feed.objects.visible_to_readers().get(slug=slug)


def encode_cursor(entry: Entry) -> str:
    raw = f"{entry.published_at.isoformat()}|{entry.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        published, pk = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
        return datetime.fromisoformat(published), int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor("The cursor is not valid.") from exc


@dataclass(frozen=True)
class EntryPage:
    entries: list[Entry]
    older_cursor: str | None


def entries_page(*, feed: Feed, before: str | None = None, limit: int | None = None) -> EntryPage:
    """A page of a feed's visible entries, newest first, older than the `before` cursor."""
    limit = limit or settings.LIVEFEED["PAGE_SIZE"]
    entries = Entry.objects.visible_to_readers().filter(feed=feed).select_related("author", "feed")
    if before:
        published_at, pk = decode_cursor(before)
        entries = entries.filter(Q(published_at__lt=published_at) | Q(published_at=published_at, id__lt=pk))
    page = list(entries.newest_first()[: limit + 1])
    older = encode_cursor(page[limit - 1]) if len(page) > limit else None
    return EntryPage(entries=page[:limit], older_cursor=older)


def pinned_entry(*, feed: Feed) -> Entry | None:
    return (
        Entry.objects.visible_to_readers()
        .filter(feed=feed, pinned=True)
        .select_related("author", "feed")
        .first()
    )


def changes_after(*, feed: Feed, after: int, limit: int | None = None) -> list[dict[str, Any]]:
    """What a reader who applied every change up to `after` has missed, in `seq` order.

    Each changed entry appears once, in its current state, at the `seq` of its last change. With
    `limit`, raises TooFarBehind rather than return more messages than that.
    """
    changed = (
        Entry.objects.filter(feed=feed, seq__gt=after).select_related("author", "feed").order_by("seq")
    )
    if limit is not None:
        changed = list(changed[: limit + 1])
        if len(changed) + (feed.changed_seq > after) > limit:
            raise TooFarBehind(f"More than {limit} changes after {after}.")
    messages = [events.entry_message(entry, feed_slug=feed.slug, after=after) for entry in changed]
    if feed.changed_seq > after:
        messages.append(events.feed_message(feed))
        messages.sort(key=lambda message: message["seq"])
    return messages


def entry_for_readers(*, feed: Feed, entry_id: int) -> Entry:
    """One visible entry of a feed; raises Entry.DoesNotExist for drafts, deletions and strangers."""
    return Entry.objects.visible_to_readers().select_related("author", "feed").get(feed=feed, pk=entry_id)


def key_events(*, feed: Feed, limit: int = 50) -> list[Entry]:
    """The feed's entries marked as key events, newest first, for the page's summary list."""
    entries = Entry.objects.visible_to_readers().filter(feed=feed, key_event=True).select_related("feed")
    return list(entries.newest_first()[:limit])


@dataclass(frozen=True)
class EntryWindow:
    entries: list[Entry]
    older_cursor: str | None
    has_newer: bool


def entries_around(*, feed: Feed, entry: Entry, newer: int = 2, limit: int | None = None) -> EntryWindow:
    """A page of entries holding `entry`, a few newer ones above it, so a permalink opens in context
    however deep the entry is, without loading everything above it."""
    limit = limit or settings.LIVEFEED["PAGE_SIZE"]
    visible = Entry.objects.visible_to_readers().filter(feed=feed).select_related("author", "feed")
    newer_than = Q(published_at__gt=entry.published_at) | Q(published_at=entry.published_at, id__gt=entry.pk)
    above = list(visible.filter(newer_than).order_by("published_at", "id")[: newer + 1])
    has_newer = len(above) > newer
    above = above[:newer]
    above.reverse()
    # Cursors are exclusive: the page "before the entry just above" starts with the entry itself.
    page = entries_page(feed=feed, before=encode_cursor(above[-1]) if above else None, limit=limit)
    return EntryWindow(entries=above + page.entries, older_cursor=page.older_cursor, has_newer=has_newer)
