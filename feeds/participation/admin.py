"""Admin for what readers send: the question log with its history, and each feed's switches."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from .models import FeedParticipation, ReaderQuestion


@admin.register(FeedParticipation)
class FeedParticipationAdmin(admin.ModelAdmin):
    list_display = ["feed", "reactions_enabled", "questions_enabled"]
    list_editable = ["reactions_enabled", "questions_enabled"]
    autocomplete_fields = ["feed"]


@admin.register(ReaderQuestion)
class ReaderQuestionAdmin(SimpleHistoryAdmin):
    """Questions are answered and dismissed on the desk; here they are read, with who did what."""

    list_display = ["text", "display_name", "feed", "status", "created_at", "handled_by", "handled_at"]
    list_filter = ["status", "feed"]
    search_fields = ["text", "display_name"]
    readonly_fields = [
        "feed",
        "text",
        "display_name",
        "status",
        "created_at",
        "handled_by",
        "handled_at",
        "answer",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)
