"""A feed's link to a timing and scoring source, and what the source last told us.

Imported by `feeds.models`, so the model belongs to the feeds app.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from .. import roles
from ..outbound import validate_public_url
from . import registry


class TimingSource(models.Model):
    class Post(models.TextChoices):
        OFF = "off", "Don't post"
        DRAFT = "draft", "Post as a draft"
        PUBLISHED = "published", "Publish"

    feed = models.OneToOneField("feeds.Feed", on_delete=models.CASCADE, related_name="timing_source")
    format = models.CharField(max_length=30, choices=registry.choices, default="livefeed")
    url = models.URLField(
        max_length=500,
        blank=True,
        validators=[validate_public_url],
        help_text="Polled for the race status. Leave empty to only receive pushes to the API.",
    )
    enabled = models.BooleanField(default=True, help_text="Poll the URL and accept pushes.")
    interval_seconds = models.PositiveIntegerField(
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(3600)],
        help_text="Seconds between polls.",
    )
    max_backoff_seconds = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(3600)],
        help_text="Longest wait between polls while the source keeps failing.",
    )
    stale_after_seconds = models.PositiveIntegerField(
        default=120,
        validators=[MaxValueValidator(86400)],
        help_text="Report the source unhealthy when its data has not changed for this long under a "
        "green, yellow or white flag (0: never).",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="timing_sources",
        help_text="Who changes the race status and signs automatic posts: an Editor.",
    )
    post_flag_changes = models.CharField(
        max_length=10,
        choices=Post.choices,
        default=Post.DRAFT,
        help_text="A race status entry for each new flag.",
    )
    post_lead_changes = models.CharField(
        max_length=10, choices=Post.choices, default=Post.OFF, help_text="An entry when the leader changes."
    )

    # What the source last told us; written by the ingest service only.
    generation = models.PositiveIntegerField(
        default=0, editable=False, help_text="Raised to replace the polling chain."
    )
    last_timestamp = models.DateTimeField(null=True, blank=True, editable=False)
    last_lap = models.PositiveIntegerField(null=True, blank=True, editable=False)
    last_fingerprint = models.TextField(blank=True, editable=False)
    last_ok_at = models.DateTimeField(null=True, blank=True, editable=False, help_text="Last good response.")
    last_change_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Last response that changed something."
    )
    last_error = models.CharField(max_length=300, blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)
    failures = models.PositiveIntegerField(default=0, editable=False, help_text="Failed responses in a row.")
    next_poll_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "feeds_timingsource"  # made by the feeds app before timing was an app of its own
        verbose_name = "timing source"

    def __str__(self) -> str:
        return f"Timing for {self.feed}"

    def clean(self) -> None:
        """The posting identity must be allowed to do what the source will do in its name."""
        author = getattr(self, "author", None) if self.author_id else None
        if author is None:
            return
        if not roles.can_run_feed(author):
            raise ValidationError(
                {"author": _("Choose an Editor: this user may not change the race status.")}
            )
        if self.Post.PUBLISHED in (self.post_flag_changes, self.post_lead_changes) and not roles.can_publish(
            author
        ):
            raise ValidationError(
                {"author": _("This user may not publish; choose an Editor or post drafts.")}
            )

    @property
    def is_polled(self) -> bool:
        return self.enabled and bool(self.url)

    @property
    def healthy(self) -> bool:
        """Answering with good, fresh data: no error since the last good response."""
        return self.enabled and self.last_ok_at is not None and not self.last_error and not self.is_overdue

    @property
    def is_overdue(self) -> bool:
        """A polled source whose next poll is long past: the worker is not running its chain."""
        if not self.is_polled or self.next_poll_at is None:
            return False
        return timezone.now() > self.next_poll_at + timedelta(seconds=max(30, 3 * self.interval_seconds))

    def health_text(self) -> str:
        if not self.enabled:
            return gettext("Off")
        if self.last_error:
            return gettext("Unhealthy: %(error)s") % {"error": self.last_error}
        if self.is_overdue:
            return gettext("Unhealthy: not polled since its due time; is the background worker running?")
        if self.last_ok_at is None:
            return gettext("Waiting for data")
        return gettext("Healthy")
