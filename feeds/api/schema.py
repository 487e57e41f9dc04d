"""What the OpenAPI schema says the API answers: typed bodies, every status, who may call.

The answers are built by `feeds.events` (the same payloads the WebSocket sends); the serializers
here only describe them, so a generated client gets types and a test can check each answer.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers

from .. import events
from ..models import Entry, Feed

SLUG_PATTERN = r"^[-a-zA-Z0-9_]+$"
MAX_INT64 = 2**63 - 1


class LivefeedAutoSchema(AutoSchema):
    """Reads are public, save the staff's audience figures; writes and those need the bearer token
    (sessions are for the site, not the API)."""

    def get_auth(self) -> list[dict[str, list[str]]]:
        if self.method in ("GET", "HEAD", "OPTIONS"):
            return []
        return [requirement for requirement in super().get_auth() if "bearerAuth" in requirement]


# --- Reader payloads ---------------------------------------------------------------------------


class FeedSchema(serializers.Serializer):
    slug = serializers.RegexField(SLUG_PATTERN, max_length=100)
    title = serializers.CharField()
    summary = serializers.CharField(allow_blank=True)
    status = serializers.ChoiceField(choices=Feed.Status.choices)
    coverage_start = serializers.DateTimeField(allow_null=True)
    coverage_end = serializers.DateTimeField(allow_null=True)
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES, help_text="What readers read it in: page, widget, feeds, race status."
    )
    url = serializers.CharField(help_text="The reader page, relative to the site.")
    race = serializers.DictField(help_text="Race status fields (flag, lap, laps_total, leader…).")
    race_html = serializers.CharField(allow_blank=True, help_text="Sanitized HTML of the race status.")
    time_zone = serializers.CharField(help_text="The event's time zone, an IANA name (Europe/Paris).")
    seq = serializers.IntegerField(min_value=0, help_text="Number of the feed's last visible change.")

    class Meta:
        ref_name = "Feed"


class FeedListSchema(serializers.Serializer):
    feeds = FeedSchema(many=True)

    class Meta:
        ref_name = "FeedList"


class CorrectionSchema(serializers.Serializer):
    at = serializers.DateTimeField(help_text="When the correction was made.")
    note = serializers.CharField(help_text="The editor's note on what was corrected.")
    headline = serializers.CharField(allow_blank=True, help_text="The headline readers saw before.")
    html = serializers.CharField(allow_blank=True, help_text="The sanitized HTML readers saw before.")

    class Meta:
        ref_name = "Correction"


class EntrySchema(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Entry.Kind.choices)
    headline = serializers.CharField(allow_blank=True)
    html = serializers.CharField(
        allow_blank=True, help_text="Sanitized HTML rendered from the Markdown body."
    )
    details = serializers.DictField(help_text="The kind's own fields (speaker, url, alt…).")
    published_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()
    pinned = serializers.BooleanField()
    key_event = serializers.BooleanField()
    author = serializers.CharField()
    seq = serializers.IntegerField(allow_null=True, help_text="Number of the entry's last visible change.")
    corrections = CorrectionSchema(
        many=True, help_text="Visible corrections, oldest first; plain edits are not listed."
    )
    removed = serializers.BooleanField(
        help_text='A deleted entry that left a "This update was removed" notice: no content.'
    )

    class Meta:
        ref_name = "Entry"


class DeskEntrySchema(EntrySchema):
    """An entry as its writers see it: drafts, Markdown source and version included."""

    status = serializers.ChoiceField(choices=Entry.Status.choices)
    body = serializers.CharField(allow_blank=True, help_text="Markdown.")
    version = serializers.IntegerField(
        min_value=1, help_text="Send it back with an edit to detect a conflict."
    )
    author_id = serializers.IntegerField()
    publish_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    deleted = serializers.BooleanField()

    class Meta:
        ref_name = "WrittenEntry"


class FeedPageSchema(serializers.Serializer):
    feed = FeedSchema()
    pinned = EntrySchema(allow_null=True)
    entries = EntrySchema(many=True)
    older_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `before` for the next older page."
    )
    older = serializers.URLField(allow_null=True, help_text="The next older page, or null on the last one.")
    newer_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as `after` (with `order=oldest`) for the next newer page."
    )
    newer = serializers.URLField(
        allow_null=True, help_text="The next newer page (oldest first), or null on the last one."
    )

    class Meta:
        ref_name = "FeedPage"


class _EventBase(serializers.Serializer):
    seq = serializers.IntegerField(min_value=1)
    feed = serializers.RegexField(SLUG_PATTERN, help_text="The feed's slug.")


class EntryChangedEvent(_EventBase):
    type = serializers.ChoiceField(choices=[events.ENTRY_CREATED, events.ENTRY_UPDATED])
    entry = EntrySchema()


class EntryIdSchema(serializers.Serializer):
    id = serializers.IntegerField()
    removal_notice = serializers.BooleanField(
        required=False, help_text='Present (true) when readers are shown "This update was removed".'
    )

    class Meta:
        ref_name = "EntryId"


class EntryDeletedEvent(_EventBase):
    type = serializers.ChoiceField(choices=[events.ENTRY_DELETED])
    entry = EntryIdSchema(help_text="Only the id: the entry is gone, or no longer visible.")


class FeedChangedEvent(_EventBase):
    type = serializers.ChoiceField(choices=[events.FEED_UPDATED])
    feed_data = FeedSchema()


class EventsPageSchema(serializers.Serializer):
    seq = serializers.IntegerField(
        min_value=0, help_text="The feed's last change; pass it as `after` next time."
    )
    events = PolymorphicProxySerializer(
        component_name="Event",
        serializers=[EntryChangedEvent, EntryDeletedEvent, FeedChangedEvent],
        resource_type_field_name=None,
        many=True,
        help_text="The WebSocket's messages after `after`, oldest first.",
    )

    class Meta:
        ref_name = "EventsPage"


class TimingResultSchema(serializers.Serializer):
    result = serializers.ChoiceField(choices=["applied", "unchanged", "stale"])
    reason = serializers.CharField(allow_blank=True)
    posted = serializers.ListField(child=serializers.IntegerField(), help_text="Ids of the entries posted.")
    race = serializers.DictField(required=False, help_text="The race status after the push.")

    class Meta:
        ref_name = "TimingResult"


# --- Audience (staff only) -----------------------------------------------------------------------


class AudienceSampleSchema(serializers.Serializer):
    at = serializers.DateTimeField(help_text="The moment counted (UTC).")
    readers = serializers.IntegerField(min_value=0, help_text="Readers connected, on every server.")

    class Meta:
        ref_name = "AudienceSample"


class EntryReachSchema(serializers.Serializer):
    id = serializers.IntegerField()
    headline = serializers.CharField(help_text="The headline, or the start of the entry's text.")
    published_at = serializers.DateTimeField()
    reach = serializers.IntegerField(
        min_value=0, allow_null=True, help_text="Readers connected when it was published (null: not counted)."
    )

    class Meta:
        ref_name = "EntryReach"


class AudienceSchema(serializers.Serializer):
    feed = serializers.RegexField(SLUG_PATTERN, help_text="The feed's slug.")
    interval = serializers.IntegerField(min_value=1, help_text="Seconds between two samples.")
    peak = AudienceSampleSchema(allow_null=True, help_text="The first sample with the most readers.")
    latest = AudienceSampleSchema(allow_null=True, help_text="The last sample taken.")
    samples = AudienceSampleSchema(many=True, help_text="Readers over the feed's life, oldest first.")
    entries = EntryReachSchema(many=True, help_text="Each published entry's reach, oldest first.")

    class Meta:
        ref_name = "Audience"


def staff_read_responses(ok: Any) -> dict[Any, Any]:
    """The answers of a read for the newsroom's staff (a bearer token or an admin session)."""
    return {
        **(ok if isinstance(ok, dict) else {200: ok}),
        401: _error("No token, or a token that is not valid or was revoked."),
        403: _error("The token's user is not on the newsroom's staff."),
        404: _error("No such feed."),
    }


# --- Errors ------------------------------------------------------------------------------------


class ErrorSchema(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, for a person to read.")

    class Meta:
        ref_name = "Error"


class ConflictSchema(ErrorSchema):
    current = DeskEntrySchema(
        required=False, help_text="The entry as saved now: merge, then send its version."
    )

    class Meta:
        ref_name = "Conflict"


class KeyReusedSchema(ErrorSchema):
    # Describes the answer only (never validates), so shadowing Serializer.errors is harmless.
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]

    class Meta:
        ref_name = "IdempotencyKeyReused"


# A 400 names each refused field (or `detail`, `non_field_errors`) with its messages.
INVALID = OpenApiResponse(
    response={
        "type": "object",
        "additionalProperties": {
            "oneOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}},
                {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            ]
        },
    },
    description="Bad input: each refused field with what was wrong.",
)


def _error(description: str, schema: Any = ErrorSchema) -> OpenApiResponse:
    return OpenApiResponse(response=schema, description=description)


def read_responses(ok: Any, *, not_found: bool = True, invalid: bool = False) -> dict[int, Any]:
    """The answers of a public read."""
    responses: dict[int, Any] = {200: ok}
    if invalid:
        responses[400] = INVALID
    if not_found:
        responses[404] = _error("No such feed or entry (a draft is the same 404 as nothing).")
    return responses


def write_responses(ok: dict[int, Any], *, conflict: Any = None, not_found: bool = True) -> dict[int, Any]:
    """The answers of a token write, from success to rate limit."""
    responses: dict[int, Any] = dict(ok)
    responses.update(
        {
            400: INVALID,
            401: _error("No token, or a token that is not valid or was revoked."),
            403: _error("The token's user may not make this change."),
            413: _error("The request body is larger than the server accepts."),
            422: _error("This Idempotency-Key was already used for a different request.", KeyReusedSchema),
            429: _error("Too many writes; wait the seconds in Retry-After."),
        }
    )
    if not_found:
        responses[404] = _error("No such feed or entry.")
    if conflict is not None:
        responses[409] = conflict
    return responses


def complete_operations(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: every 429 carries Retry-After, every write may echo a replayed answer,
    and a POST's body is required (a PATCH without one changes nothing)."""
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            if method == "post" and "requestBody" in operation:
                operation["requestBody"]["required"] = True
            for status, response in operation.get("responses", {}).items():
                if status == "429":
                    response.setdefault("headers", {})["Retry-After"] = {
                        "description": "Seconds to wait before trying again.",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 0},
                    }
                elif method in ("post", "patch", "put", "delete") and status.startswith("2"):
                    response.setdefault("headers", {})["Idempotent-Replayed"] = {
                        "description": "`true` when this is the stored answer to an earlier request with the same Idempotency-Key.",
                        "schema": {"type": "string", "enum": ["true"]},
                    }
    return result
