"""Input for the write API. Output uses the same payloads as the WebSocket (feeds.events)."""

from __future__ import annotations

from rest_framework import serializers

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


class EntryWriteSerializer(serializers.ModelSerializer):
    body = serializers.CharField(allow_blank=True, required=False, max_length=MAX_BODY_LENGTH)
    details = serializers.JSONField(
        required=False, help_text="The kind's fields: quote {speaker, role}; social {url, author}; "
        "image {alt, caption, credit}; race_status {flag, lap, …}."
    )
    image = serializers.FileField(required=False, help_text="JPEG, PNG or WebP, for kind image (multipart).")
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="The version you edited; a newer one on the server answers 409."
    )

    class Meta:
        model = Entry
        fields = ["kind", "headline", "body", "details", "image", "status", "pinned", "key_event", "publish_at", "version"]

    def validate_details(self, value: object) -> object:
        if not isinstance(value, dict):
            raise serializers.ValidationError("Send the kind's fields as an object.")
        return value
