"""Webhook subscriptions, their outbox and delivery log, and the pending WebSub ping of each feed."""

from __future__ import annotations

import base64
import secrets
import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import events
from ..models import Feed
from ..outbound import validate_public_url

EVENT_CHOICES = [
    (events.ENTRY_CREATED, "Entry created"),
    (events.ENTRY_UPDATED, "Entry updated"),
    (events.ENTRY_DELETED, "Entry deleted"),
    (events.FEED_UPDATED, "Feed updated"),
]
EVENT_TYPES = [value for value, _label in EVENT_CHOICES]


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def every_event() -> list[str]:
    """A new subscription hears of every kind of change."""
    return list(EVENT_TYPES)


class WebhookSubscription(models.Model):
    """A partner's URL that receives a feed's changes, signed with `secret`."""

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="webhook_subscriptions")
    url = models.URLField("URL", max_length=500, validators=[validate_public_url])
    secret = models.CharField(
        max_length=200,
        default=new_secret,
        help_text="Shared with the receiver, which checks each request's signature with it.",
    )
    retiring_secrets = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text="Secrets replaced by a rotation, still signed with until their end: [{secret, until}].",
    )
    events = models.JSONField(default=every_event, help_text="The kinds of change this URL receives.")
    active = models.BooleanField(
        default=True, help_text="Turn back on to resume from the oldest delivery still pending."
    )
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    disabled_reason = models.TextField(blank=True, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Which worker is delivering to this URL now, and until when the claim holds (see delivery.py).
    lease_owner = models.CharField(max_length=32, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "feeds_webhooksubscription"  # made by the feeds app before webhooks was an app
        ordering = ["feed", "id"]
        verbose_name = "webhook subscription"

    def __str__(self) -> str:
        return f"{self.url} ({self.feed.slug})"

    def clean(self) -> None:
        if not isinstance(self.events, list) or not self.events or set(self.events) - set(EVENT_TYPES):
            raise ValidationError(
                {"events": _("Choose one or more of %(choices)s.") % {"choices": ", ".join(EVENT_TYPES)}}
            )

    def wants(self, event: str) -> bool:
        return event in self.events


class WebhookDelivery(models.Model):
    """One change for one subscription: the outbox row while pending, the log entry afterwards."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(max_length=30)
    seq = models.PositiveBigIntegerField()
    body = models.TextField(help_text="The JSON sent, identical to the WebSocket message.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        db_table = "feeds_webhookdelivery"
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["subscription", "status", "id"], name="webhook_delivery_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.seq}"


class WebSubPing(models.Model):
    """A feed's hub ping: pending while `requested_seq` is ahead of `pinged_seq` (one per feed)."""

    feed = models.OneToOneField(Feed, on_delete=models.CASCADE, related_name="websub_ping")
    requested_seq = models.PositiveBigIntegerField(default=0)
    pinged_seq = models.PositiveBigIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True, help_text="When the pending ping was queued.")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        db_table = "feeds_websubping"
        verbose_name = "WebSub ping"

    def __str__(self) -> str:
        return f"WebSub ping of {self.feed_id}"
