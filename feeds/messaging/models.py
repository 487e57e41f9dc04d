"""What the messaging integrations remember: who is who, which chat posts where, what was seen.

Imported by feeds/models.py, so these models belong to the feeds app and share its migrations.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Platform(models.TextChoices):
    TELEGRAM = "telegram", "Telegram"
    SLACK = "slack", "Slack"


class LinkCode(models.Model):
    """A one-time code a user shows on the desk and sends to a bot to link their account; only its
    hash is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messaging_link_codes"
    )
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "feeds_linkcode"
        verbose_name = "messaging link code"

    def __str__(self) -> str:
        return f"Link code for {self.user} (expires {self.expires_at:%H:%M})"


class MessagingAccount(models.Model):
    """A Telegram or Slack account linked to a Livefeed user, who is the author of what it posts."""

    platform = models.CharField(max_length=10, choices=Platform.choices)
    external_id = models.CharField(
        max_length=64, help_text="Telegram user id, or Slack member id (U…, shown in the member's profile)."
    )
    display_name = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messaging_accounts"
    )
    feed = models.ForeignKey(
        "feeds.Feed",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The feed a Telegram account's messages go to (chosen with /feed).",
    )
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "feeds_messagingaccount"
        verbose_name = "messaging account"
        constraints = [
            models.UniqueConstraint(fields=["platform", "external_id"], name="messaging_account_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} {self.display_name or self.external_id} → {self.user}"


class SlackChannel(models.Model):
    """A Slack channel whose messages become entries of a feed."""

    channel_id = models.CharField(
        max_length=32, unique=True, help_text="The channel's id (C…), from its details."
    )
    name = models.CharField(max_length=100, blank=True, help_text="For your reference.")
    feed = models.ForeignKey("feeds.Feed", on_delete=models.CASCADE, related_name="slack_channels")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "feeds_slackchannel"
        verbose_name = "Slack channel"

    def __str__(self) -> str:
        return f"#{self.name or self.channel_id} → {self.feed}"


class MessagingDelivery(models.Model):
    """A Telegram update_id or Slack event_id already handled, so a redelivery changes nothing."""

    platform = models.CharField(max_length=10, choices=Platform.choices)
    delivery_id = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "feeds_messagingdelivery"
        constraints = [
            models.UniqueConstraint(fields=["platform", "delivery_id"], name="messaging_delivery_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} delivery {self.delivery_id}"


class MessagingEntry(models.Model):
    """The entry a chat message became, so its edits and deletions find it."""

    platform = models.CharField(max_length=10, choices=Platform.choices)
    conversation_id = models.CharField(max_length=64, help_text="Telegram chat id or Slack channel id.")
    message_id = models.CharField(max_length=64, help_text="Telegram message_id or Slack ts.")
    entry = models.ForeignKey("feeds.Entry", on_delete=models.CASCADE, related_name="messaging_sources")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "feeds_messagingentry"
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "conversation_id", "message_id"], name="messaging_entry_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} message {self.message_id} → entry {self.entry_id}"
