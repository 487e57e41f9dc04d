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
    class Meta:
        model = Feed
        fields = ["title", "summary", "status", "coverage_start", "coverage_end"]


class EntryWriteSerializer(serializers.ModelSerializer):
    body = serializers.CharField(allow_blank=True, required=False, max_length=MAX_BODY_LENGTH)

    class Meta:
        model = Entry
        fields = ["kind", "headline", "body", "status", "pinned", "key_event"]

    def validate(self, attrs: dict) -> dict:
        if self.instance is None and not (attrs.get("body", "").strip() or attrs.get("headline", "").strip()):
            raise serializers.ValidationError({"body": "Write a headline or a body."})
        return attrs
