"""Every write to feeds and entries, and the broadcast that follows it.

Views, the admin, the API and management commands all call these functions, so the rules hold
on every path: drafts stay invisible, each change readers can see takes the feed's next `seq`,
and it is broadcast only after the transaction commits.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django_tasks import task

from . import events, images, kinds, low_priority, race, roles
from .broadcast import broadcast_change, broadcast_to_desk
from .models import CORRECTION_NOTE_MAX_LENGTH, Entry, Feed
from .rendering import render_race_status

logger = logging.getLogger(__name__)

ENTRY_FIELDS = {"kind", "headline", "body", "details", "status", "pinned", "key_event", "publish_at"}
HISTORY_REASON_MAX_LENGTH = 100  # django-simple-history's history_change_reason column
IMAGE_KEYS = ("src", "width", "height", "renditions")
FEED_FIELDS = {"title", "summary", "status", "coverage_start", "coverage_end", "time_zone", "language"}


def next_seq(feed: Feed) -> int:
    """Take the feed's next change number; call inside a transaction.

    The UPDATE locks the feed's row until commit, so concurrent writers to one feed queue here and
    never share a number, and numbers have no gaps: a rolled-back change gives its number back.
    """
    Feed.objects.filter(pk=feed.pk).update(seq=F("seq") + 1)
    feed.seq = Feed.objects.filter(pk=feed.pk).values_list("seq", flat=True).get()
    return feed.seq


class StaleEdit(Exception):
    """The entry was saved by someone else since the editor loaded it; `current` is the newer one."""

    def __init__(self, current: Entry) -> None:
        self.current = current
        super().__init__(
            _(
                "Someone else saved this entry while you were editing it. Their version is shown now; "
                "apply your change to it and save again."
            )
        )


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
    slug: str = "",
    summary: str = "",
    status: str = Feed.Status.DRAFT,
    coverage_start: datetime | None = None,
    coverage_end: datetime | None = None,
    time_zone: str = "",
    language: str = "en",
) -> Feed:
    """Create a feed; a feed created live or ended counts as its first visible change.

    Without a slug, one is derived from the title as the admin does, made unique with a suffix.
    """
    _require(by, "feeds.add_feed", _("You may not create feeds."))
    title = _clean_text(title)
    feed = Feed(
        title=title,
        slug=slug or slug_from_title(title),
        summary=_clean_text(summary),
        status=status,
        coverage_start=coverage_start,
        coverage_end=coverage_end,
        language=language,
    )
    if time_zone:
        feed.time_zone = time_zone
    _fill_coverage_times(feed)
    feed.full_clean()
    with transaction.atomic():
        feed.save()
        if feed.is_visible_to_readers:
            _record_feed_change(feed, by=by)
    return feed


def slug_from_title(title: str) -> str:
    """A free slug for a new feed: the title's slug, then `-2`, `-3`… if another feed has it."""
    limit = Feed._meta.get_field("slug").max_length or 50
    base = slugify(title)[: limit - 4].strip("-") or "feed"
    candidate, number = base, 1
    while Feed.objects.filter(slug=candidate).exists():
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def update_feed(*, feed: Feed, by: AbstractBaseUser, **changes: Any) -> Feed:
    """Change a feed's own fields (title, summary, status, coverage times, language) and tell its readers."""
    unknown = set(changes) - FEED_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), _("This field cannot be changed.")))
    _require(by, "feeds.change_feed", _("You may not change feeds."))
    with transaction.atomic():
        locked = Feed.objects.select_for_update().get(pk=feed.pk)
        was_visible = locked.is_visible_to_readers
        public = Feed(
            **{field.attname: getattr(locked, field.attname) for field in Feed._meta.concrete_fields}
        )
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
        if locked.language != public.language and locked.race:
            with translation.override(locked.language):
                locked.race_html = render_race_status(locked.race)
        locked.save()
        if was_visible and not locked.is_visible_to_readers:
            # Readers last hear the feed as they knew it, never a title or summary that is not public.
            public.status = locked.status
            _record_feed_change(locked, by=by, shown=public)
        elif locked.is_visible_to_readers:
            _record_feed_change(locked, by=by)
            if not was_visible:
                _announce_held_entries(locked)
        broadcast_to_desk(feed_slug=locked.slug, message=events.desk_feed_message(locked))
    _copy_state(locked, into=feed)
    return feed


def update_race_status(
    *, feed: Feed, by: AbstractBaseUser, changes: dict[str, Any], announce: bool = False
) -> Feed:
    """Change the state of the race (flag, lap, leader…) and push it to readers.

    With `announce`, a flag change also posts a race status entry, so the stream records it.
    """
    if not roles.can_run_feed(by):
        raise PermissionDenied(_("You may not change the race status."))
    with transaction.atomic():
        locked = Feed.objects.select_for_update().get(pk=feed.pk)
        state = race.clean_race(locked.race, changes)
        if state == locked.race:
            return locked
        flag_changed = state.get("flag") != locked.race.get("flag")
        locked.race = state
        with translation.override(locked.language):  # rendered once, in the readers' language
            locked.race_html = render_race_status(state)
        locked.save(update_fields=["race", "race_html", "updated_at"])
        if locked.is_visible_to_readers:
            _record_feed_change(locked, by=by)
        broadcast_to_desk(feed_slug=locked.slug, message=events.desk_feed_message(locked))
        if announce and flag_changed and state.get("flag"):
            create_entry(
                feed=locked,
                by=by,
                kind=Entry.Kind.RACE_STATUS,
                details=state,
                key_event=state["flag"] in ("red", "checkered"),
            )
    _copy_state(locked, into=feed)
    return feed


def _fill_coverage_times(feed: Feed) -> None:
    now = timezone.now()
    if feed.status in (Feed.Status.LIVE, Feed.Status.ENDED) and feed.coverage_start is None:
        feed.coverage_start = now
    if feed.status == Feed.Status.ENDED and feed.coverage_end is None:
        feed.coverage_end = max(now, feed.coverage_start)


def _record_feed_change(feed: Feed, *, by: AbstractBaseUser, shown: Feed | None = None) -> None:
    """Give the feed's own change the next `seq` and broadcast it; `shown` is what readers are told
    (the feed as it was public, when it goes back to draft)."""
    seq = next_seq(feed)
    feed.changed_seq = seq
    Feed.objects.filter(pk=feed.pk).update(changed_seq=seq)
    if shown is not None:
        shown.seq = shown.changed_seq = seq
    broadcast_change(feed=feed, seq=seq, message=events.feed_message(shown or feed))


def _announce_held_entries(feed: Feed) -> None:
    """A feed going live: each entry published, edited or deleted while it was a draft takes its
    `seq` now (in id order, under the feed's lock) and reaches readers like any other change."""
    held = Entry.objects.select_for_update().filter(feed=feed, seq__isnull=True).order_by("id")
    for entry_id in held.values_list("id", flat=True):
        entry = Entry.objects.select_for_update().get(pk=entry_id)
        if entry.seq is not None:  # announced meanwhile, as a pinned entry's neighbour
            continue
        entry.feed = feed
        if entry.is_visible_to_readers:
            _record_entry_change(entry, became_visible=entry.created_seq is None)
        elif entry.created_seq is not None:  # readers saw it before: tell them it is gone
            _record_entry_change(entry, became_visible=False)


def _hold_for_draft_feed(entry: Entry, *, was_public: bool) -> None:
    """An entry change in a draft feed that readers would see waits, without a `seq`, for the feed
    to go live (`_announce_held_entries`)."""
    if entry.feed.is_visible_to_readers or not (was_public or _public_in_live_feed(entry)):
        return
    if entry.seq is not None:
        entry.seq = None
        Entry.objects.filter(pk=entry.pk).update(seq=None)


def _public_in_live_feed(entry: Entry) -> bool:
    return entry.status == Entry.Status.PUBLISHED and entry.deleted_at is None


def _lock_feed(feed_id: int) -> Feed:
    """Lock the entry's feed before any entry row, so every writer takes its locks in one order
    (feed, then entries) and pinning and editing cannot deadlock."""
    return Feed.objects.select_for_update().get(pk=feed_id)


# --- Entries ----------------------------------------------------------------------------------


def create_entry(
    *,
    feed: Feed,
    by: AbstractBaseUser,
    body: str = "",
    headline: str = "",
    kind: str = Entry.Kind.TEXT,
    details: dict[str, Any] | None = None,
    image: UploadedFile | None = None,
    status: str = Entry.Status.PUBLISHED,
    pinned: bool = False,
    key_event: bool = False,
    publish_at: datetime | None = None,
) -> Entry:
    """Add an entry to a feed; a published one reaches readers at once, a scheduled one at
    `publish_at`."""
    if not roles.can_write(by):
        raise PermissionDenied(_("You may not write entries."))
    if publish_at is not None:
        _check_future(publish_at)
        status = Entry.Status.DRAFT
    if status == Entry.Status.PUBLISHED or publish_at is not None:
        _require_publisher(by, _("You may not publish entries; save a draft for an editor."))
    if pinned or key_event:
        _require_publisher(by, _("You may not pin entries or mark key events."))
    entry = Entry(
        feed=feed,
        author=by,
        kind=kind,
        headline=_clean_text(headline),
        body=_clean_text(body),
        details=details or {},
        status=status,
        pinned=pinned,
        key_event=key_event,
        publish_at=publish_at,
        scheduled_by=by if publish_at is not None else None,
    )
    _render(entry, upload=image, image_state=None)
    entry.full_clean(exclude=["author", "image", "scheduled_by"])
    with transaction.atomic():
        _copy_state(_lock_feed(feed.pk), into=feed)
        entry._history_user = by
        entry.save()
        if entry.is_visible_to_readers:
            _record_entry_change(entry, became_visible=True)
        _tell_desk(entry)
        if entry.publish_at is not None:
            _schedule(entry)
    return entry


def update_entry(
    *,
    entry: Entry,
    by: AbstractBaseUser,
    expected_version: int | None = None,
    image: UploadedFile | None = None,
    **changes: Any,
) -> Entry:
    """Edit, publish, schedule, pin or mark an entry; readers see the result as one change.

    With `expected_version`, a save based on an older version raises StaleEdit instead of
    overwriting what someone else saved in between.
    """
    return _update_entry(entry=entry, by=by, expected_version=expected_version, upload=image, changes=changes)


def correct_entry(
    *,
    entry: Entry,
    by: AbstractBaseUser,
    note: str,
    expected_version: int | None = None,
    image: UploadedFile | None = None,
    **changes: Any,
) -> Entry:
    """Edit a published entry in the open: readers see "Corrected <time> — <note>" and can open
    the wording they saw before. A plain `update_entry` stays silent (a typo fix).

    Only the wording readers saw is kept as the earlier one, so a draft's text never reaches them.
    """
    note = _clean_text(note).strip()
    if not note:
        raise ValidationError({"correction_note": _("Say in a few words what was corrected.")})
    if len(note) > CORRECTION_NOTE_MAX_LENGTH:
        raise ValidationError(
            {
                "correction_note": _("Keep the note to %(limit)s characters or fewer.")
                % {"limit": CORRECTION_NOTE_MAX_LENGTH}
            }
        )
    return _update_entry(
        entry=entry, by=by, expected_version=expected_version, upload=image, changes=changes, correction=note
    )


def _update_entry(
    *,
    entry: Entry,
    by: AbstractBaseUser,
    expected_version: int | None,
    upload: UploadedFile | None,
    changes: dict[str, Any],
    image_state: tuple[str, dict[str, Any]] | None = None,
    correction: str | None = None,
) -> Entry:
    unknown = set(changes) - ENTRY_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), _("This field cannot be changed.")))
    if not roles.can_write(by):
        raise PermissionDenied(_("You may not edit entries."))
    if correction is not None:
        _require_publisher(by, _("You may not correct what readers see."))
    with transaction.atomic():
        _lock_feed(entry.feed_id)
        locked = Entry.objects.select_for_update().select_related("feed").get(pk=entry.pk)
        if locked.is_tombstone:
            raise ValidationError(_("This entry has been deleted."))
        if not roles.can_edit_entry(by, locked):
            raise PermissionDenied(_("You may only edit your own drafts."))
        if expected_version is not None and expected_version != locked.version:
            raise StaleEdit(locked)
        was_visible = locked.is_visible_to_readers
        was_public = _public_in_live_feed(locked)
        changed = {name for name, value in changes.items() if getattr(locked, name) != _cleaned(value)}
        if correction is not None and not was_visible:
            raise ValidationError(_("Only an entry readers can see can be corrected; edit it instead."))
        if not changed and upload is None and image_state is None:
            if correction is not None:
                raise ValidationError(_("A correction changes the wording: change the text, then save."))
            return locked
        seen = {"headline": locked.headline, "html": locked.html}
        if image_state is None and locked.image:
            image_state = (locked.image.name, {k: v for k, v in locked.details.items() if k in IMAGE_KEYS})
        for name in changed:
            setattr(locked, name, _cleaned(changes[name]))
        if "publish_at" in changed and locked.publish_at is not None:
            _check_future(locked.publish_at)
            locked.status = Entry.Status.DRAFT
            locked.scheduled_by = by
        elif locked.status == Entry.Status.PUBLISHED:
            locked.publish_at = None
        if was_visible or locked.status == Entry.Status.PUBLISHED or locked.publish_at is not None:
            _require_publisher(by, _("You may not change what readers see."))
        if changed & {"pinned", "key_event"}:
            _require_publisher(by, _("You may not pin entries or mark key events."))
        _render(locked, upload=upload, image_state=image_state)
        locked.full_clean(exclude=["author", "image", "scheduled_by"])
        if correction is not None:
            _note_correction(locked, note=correction, seen=seen)
        locked.version += 1
        locked._history_user = by
        locked.save()
        is_visible = locked.is_visible_to_readers
        if was_visible or is_visible:
            _record_entry_change(locked, became_visible=is_visible and not was_visible)
        _hold_for_draft_feed(locked, was_public=was_public)
        _tell_desk(locked)
        if "publish_at" in changed and locked.publish_at is not None:
            _schedule(locked)
    _copy_state(locked, into=entry)
    return entry


def _note_correction(entry: Entry, *, note: str, seen: dict[str, str]) -> None:
    """Record a correction on the entry about to be saved: the time, the note and the wording
    readers saw (`seen`), and mark it in the entry's history."""
    if not entry.is_visible_to_readers:
        raise ValidationError(_("A correction keeps the entry published; unpublish it with a plain edit."))
    if seen == {"headline": entry.headline, "html": entry.html}:
        raise ValidationError(_("A correction changes the wording: change the text, then save."))
    entry.corrections = [*entry.corrections, {"at": events.timestamp(timezone.now()), "note": note, **seen}]
    entry._change_reason = f"Correction: {note}"[:HISTORY_REASON_MAX_LENGTH]


def restore_entry_version(
    *, entry: Entry, by: AbstractBaseUser, history_id: int, expected_version: int | None = None
) -> Entry:
    """Bring back an earlier version's content (kind, headline, body, fields, image) as a new save."""
    try:
        record = entry.history.get(history_id=history_id)
    except entry.history.model.DoesNotExist:
        raise ValidationError({"history_id": _("No such version of this entry.")})
    changes = {
        "kind": record.kind,
        "headline": record.headline,
        "body": record.body,
        "details": record.details,
    }
    # The history keeps a file field as the stored name (a str), not as a FieldFile.
    image_name = getattr(record.image, "name", record.image) or ""
    image_state = (image_name, {k: v for k, v in record.details.items() if k in IMAGE_KEYS})
    return _update_entry(
        entry=entry,
        by=by,
        expected_version=expected_version,
        upload=None,
        changes=changes,
        image_state=image_state,
    )


def publish_scheduled_entry(*, entry_id: int, due: datetime) -> bool:
    """Publish a scheduled entry whose time has come, as the editor who scheduled it.

    Returns False (and changes nothing) if it was published, deleted or rescheduled meanwhile.
    """
    with transaction.atomic():
        feed_id = Entry.objects.filter(pk=entry_id).values_list("feed_id", flat=True).first()
        if feed_id is None:
            return False
        _lock_feed(feed_id)
        try:
            locked = Entry.objects.select_for_update().select_related("feed").get(pk=entry_id)
        except Entry.DoesNotExist:
            return False
        if locked.is_tombstone or locked.status == Entry.Status.PUBLISHED or locked.publish_at != due:
            return False
        if locked.publish_at > timezone.now():
            logger.warning("Scheduled entry %s was due at %s but ran early; not published.", entry_id, due)
            return False
        publisher = locked.scheduled_by
        if publisher is None or not roles.can_publish(publisher):
            logger.warning(
                "Scheduled entry %s was not published: its scheduler may no longer publish.", entry_id
            )
            return False
        locked.status = Entry.Status.PUBLISHED
        locked.publish_at = None
        locked.version += 1
        locked._history_user = publisher
        locked.save()
        if locked.is_visible_to_readers:
            _record_entry_change(locked, became_visible=True)
        _hold_for_draft_feed(locked, was_public=False)
        _tell_desk(locked)
    return True


@task()
def publish_at_time(*, entry_id: int, due: str) -> bool:
    """The worker's task for a scheduled entry, queued with `run_after` set to its publish time."""
    return publish_scheduled_entry(entry_id=entry_id, due=datetime.fromisoformat(due))


def delete_entry(*, entry: Entry, by: AbstractBaseUser, removal_notice: bool = False) -> None:
    """Delete an entry; one readers have seen leaves a tombstone so they can be told.

    With `removal_notice`, an entry readers can see now leaves "This update was removed" in its
    place, on the page and in the API, instead of vanishing; its content is gone either way."""
    with transaction.atomic():
        _lock_feed(entry.feed_id)
        locked = Entry.objects.select_for_update().select_related("feed").get(pk=entry.pk)
        if not roles.can_delete_entry(by, locked):
            raise PermissionDenied(_("You may not delete entries."))
        if locked.is_tombstone:
            return
        was_visible = locked.is_visible_to_readers
        was_public = _public_in_live_feed(locked)
        locked._history_user = by
        if locked.seq is None and locked.created_seq is None:  # readers never saw it
            entry_id = locked.pk
            locked.delete()
            broadcast_to_desk(
                feed_slug=locked.feed.slug, message=events.desk_deleted_message(entry_id=entry_id)
            )
            return
        locked.deleted_at = timezone.now()
        locked.headline = locked.body = locked.html = ""
        locked.corrections = []  # earlier wording is content too
        locked.pinned = locked.key_event = False
        if removal_notice and was_visible:
            locked.removal_notice = True
            locked.details = {}
            locked._change_reason = "Removed, leaving a notice for readers"
        locked.publish_at = None
        locked.version += 1
        locked.save()
        if was_visible:
            _record_entry_change(locked, became_visible=False)
        _hold_for_draft_feed(locked, was_public=was_public)
        _tell_desk(locked)
    _copy_state(locked, into=entry)


def _require_publisher(user: AbstractBaseUser, message: str) -> None:
    if not roles.can_publish(user):
        raise PermissionDenied(message)


def _cleaned(value: Any) -> Any:
    return _clean_text(value) if isinstance(value, str) else value


def _check_future(when: datetime) -> None:
    if when <= timezone.now():
        raise ValidationError({"publish_at": _("Choose a time in the future, or publish now.")})


def _render(
    entry: Entry, *, upload: UploadedFile | None, image_state: tuple[str, dict[str, Any]] | None
) -> None:
    """Check the kind's fields and render the entry's HTML, once, at save time."""
    if upload is not None and not kinds.get(entry.kind).takes_image:
        # Dropping it quietly would publish the entry without the photo its editor chose.
        raise ValidationError({"image": _("This kind of entry takes no image.")})
    previous: dict[str, Any] = {}
    details = kinds.clean_details(
        kind=entry.kind,
        details=entry.details,
        body=entry.body,
        headline=entry.headline,
        has_image=bool(upload or entry.image or (image_state and image_state[0])),
    )
    if kinds.get(entry.kind).takes_image:
        if upload is not None:
            # Renditions take a second or more of CPU: behind readers' pages, not beside them.
            entry.image.name, previous = low_priority.run(images.process_upload, upload)
        elif image_state is not None:
            entry.image.name, previous = image_state
        details.update(previous)
    entry.details = details
    with translation.override(entry.feed.language):  # rendered once, in the readers' language
        entry.html = kinds.render_entry(kind=entry.kind, body=entry.body, details=details)


def _schedule(entry: Entry) -> None:
    """Queue the entry's publication for the background worker, in the same transaction."""
    publish_at_time.using(run_after=entry.publish_at).enqueue(
        entry_id=entry.pk, due=entry.publish_at.isoformat()
    )


def _tell_desk(entry: Entry) -> None:
    broadcast_to_desk(feed_slug=entry.feed.slug, message=events.desk_entry_message(entry))


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
        feed=entry.feed,
        seq=seq,
        message=events.entry_message(entry, feed_slug=entry.feed.slug, after=seq - 1),
    )
    if entry.pinned and entry.is_visible_to_readers:
        for other in (
            Entry.objects.select_for_update().filter(feed=entry.feed_id, pinned=True).exclude(pk=entry.pk)
        ):
            other.feed = entry.feed
            other.pinned = False
            other.version += 1
            other.save(update_fields=["pinned", "version", "updated_at"])
            if other.is_visible_to_readers:
                _record_entry_change(other, became_visible=False)
            _tell_desk(other)


def _copy_state(source: Any, *, into: Any) -> None:
    """Refresh the caller's instance with the saved state."""
    for field in source._meta.concrete_fields:
        setattr(into, field.attname, getattr(source, field.attname))
