"""Admin for the messaging integrations: Slack channel → feed mappings and linked accounts.

Each page says when an integration is off, so an empty mapping list is not a mystery.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse

from . import config
from .models import MessagingAccount, SlackChannel


def _warn_when_off(request: HttpRequest, *, telegram: bool = True, slack: bool = True) -> None:
    if telegram and not config.telegram_enabled():
        messages.warning(request, config.TELEGRAM_OFF)
    if slack and not config.slack_enabled():
        messages.warning(request, config.SLACK_OFF)


@admin.register(SlackChannel)
class SlackChannelAdmin(admin.ModelAdmin):
    list_display = ["channel_id", "name", "feed", "created_at"]
    search_fields = ["channel_id", "name", "feed__title", "feed__slug"]
    autocomplete_fields = ["feed"]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        _warn_when_off(request, telegram=False)
        return super().changelist_view(request, extra_context)


@admin.register(MessagingAccount)
class MessagingAccountAdmin(admin.ModelAdmin):
    """Accounts linked with a desk code; an admin may also add a Slack member id here by hand."""

    list_display = ["platform", "external_id", "display_name", "user", "feed", "linked_at"]
    list_filter = ["platform"]
    search_fields = ["external_id", "display_name", "user__username"]
    raw_id_fields = ["user"]
    autocomplete_fields = ["feed"]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        _warn_when_off(request)
        return super().changelist_view(request, extra_context)
