"""Input for the write API. Output uses the same payloads as the WebSocket (feeds.events)."""

from __future__ import annotations

from rest_framework import serializers

from .. import kinds
from ..models import Entry, Feed

MAX_BODY_LENGTH = 100_000


class FeedCreateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Feed
        fields = ["title", "slug", "summary", "status", "coverage_start", "coverage_end"]


class FeedUpdateSerializer(serializers.ModelSerializer):
    race = serializers.JSONField(
        required=False, help_text="Race status fields to change (flag, lap, laps_total, leader…); null clears one."
    )
    announce = serializers.BooleanField(
        required=False, default=False, help_text="Also post a race status entry when the flag changes."
    )

    class Meta:
        model = Feed
        fields = ["title", "summary", "status", "coverage_start", "coverage_end", "race", "announce"]

    def validate_race(self, value: object) -> object:
        if not isinstance(value, dict):
            raise serializers.ValidationError("Send the race status as an object.")
        return value


def details_help() -> str:
    """The details each kind takes, from the registry, for the API's schema."""
    described = [f"{kind.name} {{{', '.join(kind.detail_keys())}}}" for kind in kinds.all() if kind.detail_keys()]
    return "The kind's fields: " + "; ".join(described) + "."


class EntryWriteSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=kinds.choices(), required=False, help_text="The entry's kind; text when left out.")
    body = serializers.CharField(allow_blank=True, required=False, max_length=MAX_BODY_LENGTH)
    details = serializers.JSONField(required=False, help_text=details_help())
    image = serializers.FileField(required=False, help_text="JPEG, PNG or WebP, for kind image (multipart).")
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="The version you edited; a newer one on the server answers 409."
    )

    class Meta:
        model = Entry
        fields = ["kind", "headline", "body", "details", "image", "status", "pinned", "key_event", "publish_at", "version"]

    def get_fields(self) -> dict[str, serializers.Field]:
        # Kinds registered after this class was defined are accepted too.
        fields = super().get_fields()
        fields["kind"].choices = kinds.choices()
        return fields

    def validate_details(self, value: object) -> object:
        if not isinstance(value, dict):
            raise serializers.ValidationError("Send the kind's fields as an object.")
        return value
