"""Feeds, their entries and API tokens.

A feed's `seq` counts the changes readers can see; each entry remembers the `seq` of its last
visible change, so a reader who knows the last `seq` it applied can be told exactly what it missed.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from . import kinds

CORRECTION_NOTE_MAX_LENGTH = 200


def default_time_zone() -> str:
    """A new feed's time zone: the site's (`TIME_ZONE`), until an editor names the track's."""
    return settings.TIME_ZONE


def validate_time_zone(value: str) -> None:
    """Refuse a name the IANA time zone database does not know."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not a time zone name such as Europe/Paris or America/New_York.")


class FeedQuerySet(models.QuerySet):
    def visible_to_readers(self) -> FeedQuerySet:
        """Feeds a reader may open: live or ended, never drafts."""
        return self.exclude(status=Feed.Status.DRAFT)


class Feed(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("feed status", "Draft")
        LIVE = "live", pgettext_lazy("feed status", "Live")
        ENDED = "ended", pgettext_lazy("feed status", "Ended")

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    summary = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    coverage_start = models.DateTimeField(null=True, blank=True)
    coverage_end = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text="Where the event takes place (an IANA name such as America/New_York): readers can "
        "see the event's local time, and the page without script shows times in it.",
    )
    language = models.CharField(
        max_length=10,
        choices=settings.LANGUAGES,
        default="en",
        help_text="What readers read it in: the page, the widget, the feeds and the race status.",
    )
    race = models.JSONField(default=dict, blank=True, help_text="State of the race the feed covers.")
    race_html = models.TextField(blank=True, editable=False, help_text="Sanitized HTML of the race status.")
    seq = models.PositiveBigIntegerField(default=0, editable=False, help_text="Last change number.")
    changed_seq = models.PositiveBigIntegerField(
        default=0, editable=False, help_text="Change number of the feed's own last visible change."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = FeedQuerySet.as_manager()

    class Meta:
        ordering = ["-coverage_start", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(coverage_end__isnull=True)
                | Q(coverage_start__isnull=True)
                | Q(coverage_end__gte=models.F("coverage_start")),
                name="feed_coverage_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("feeds:detail", kwargs={"slug": self.slug})

    @property
    def is_visible_to_readers(self) -> bool:
        return self.status != self.Status.DRAFT


class EntryQuerySet(models.QuerySet):
    def visible_to_readers(self) -> EntryQuerySet:
        """Published, not deleted entries of feeds readers may open."""
        return self.filter(
            status=Entry.Status.PUBLISHED,
            deleted_at__isnull=True,
        ).exclude(feed__status=Feed.Status.DRAFT)

    def on_readers_page(self) -> EntryQuerySet:
        """What a reader's page lists: the visible entries, and the "This update was removed"
        notices that deleted entries leave when the editor asked for one."""
        return self.filter(
            Q(status=Entry.Status.PUBLISHED, deleted_at__isnull=True)
            | Q(deleted_at__isnull=False, removal_notice=True)
        ).exclude(feed__status=Feed.Status.DRAFT)

    def newest_first(self) -> EntryQuerySet:
        return self.order_by("-published_at", "-id")


class Entry(models.Model):
    class Kind(models.TextChoices):
        """Names of the built-in kinds, for code that posts one; feeds.kinds holds every kind."""

        TEXT = "text", "Text"
        QUOTE = "quote", "Quote"
        SOCIAL = "social", "Social post"
        IMAGE = "image", "Image"
        RACE_STATUS = "race_status", "Race status"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="entries")
    # Read from the registry when asked, so a newly registered kind needs no migration.
    kind = models.CharField(max_length=20, choices=kinds.choices, default=Kind.TEXT)
    headline = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True, help_text="Markdown.")
    details = models.JSONField(
        default=dict, blank=True, help_text="The kind's own fields (speaker, URL, alt text…)."
    )
    image = models.FileField(upload_to="entries/originals/", blank=True, max_length=200)
    html = models.TextField(blank=True, editable=False, help_text="Sanitized HTML rendered from the body.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="entries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PUBLISHED)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    publish_at = models.DateTimeField(
        null=True, blank=True, help_text="Publish automatically at this time (a scheduled draft)."
    )
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="scheduled_entries",
    )
    version = models.PositiveIntegerField(default=1, editable=False, help_text="Raised by every save.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    pinned = models.BooleanField(default=False)
    key_event = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    seq = models.PositiveBigIntegerField(
        null=True, blank=True, editable=False, help_text="Feed change number of the last visible change."
    )
    created_seq = models.PositiveBigIntegerField(
        null=True, blank=True, editable=False, help_text="Feed change number when readers first saw it."
    )
    corrections = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text="Corrections shown to readers, oldest first: when, the note, and the wording readers "
        "saw before (headline and HTML).",
    )
    removal_notice = models.BooleanField(
        default=False,
        editable=False,
        help_text='Deleted, leaving a visible "This update was removed" notice in its place.',
    )

    objects = EntryQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["seq", "created_seq", "html", "updated_at"])

    class Meta:
        verbose_name_plural = "entries"
        ordering = ["-published_at", "-id"]
        permissions = [("publish_entry", "Can publish entries to readers")]
        constraints = [
            models.UniqueConstraint(fields=["feed", "seq"], name="entry_seq_unique_per_feed"),
        ]
        indexes = [
            models.Index(fields=["feed", "seq"], name="entry_feed_seq"),
            models.Index(fields=["feed", "-published_at", "-id"], name="entry_feed_newest"),
        ]

    def __str__(self) -> str:
        return self.headline or self.body[:60] or f"Entry {self.pk}"

    @property
    def is_visible_to_readers(self) -> bool:
        return (
            self.status == self.Status.PUBLISHED
            and self.deleted_at is None
            and self.feed.is_visible_to_readers
        )

    @property
    def is_tombstone(self) -> bool:
        return self.deleted_at is not None

    @property
    def correction_list(self) -> list[Correction]:
        """The corrections readers are shown, oldest first, with their times as datetimes."""
        return [Correction.from_stored(item) for item in self.corrections]


@dataclass(frozen=True)
class Correction:
    """One visible correction: when it was made, the editor's note, and the earlier wording."""

    at: datetime
    note: str
    headline: str
    html: str

    @classmethod
    def from_stored(cls, item: dict[str, str]) -> Correction:
        return cls(
            at=datetime.fromisoformat(item["at"]),
            note=item["note"],
            headline=item.get("headline", ""),
            html=item.get("html", ""),
        )


class ReaderSample(models.Model):
    """How many readers watched a feed at one moment, counted across every server process.

    Taken every few seconds by `feeds.audience.sampling` and kept as long as the feed, so the desk
    can draw the audience over the whole event and tell each entry's reach.
    """

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="reader_samples")
    at = models.DateTimeField(help_text="The moment counted, on a boundary of the sampling interval.")
    readers = models.PositiveIntegerField()

    class Meta:
        ordering = ["feed", "at"]
        constraints = [
            # One count per moment, however many processes try to record it.
            models.UniqueConstraint(fields=["feed", "at"], name="reader_sample_unique_per_moment"),
        ]

    def __str__(self) -> str:
        return f"{self.feed_id} @ {self.at:%Y-%m-%d %H:%M:%S}: {self.readers}"


class ApiToken(models.Model):
    """A bearer token for the write API; only a hash of the key is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class IdempotencyKey(models.Model):
    """A write's `Idempotency-Key` and the answer it got, so a retry is answered without writing again.

    Saved in the same transaction as the write itself: either both are kept or neither is.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and body.")
    method = models.CharField(max_length=10)
    path = models.TextField()
    status_code = models.PositiveSmallIntegerField()
    content_type = models.CharField(max_length=200, blank=True)
    body = models.BinaryField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"
