"""Linking a feed to a timing source, and seeing at a glance whether the source is healthy."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from . import ingest, poller
from .models import TimingSource


@admin.register(TimingSource)
class TimingSourceAdmin(admin.ModelAdmin):
    list_display = ["feed", "format", "url", "enabled", "health", "last_ok_at", "last_error"]
    list_filter = ["format", "enabled"]
    list_select_related = ["feed"]
    readonly_fields = [
        "health",
        "last_ok_at",
        "last_change_at",
        "last_error",
        "last_error_at",
        "failures",
        "last_lap",
        "next_poll_at",
    ]
    fieldsets = [
        (None, {"fields": ["feed", "format", "url", "enabled", "author"]}),
        ("Polling", {"fields": ["interval_seconds", "max_backoff_seconds", "stale_after_seconds"]}),
        ("Automatic posts", {"fields": ["post_flag_changes", "post_lead_changes"]}),
        ("Health", {"fields": readonly_fields}),
    ]
    actions = ["restart_polling", "reset_state"]

    @admin.display(description="Health")
    def health(self, source: TimingSource) -> str:
        return format_html(
            '<span class="timing-{}">{}</span>', "ok" if source.healthy else "failing", source.health_text()
        )

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "author":
            kwargs["queryset"] = get_user_model().objects.filter(is_active=True, is_staff=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "url":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: TimingSource, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        poller.start(source=obj)

    @admin.action(description="Restart polling")
    def restart_polling(self, request: HttpRequest, queryset: QuerySet[TimingSource]) -> None:
        for source in queryset:
            poller.start(source=source)
        self.message_user(request, f"Restarted {queryset.count()} source(s).", messages.SUCCESS)

    @admin.action(description="Forget the last lap and time (a new session starts)")
    def reset_state(self, request: HttpRequest, queryset: QuerySet[TimingSource]) -> None:
        for source in queryset:
            ingest.reset(source=source)
        self.message_user(request, f"Reset {queryset.count()} source(s).", messages.SUCCESS)
