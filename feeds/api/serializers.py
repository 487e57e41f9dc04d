"""Input for the write API, with the limits the schema states. Output uses the same payloads as
the WebSocket (feeds.events), described in `schema`."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import kinds, race
from ..models import Entry, Feed
from .schema import NONBLANK_TEXT_PATTERN, SLUG_PATTERN, TEXT_PATTERN

MAX_BODY_LENGTH = 100_000

_TEXT = {"type": "string", "maxLength": race.MAX_TEXT, "pattern": TEXT_PATTERN}
_NUMBER = {"type": "integer", "minimum": 0, "maximum": 100_000}
RACE_FIELDS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Race status fields to change; null clears one. The lap cannot be past laps_total.",
    "additionalProperties": False,
    "properties": {
        **{name: {**_TEXT, "nullable": True} for name in race.TEXT_FIELDS},
        **{name: {**_NUMBER, "nullable": True} for name in race.NUMBER_FIELDS},
        "session": {"type": "string", "enum": list(race.SESSIONS), "nullable": True},
        "flag": {"type": "string", "enum": list(race.FLAGS), "nullable": True},
        "running_order": {
            "type": "array",
            "nullable": True,
            "maxItems": race.RUNNING_ORDER_LENGTH,
            "items": {**_TEXT, "pattern": NONBLANK_TEXT_PATTERN},
            "description": "Up to ten names, leader first.",
        },
    },
}
_DETAIL_TEXT = {"type": "string", "maxLength": kinds.MAX_FIELD, "pattern": TEXT_PATTERN}
_REQUIRED_DETAIL_TEXT = {**_DETAIL_TEXT, "pattern": NONBLANK_TEXT_PATTERN}
SOCIAL_URL_PATTERN = (
    r"^https://([a-z0-9-]+\.)*(" + "|".join(host.replace(".", r"\.") for host in kinds.SOCIAL_NETWORKS)
    + r")/[A-Za-z0-9_~.-][A-Za-z0-9_~.%/?=&#-]*$"
)
DETAILS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "The kind's own fields. quote: speaker (required), role; social: url (required, a post on a "
        "supported network), author; image: alt (required), caption, credit; race_status: flag "
        "(required) and the race status fields; text: none."
    ),
    "properties": {
        "speaker": _REQUIRED_DETAIL_TEXT,
        "role": _DETAIL_TEXT,
        "url": {"type": "string", "maxLength": 500, "pattern": SOCIAL_URL_PATTERN},
        "author": _DETAIL_TEXT,
        "alt": _REQUIRED_DETAIL_TEXT,
        "caption": _DETAIL_TEXT,
        "credit": _DETAIL_TEXT,
        **RACE_FIELDS_SCHEMA["properties"],
    },
}


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false only: a JSON client that sends "0" or "yes" made a mistake."""

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool) or _from_form(self):
            return super().to_internal_value(data)
        self.fail("invalid", input=data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON number with no fraction; form fields (multipart) arrive as text and are parsed."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or (not isinstance(data, int) and not _from_form(self)):
            self.fail("invalid")
        return super().to_internal_value(data)


def _from_form(field: serializers.Field) -> bool:
    """True when the request came as a form, whose fields are all text."""
    return isinstance(getattr(field.root, "initial_data", None), QueryDict)


@extend_schema_field(RACE_FIELDS_SCHEMA)
class RaceChangesField(serializers.JSONField):
    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError("Send the race status as an object.")
        return super().to_internal_value(data)


@extend_schema_field(DETAILS_SCHEMA)
class DetailsField(serializers.JSONField):
    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError("Send the kind's fields as an object.")
        return super().to_internal_value(data)


class FeedCreateSerializer(serializers.ModelSerializer):
    title = serializers.RegexField(NONBLANK_TEXT_PATTERN, max_length=200)
    slug = serializers.RegexField(
        SLUG_PATTERN, max_length=100, required=False, validators=[],
        help_text="The feed's address; derived from the title when left out. A slug in use answers 409.",
    )
    summary = serializers.RegexField(TEXT_PATTERN, required=False, allow_blank=True, trim_whitespace=False)

    class Meta:
        model = Feed
        fields = ["title", "slug", "summary", "status", "coverage_start", "coverage_end"]
        extra_kwargs = {
            "coverage_end": {"help_text": "Not before coverage_start."},
        }


class FeedUpdateSerializer(serializers.ModelSerializer):
    title = serializers.RegexField(NONBLANK_TEXT_PATTERN, max_length=200, required=False)
    summary = serializers.RegexField(TEXT_PATTERN, required=False, allow_blank=True, trim_whitespace=False)
    race = RaceChangesField(required=False, help_text=RACE_FIELDS_SCHEMA["description"])
    announce = StrictBooleanField(
        required=False, default=False, help_text="Also post a race status entry when the flag changes."
    )

    class Meta:
        model = Feed
        fields = ["title", "summary", "status", "coverage_start", "coverage_end", "race", "announce"]
        extra_kwargs = {
            "coverage_end": {"help_text": "Not before coverage_start."},
        }


class EntryWriteSerializer(serializers.ModelSerializer):
    headline = serializers.RegexField(TEXT_PATTERN, required=False, allow_blank=True, max_length=200)
    body = serializers.RegexField(
        TEXT_PATTERN, allow_blank=True, required=False, max_length=MAX_BODY_LENGTH, trim_whitespace=False,
        help_text="Markdown. A text entry needs a headline or a body; a quote needs a body.",
    )
    details = DetailsField(required=False)
    image = serializers.FileField(required=False, help_text="JPEG, PNG or WebP, for kind image (multipart).")
    pinned = StrictBooleanField(required=False)
    key_event = StrictBooleanField(required=False)
    version = StrictIntegerField(
        required=False, min_value=1, max_value=2**31 - 1,
        help_text="The version you edited; a newer one on the server answers 409.",
    )

    class Meta:
        model = Entry
        fields = ["kind", "headline", "body", "details", "image", "status", "pinned", "key_event", "publish_at", "version"]
        extra_kwargs = {"publish_at": {"help_text": "A time in the future: the entry stays a draft until then."}}
