"""Every read a reader may see. Drafts never leave through here."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils.translation import gettext as _

from . import events, moments
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
        moment = datetime.fromisoformat(published)
        if not moments.in_range(moment):
            raise ValueError("outside the years kept")
        return moment, int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor(_("The cursor is not valid.")) from exc


ORDERS = ("newest", "oldest")


@dataclass(frozen=True)
class EntryPage:
    """A page of entries in reading order, with the cursor of the page after it (if any)."""

    entries: list[Entry]
    older_cursor: str | None = None
    newer_cursor: str | None = None


def _newer_than(published_at: datetime, pk: int) -> Q:
    return Q(published_at__gt=published_at) | Q(published_at=published_at, id__gt=pk)


def _older_than(published_at: datetime, pk: int) -> Q:
    return Q(published_at__lt=published_at) | Q(published_at=published_at, id__lt=pk)


def entries_page(
    *,
    feed: Feed,
    before: str | None = None,
    after: str | None = None,
    order: str = "newest",
    limit: int | None = None,
    with_removals: bool = False,
) -> EntryPage:
    """A page of a feed's visible entries.

    Newest first, the latest page or the one older than the `before` cursor; oldest first, the
    first entries of the coverage or the ones newer than the `after` cursor, so a reader who comes
    late reads the story from its start and pages forward. `with_removals` keeps, in their places,
    the notices deleted entries left (the reader's page and the read API; not syndication)."""
    limit = limit or settings.LIVEFEED["PAGE_SIZE"]
    entries = _listed(with_removals).filter(feed=feed).select_related("author", "feed")
    if order == "oldest":
        if after:
            entries = entries.filter(_newer_than(*decode_cursor(after)))
        page = list(entries.order_by("published_at", "id")[: limit + 1])
        newer = encode_cursor(page[limit - 1]) if len(page) > limit else None
        return EntryPage(entries=page[:limit], newer_cursor=newer)
    if before:
        entries = entries.filter(_older_than(*decode_cursor(before)))
    page = list(entries.newest_first()[: limit + 1])
    older = encode_cursor(page[limit - 1]) if len(page) > limit else None
    return EntryPage(entries=page[:limit], older_cursor=older)


def _listed(with_removals: bool) -> Any:
    return Entry.objects.on_readers_page() if with_removals else Entry.objects.visible_to_readers()


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
    rows = Entry.objects.filter(feed=feed, seq__gt=after).select_related("author", "feed").order_by("seq")
    changed = list(rows if limit is None else rows[: limit + 1])
    if limit is not None:
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


def key_events(*, feed: Feed, order: str = "newest", limit: int = 50) -> list[Entry]:
    """The feed's entries marked as key events, for the page's summary list: the latest `limit`,
    in the reader's order."""
    entries = Entry.objects.visible_to_readers().filter(feed=feed, key_event=True).select_related("feed")
    latest = list(entries.newest_first()[:limit])
    return latest[::-1] if order == "oldest" else latest


@dataclass(frozen=True)
class EntryWindow:
    """A page around one entry: `has_before` says entries precede the window in reading order."""

    entries: list[Entry]
    older_cursor: str | None
    newer_cursor: str | None
    has_before: bool


def entries_around(
    *,
    feed: Feed,
    entry: Entry,
    order: str = "newest",
    context: int = 2,
    limit: int | None = None,
    with_removals: bool = False,
) -> EntryWindow:
    """A page of entries holding `entry`, a few entries before it in reading order, so a permalink
    opens in context however deep the entry is, without loading everything above it."""
    visible = _listed(with_removals).filter(feed=feed).select_related("author", "feed")
    assert entry.published_at is not None, "an entry readers see has been published"
    key = (entry.published_at, entry.pk)
    if order == "oldest":
        preceding = list(visible.filter(_older_than(*key)).newest_first()[: context + 1])
    else:
        preceding = list(visible.filter(_newer_than(*key)).order_by("published_at", "id")[: context + 1])
    has_before = len(preceding) > context
    preceding = preceding[:context][::-1]
    # Cursors are exclusive: the page after the entry just before it starts with the entry itself.
    cursor = encode_cursor(preceding[-1]) if preceding else None
    if order == "oldest":
        page = entries_page(feed=feed, after=cursor, order="oldest", limit=limit, with_removals=with_removals)
    else:
        page = entries_page(feed=feed, before=cursor, limit=limit, with_removals=with_removals)
    return EntryWindow(
        entries=preceding + page.entries,
        older_cursor=page.older_cursor,
        newer_cursor=page.newer_cursor,
        has_before=has_before,
    )
