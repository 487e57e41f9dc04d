"""Webhooks in the admin: subscriptions per feed, for those who may run the feed, and their log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .. import roles
from . import subscriptions
from .models import EVENT_CHOICES, WebhookDelivery, WebhookSubscription

RECENT_DELIVERIES = 20


class FeedRunnersOnly:
    """Webhooks send a feed's changes elsewhere: a decision for those who run feeds."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return roles.can_run_feed(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_run_feed(request.user)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return roles.can_run_feed(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_run_feed(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return roles.can_run_feed(request.user)


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple, help_text="The changes this URL receives."
    )

    class Meta:
        model = WebhookSubscription
        fields = ["feed", "url", "secret", "events", "active"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(FeedRunnersOnly, admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["url", "feed", "event_list", "active", "state", "pending", "log_link"]
    list_filter = ["feed", "active"]
    search_fields = ["url", "feed__title", "feed__slug"]
    readonly_fields = ["state", "consecutive_failures", "log_link", "recent_deliveries"]
    actions = ["turn_on", "rotate"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookSubscription]:
        return (
            super()
            .get_queryset(request)
            .select_related("feed")
            .annotate(
                pending_count=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.PENDING))
            )
        )

    def get_fields(self, request: HttpRequest, obj: WebhookSubscription | None = None) -> list[str]:
        fields = ["feed", "url", "secret", "events", "active"]
        return fields + self.readonly_fields if obj is not None else fields

    @admin.display(description="events")
    def event_list(self, subscription: WebhookSubscription) -> str:
        return ", ".join(subscription.events)

    @admin.display(description="state")
    def state(self, subscription: WebhookSubscription) -> str:
        if subscription.active:
            if subscription.consecutive_failures:
                return f"Retrying ({subscription.consecutive_failures} failed in a row)"
            return "Delivering"
        return subscription.disabled_reason or "Off"

    @admin.display(description="pending")
    def pending(self, subscription: WebhookSubscription) -> int:
        return subscription.pending_count

    @admin.display(description="delivery log")
    def log_link(self, subscription: WebhookSubscription) -> str:
        url = (
            reverse("admin:webhooks_webhookdelivery_changelist")
            + f"?subscription__id__exact={subscription.pk}"
        )
        return format_html('<a href="{}">Delivery log</a>', url)

    @admin.display(description="recent deliveries")
    def recent_deliveries(self, subscription: WebhookSubscription) -> str:
        rows = subscription.deliveries.order_by("-id")[:RECENT_DELIVERIES]
        if not rows:
            return "None yet."
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    d.event,
                    d.seq,
                    d.status,
                    d.response_status or "–",
                    d.attempts,
                    d.last_attempt_at or "–",
                    d.error or "",
                )
                for d in rows
            ),
        )
        return format_html(
            "<table><thead><tr><th>event</th><th>seq</th><th>status</th><th>HTTP</th><th>attempts</th>"
            "<th>last attempt</th><th>error</th></tr></thead><tbody>{}</tbody></table>",
            body,
        )

    def save_model(
        self, request: HttpRequest, obj: WebhookSubscription, form: forms.ModelForm, change: bool
    ) -> None:
        subscriptions.save_subscription(subscription=obj, by=request.user)

    @admin.action(description="Turn on again (resume from the oldest pending delivery)")
    def turn_on(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset.filter(active=False):
            subscriptions.enable_subscription(subscription=subscription, by=request.user)
        messages.success(request, "The subscriptions are on again.")

    @admin.action(description="Rotate the secret (the old one keeps signing for 24 hours)")
    def rotate(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset:
            subscriptions.rotate_secret(subscription=subscription, by=request.user)
        messages.success(
            request,
            "New secrets set. Deliveries carry a signature under the old secret too for 24 hours: "
            "give each partner its new secret within that time.",
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(FeedRunnersOnly, admin.ModelAdmin):
    """The delivery log: read only, pruned by the worker (see WEBHOOK_KEEP_DAYS)."""

    list_display = [
        "created_at",
        "subscription",
        "event",
        "seq",
        "status",
        "response_status",
        "attempts",
        "last_attempt_at",
        "delivered_at",
        "error",
    ]
    list_filter = ["status", "event", "subscription"]
    list_select_related = ["subscription__feed"]
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
