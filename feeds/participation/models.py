"""What readers send: poll ballots, reactions, questions, and each feed's participation settings.

Ballots and reactions are one row per reader (a signed browser token, `readers`) per entry: the
unique constraints are what make a vote count once, whichever process or path records it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from feeds.models import Entry, Feed

# The reactions readers may give; a fixed set, so counts stay small and comparable.
REACTIONS = {
    "like": "👍",
    "love": "❤️",
    "wow": "😮",
    "sad": "😢",
    "flag": "🏁",
}


class FeedParticipation(models.Model):
    """What readers of one feed may do besides reading; a feed without a row takes the defaults."""

    feed = models.OneToOneField(Feed, on_delete=models.CASCADE, related_name="participation")
    reactions_enabled = models.BooleanField(default=False, help_text="Readers may react to entries.")
    questions_enabled = models.BooleanField(
        default=True, help_text="Readers may send questions to the desk (never shown until answered)."
    )

    class Meta:
        verbose_name = "reader participation"
        verbose_name_plural = "reader participation"

    def __str__(self) -> str:
        return f"Participation in {self.feed}"


class Ballot(models.Model):
    """One reader's vote in one poll."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="+")
    voter = models.CharField(max_length=64, help_text="The reader's browser token, never an account.")
    choice = models.PositiveSmallIntegerField(help_text="Index of the option, from 0.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entry", "voter"], name="ballot_once_per_reader")]

    def __str__(self) -> str:
        return f"Ballot for option {self.choice} in entry {self.entry_id}"


class Reaction(models.Model):
    """One reader's reaction to one entry."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="+")
    voter = models.CharField(max_length=64)
    reaction = models.CharField(max_length=10, choices=[(name, name) for name in REACTIONS])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["entry", "voter"], name="reaction_once_per_reader")]

    def __str__(self) -> str:
        return f"{self.reaction} on entry {self.entry_id}"


class ReaderQuestion(models.Model):
    """A question a reader sent; readers see it only in the entry an editor answers it with."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        ANSWERED = "answered", "Answered"
        DISMISSED = "dismissed", "Dismissed"

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="reader_questions")
    text = models.TextField(max_length=500)
    display_name = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    address_hash = models.CharField(
        max_length=64, blank=True, editable=False, help_text="A keyed hash of the sender's address."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True, editable=False)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    answer = models.ForeignKey(
        Entry, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )

    history = HistoricalRecords(excluded_fields=["address_hash"])

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["feed", "status", "created_at"], name="question_queue")]

    def __str__(self) -> str:
        return self.text[:60]
