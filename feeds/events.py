"""The messages readers receive, shared by the WebSocket, the events API and catch-up.

A message is built from the database state once per change and encoded once; every reader gets
the same text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from .models import Entry, Feed

ENTRY_CREATED = "entry.created"
ENTRY_UPDATED = "entry.updated"
ENTRY_DELETED = "entry.deleted"
FEED_UPDATED = "feed.updated"
FEED_RESET = "feed.reset"


def timestamp(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with microseconds, identical on every path (WebSocket, API, catch-up)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def author_name(entry: Entry) -> str:
    user = entry.author
    return user.get_full_name() or user.get_username()


def corrections_payload(entry: Entry) -> list[dict[str, Any]]:
    """The entry's visible corrections, oldest first: when, the note, and the earlier wording."""
    return [
        {"at": item["at"], "note": item["note"], "headline": item["headline"], "html": item["html"]}
        for item in entry.corrections
    ]


def entry_payload(entry: Entry) -> dict[str, Any]:
    """An entry as readers see it; a deleted one that left a notice has `removed` and no content."""
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "headline": entry.headline,
        "html": entry.html,
        "details": entry.details,
        "published_at": timestamp(entry.published_at),
        "updated_at": timestamp(entry.updated_at),
        "pinned": entry.pinned,
        "key_event": entry.key_event,
        "author": author_name(entry),
        "seq": entry.seq,
        "corrections": corrections_payload(entry),
        "removed": entry.is_tombstone,
    }


def feed_payload(feed: Feed) -> dict[str, Any]:
    """A feed's own fields as readers see them."""
    return {
        "slug": feed.slug,
        "title": feed.title,
        "summary": feed.summary,
        "status": feed.status,
        "coverage_start": timestamp(feed.coverage_start),
        "coverage_end": timestamp(feed.coverage_end),
        "language": feed.language,
        "url": feed.get_absolute_url(),
        "race": feed.race,
        "race_html": feed.race_html,
        "time_zone": feed.time_zone,
        "seq": feed.seq,
    }


def entry_message(entry: Entry, *, feed_slug: str, after: int) -> dict[str, Any]:
    """The message telling a reader who has applied up to `after` about this entry's last change."""
    if not entry.is_visible_to_readers:
        gone: dict[str, Any] = {"id": entry.pk}
        if entry.removal_notice and entry.is_tombstone:
            gone["removal_notice"] = True
        return {"type": ENTRY_DELETED, "seq": entry.seq, "feed": feed_slug, "entry": gone}
    kind = ENTRY_CREATED if (entry.created_seq or 0) > after else ENTRY_UPDATED
    return {"type": kind, "seq": entry.seq, "feed": feed_slug, "entry": entry_payload(entry)}


def feed_message(feed: Feed) -> dict[str, Any]:
    """The message telling readers about the feed's own last change."""
    payload = feed_payload(feed)
    payload["seq"] = feed.changed_seq
    return {"type": FEED_UPDATED, "seq": feed.changed_seq, "feed": feed.slug, "feed_data": payload}


def reset_message(*, feed_slug: str, seq: int) -> dict[str, Any]:
    """Tells a reader whose state cannot be brought up to date change by change (it is ahead of the
    feed, as after a restored backup, or more than a page behind) to reload it; `seq` is the
    feed's current one, to resume from once reloaded."""
    return {"type": FEED_RESET, "seq": seq, "feed": feed_slug}


def desk_entry_payload(entry: Entry) -> dict[str, Any]:
    """An entry as the desk shows it to staff: drafts, Markdown source and version included."""
    payload = entry_payload(entry)
    payload.update(
        status=entry.status,
        body=entry.body,
        version=entry.version,
        author_id=entry.author_id,
        publish_at=timestamp(entry.publish_at),
        created_at=timestamp(entry.created_at),
        deleted=entry.is_tombstone,
    )
    return payload


def desk_entry_message(entry: Entry) -> dict[str, Any]:
    """The desk's message for an entry's change, drafts included; a deleted entry carries its id."""
    if entry.is_tombstone:
        return desk_deleted_message(entry_id=entry.pk)
    return {"type": ENTRY_UPDATED, "entry": desk_entry_payload(entry)}


def desk_deleted_message(*, entry_id: int) -> dict[str, Any]:
    return {"type": ENTRY_DELETED, "entry": {"id": entry_id}}


def desk_feed_message(feed: Feed) -> dict[str, Any]:
    """The desk's message for a change to the feed itself (status, race status)."""
    return {"type": FEED_UPDATED, "feed_data": feed_payload(feed)}


def encode(message: dict[str, Any]) -> str:
    """Encode a message once, compactly, for every reader."""
    return json.dumps(message, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)
