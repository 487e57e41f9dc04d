"""Input for the write API, with the limits the schema states. Output uses the same payloads as
the WebSocket (feeds.events), described in `schema`."""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import kinds, moments, race
from ..blank import NONBLANK_TEXT_PATTERN
from ..kinds.base import MAX_FIELD
from ..kinds.social import SOCIAL_NETWORKS, social_network
from ..models import CORRECTION_NOTE_MAX_LENGTH, Entry, Feed
from .schema import SLUG_PATTERN

MAX_BODY_LENGTH = 100_000
TIME_ZONES = sorted(zoneinfo.available_timezones())
# "Contains a NUL character": text the API refuses (details and race fields drop NULs instead).
NUL = {"pattern": "\\x00"}

_TEXT = {"type": "string", "maxLength": race.MAX_TEXT}
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
            "items": {"type": "string"},
            "description": "Up to ten names, leader first.",
        },
    },
}
_DETAIL_TEXT = {"type": "string", "maxLength": MAX_FIELD, "nullable": True}
_REQUIRED_DETAIL_TEXT = {"type": "string", "maxLength": MAX_FIELD, "pattern": NONBLANK_TEXT_PATTERN}
TEXT_DETAILS = ("speaker", "role", "author", "alt", "caption", "credit")
SOCIAL_URL_PATTERN = (
    r"^https://([a-z0-9-]+\.)*("
    + "|".join(host.replace(".", r"\.") for host in SOCIAL_NETWORKS)
    + r")/[A-Za-z0-9_~.-][A-Za-z0-9_~.%/?=&#-]*$"
)
_SOCIAL_URL = {"type": "string", "maxLength": 500, "pattern": SOCIAL_URL_PATTERN}
DETAILS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "The kind's own fields. quote: speaker (required), role; social: url (required, a post on a "
        "supported network), author; image: alt (required), caption, credit; race_status: flag "
        "(required) and the race status fields; text: none."
    ),
    "properties": {
        **dict.fromkeys(TEXT_DETAILS, _DETAIL_TEXT),
        "url": {**_SOCIAL_URL, "nullable": True},
        **RACE_FIELDS_SCHEMA["properties"],
    },
}
_REQUIRED_DETAILS = {"speaker": _REQUIRED_DETAIL_TEXT, "alt": _REQUIRED_DETAIL_TEXT, "url": _SOCIAL_URL}


def details_errors(details: dict[str, Any]) -> dict[str, str]:
    """What the schema says of each known field, checked whatever the kind (a text entry keeps no
    details, but one sent must still be well formed); the kind's own needs are checked in `kinds`."""
    errors: dict[str, str] = {}
    for name, value in details.items():
        if value is None:
            continue
        if name in TEXT_DETAILS:
            if not isinstance(value, str):
                errors[name] = _("Must be text.")
            elif len(value) > MAX_FIELD:
                errors[name] = _("At most %(limit)s characters.") % {"limit": MAX_FIELD}
        elif name == "url":
            try:
                social_network(value)
            except ValueError as exc:
                errors[name] = str(exc)
        elif name in race.FIELDS:
            errors.update(race_errors({name: value}))
    return errors


def race_errors(changes: dict[str, Any]) -> dict[str, str]:
    """Race status fields as the schema states them: JSON integers, text by its sent length."""
    errors: dict[str, str] = {}
    for name, value in changes.items():
        if value is None:
            continue
        if value == "" and name not in race.TEXT_FIELDS:
            errors[name] = _("Send null to clear a field.")
        elif name in race.NUMBER_FIELDS and (isinstance(value, bool) or not isinstance(value, int)):
            errors[name] = _("Must be a whole number.")
        elif name in race.TEXT_FIELDS and isinstance(value, str) and len(value) > race.MAX_TEXT:
            errors[name] = _("At most %(limit)s characters.") % {"limit": race.MAX_TEXT}
        elif name == "running_order" and isinstance(value, list) and len(value) > race.RUNNING_ORDER_LENGTH:
            errors[name] = _("At most %(limit)s names.") % {"limit": race.RUNNING_ORDER_LENGTH}
        else:
            try:
                race.clean_race({}, {name: value})
            except DjangoValidationError as exc:
                errors.update({field: " ".join(messages) for field, messages in exc.message_dict.items()})
    return errors


def text_as_sent(field: serializers.CharField, data: Any) -> str:
    """The sent value, refused unless it is a string within the field's length.

    A JSON number is not text (DRF would take 12 as "12"), and the length is the one the schema's
    `maxLength` states: of the string as sent, before surrounding spaces are trimmed. Counted after
    trimming, 200 characters and a leading space would pass a limit of 200 the client was told of.
    """
    if not isinstance(data, str):
        field.fail("invalid")
    if field.max_length is not None and len(data) > field.max_length:
        field.fail("max_length", max_length=field.max_length)
    return data


class TextField(serializers.CharField):
    """Text without NUL characters (refused, as everywhere in Livefeed); the schema says so."""

    def __init__(self, *, nonblank: bool = False, **kwargs: Any) -> None:
        if nonblank:
            kwargs["validators"] = [
                RegexValidator(NONBLANK_TEXT_PATTERN, gettext_lazy("Write something that is not blank."))
            ]
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        return super().to_internal_value(text_as_sent(self, data))


class SlugTextField(serializers.RegexField):
    """A slug, sent as a JSON string and judged as sent: " my-race" is not a slug."""

    def __init__(self, regex: str, **kwargs: Any) -> None:
        super().__init__(regex, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        return super().to_internal_value(text_as_sent(self, data))


class TextFieldSchema(OpenApiSerializerFieldExtension):
    target_class = TextField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return {**schema, "not": NUL}


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
            raise serializers.ValidationError(_("Send the race status as an object."))
        return super().to_internal_value(data)


@extend_schema_field(DETAILS_SCHEMA)
class DetailsField(serializers.JSONField):
    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)  # a form sends the object as JSON text
        if not isinstance(value, dict):
            raise serializers.ValidationError(_("Send the kind's fields as an object."))
        return value


# --- The request bodies as the schema states them ------------------------------------------------
# The entry serializer checks the common fields; each kind's own rules live in `kinds`. The schema
# spells out both per kind, so a generated client (and a fuzzer) knows which bodies are valid.

_HEADLINE = {"type": "string", "maxLength": 200, "not": NUL}
_BODY = {"type": "string", "maxLength": MAX_BODY_LENGTH, "not": NUL, "description": "Markdown."}
_COMMON_ENTRY_FIELDS: dict[str, Any] = {
    "headline": _HEADLINE,
    "status": {"type": "string", "enum": [value for value, _label in Entry.Status.choices]},
    "pinned": {"type": "boolean"},
    "key_event": {"type": "boolean"},
    "publish_at": {
        "type": "string",
        "format": "date-time",
        "pattern": moments.YEAR_PATTERN,
        "nullable": True,
        "description": "A time in the future: the entry stays a draft until then.",
    },
}


def _kind_schema(kind: str, *, required: list[str], properties: dict[str, Any], title: str) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "title": title,
        "properties": {"kind": {"type": "string", "enum": [kind]}, **_COMMON_ENTRY_FIELDS, **properties},
    }
    needed = ["kind", *required] if kind != "text" else required
    if needed:
        schema["required"] = needed
    return schema


def _details(required: list[str], names: list[str]) -> dict[str, Any]:
    """A kind's details: the fields it keeps first, then every other known field, which the kind
    drops but the server still checks for form (`details_errors`), so the schema states it too."""
    properties = {name: DETAILS_SCHEMA["properties"][name] for name in names}
    properties.update({name: _REQUIRED_DETAILS[name] for name in required if name in _REQUIRED_DETAILS})
    properties.update({k: v for k, v in DETAILS_SCHEMA["properties"].items() if k not in properties})
    return {"type": "object", "properties": properties, **({"required": required} if required else {})}


_RACE_DETAILS = _details(["flag"], list(RACE_FIELDS_SCHEMA["properties"]))
_RACE_DETAILS["properties"]["flag"] = {"type": "string", "enum": list(race.FLAGS)}
_NONBLANK_BODY = {**_BODY, "pattern": NONBLANK_TEXT_PATTERN}
_NONBLANK_HEADLINE = {**_HEADLINE, "pattern": NONBLANK_TEXT_PATTERN}

# JSON cannot carry a file: an image in it is refused whatever its value.
_NO_IMAGE_IN_JSON = {"not": {}, "description": "An image is sent with multipart/form-data."}

NEW_ENTRY_JSON_SCHEMA: dict[str, Any] = {
    "description": "A new entry; `kind` (text when left out) decides which fields it needs.",
    "type": "object",
    "properties": {"image": _NO_IMAGE_IN_JSON},
    "oneOf": [
        {
            **_kind_schema(
                "text",
                required=[],
                # A text entry keeps no details, but the known fields sent in them must be well formed.
                properties={"body": _BODY, "details": _details([], [])},
                title="TextEntry",
            ),
            "description": "Needs a headline or a body that is not blank.",
            "anyOf": [
                {"required": ["headline"], "properties": {"headline": _NONBLANK_HEADLINE}},
                {"required": ["body"], "properties": {"body": _NONBLANK_BODY}},
            ],
        },
        _kind_schema(
            "quote",
            required=["body", "details"],
            title="QuoteEntry",
            properties={"body": _NONBLANK_BODY, "details": _details(["speaker"], ["speaker", "role"])},
        ),
        _kind_schema(
            "social",
            required=["details"],
            title="SocialEntry",
            properties={"body": _BODY, "details": _details(["url"], ["url", "author"])},
        ),
        _kind_schema(
            "race_status",
            required=["details"],
            title="RaceStatusEntry",
            properties={"body": _BODY, "details": _RACE_DETAILS},
        ),
    ],
}


# Optional form fields an empty value leaves out, as DRF reads forms: an empty correction note is a
# silent edit. Any other field sent empty is judged as sent (`EmptyFormFieldsAreSent`).
FORM_FIELDS_EMPTY_IS_LEFT_OUT = frozenset({"correction_note"})


def _as_form(schema: dict[str, Any]) -> dict[str, Any]:
    """The same body as form fields, which are text and cannot be null: leave a field out instead."""
    properties = dict(schema["properties"])
    # A form field cannot be null: an empty one means no publication time, as in an HTML form.
    properties["publish_at"] = {
        "description": properties["publish_at"]["description"] + " Empty for none.",
        "anyOf": [
            {"type": "string", "format": "date-time", "pattern": moments.YEAR_PATTERN},
            {"type": "string", "maxLength": 0},
        ],
    }
    for name in FORM_FIELDS_EMPTY_IS_LEFT_OUT & properties.keys():
        stated = properties[name]
        properties[name] = {
            "description": stated["description"] + " Empty is the same as left out.",
            "anyOf": [
                {k: v for k, v in stated.items() if k != "description"},
                {"type": "string", "maxLength": 0},
            ],
        }
    return {**schema, "properties": properties}


# Only an image entry takes an image: another kind sent with one is refused, not saved without it.
_NO_IMAGE_FOR_THIS_KIND = {"not": {}, "description": "Only an image entry takes an image."}


def _without_image(branch: dict[str, Any]) -> dict[str, Any]:
    return {**branch, "properties": {**branch["properties"], "image": _NO_IMAGE_FOR_THIS_KIND}}


NEW_ENTRY_FORM_SCHEMA: dict[str, Any] = {
    "description": (
        "A new entry as multipart/form-data, the way to send an image; `details` is sent as JSON text."
    ),
    # Stated at the top too, so clients (and tools) see the file part whichever kind is sent.
    "type": "object",
    "properties": {"image": {"type": "string", "format": "binary", "description": "JPEG, PNG or WebP."}},
    "oneOf": [
        *[_without_image(_as_form(branch)) for branch in NEW_ENTRY_JSON_SCHEMA["oneOf"]],
        {
            "type": "object",
            "title": "ImageEntry",
            "required": ["kind", "image", "details"],
            "properties": {
                "kind": {"type": "string", "enum": ["image"]},
                **_as_form({"properties": _COMMON_ENTRY_FIELDS})["properties"],
                "image": {"type": "string", "format": "binary", "description": "JPEG, PNG or WebP."},
                "details": _details(["alt"], ["alt", "caption", "credit"]),
                "body": _BODY,
            },
        },
    ],
}


ENTRY_EDIT_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "EntryEdit",
    "description": (
        "The fields to change. The entry afterwards must still meet its kind's needs (see a new "
        "entry); an image is changed with multipart/form-data."
    ),
    "properties": {
        "kind": {
            "type": "string",
            "enum": [value for value, _label in Entry.Kind.choices if value != "image"],
        },
        **_COMMON_ENTRY_FIELDS,
        "body": _BODY,
        "details": DETAILS_SCHEMA,
        "image": _NO_IMAGE_IN_JSON,
        "correction_note": {
            "type": "string",
            "minLength": 1,
            "maxLength": CORRECTION_NOTE_MAX_LENGTH,
            "pattern": NONBLANK_TEXT_PATTERN,
            "not": NUL,
            "description": (
                'Save the edit as a visible correction with this note: readers see "Corrected", '
                "the time and the note, and can open the earlier wording. Only for a published "
                "entry, and the wording must change; leave it out for a silent edit."
            ),
        },
        "version": {
            "type": "integer",
            "minimum": 1,
            "maximum": 2**31 - 1,
            "description": "The version you edited; a newer one on the server answers 409 with the current entry.",
        },
    },
}

ENTRY_EDIT_FORM_SCHEMA: dict[str, Any] = {
    **_as_form(ENTRY_EDIT_JSON_SCHEMA),
    "title": "EntryEditForm",
    "minProperties": 1,
    "description": (
        "The fields to change, with a new image; `details` is sent as JSON text. Only an entry of "
        "kind image (after the edit) takes an image."
    ),
    "properties": {
        **_as_form(ENTRY_EDIT_JSON_SCHEMA)["properties"],
        "kind": {"type": "string", "enum": [value for value, _label in Entry.Kind.choices]},
        "image": {"type": "string", "format": "binary", "description": "JPEG, PNG or WebP."},
    },
}

_LIVEFEED_TIMING_TEXT = {"type": "string", "nullable": True}
LIVEFEED_TIMING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "LivefeedTiming",
    "description": (
        "Livefeed's own timing format (docs/timing.md); a source set to another format sends that "
        "format instead. The lap cannot be past laps_total, nor behind the last lap applied (409)."
    ),
    "required": ["flag", "lap"],
    "properties": {
        "flag": {"type": "string", "enum": list(race.FLAGS)},
        "lap": {"type": "integer", "minimum": 0, "maximum": 100_000},
        "laps_total": {**_NUMBER, "nullable": True},
        "cautions": {**_NUMBER, "nullable": True},
        "session": {"type": "string", "enum": list(race.SESSIONS), "nullable": True},
        "stage": {"oneOf": [{"type": "integer"}, {"type": "string"}], "nullable": True},
        "series": _LIVEFEED_TIMING_TEXT,
        "track": _LIVEFEED_TIMING_TEXT,
        "leader": _LIVEFEED_TIMING_TEXT,
        "flag_reason": _LIVEFEED_TIMING_TEXT,
        "updated_at": {
            "type": "string",
            "format": "date-time",
            "pattern": moments.YEAR_PATTERN,
            "nullable": True,
        },
        "running_order": {
            "type": "array",
            "nullable": True,
            "description": "Leader first: names, or objects with driver and number; the first ten are kept.",
            "items": {
                "oneOf": [
                    {"type": "string", "pattern": r"\S"},
                    {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {"driver": {"type": "string", "pattern": r"\S"}, "number": {}},
                    },
                ]
            },
        },
    },
}


@extend_schema_field({"type": "string", "format": "date-time", "pattern": moments.YEAR_PATTERN})
class MomentField(serializers.DateTimeField):
    """A date and time with its offset, in the years Livefeed takes (`feeds.moments`)."""

    default_error_messages = {
        "year": gettext_lazy("Give a time between the years {earliest} and {latest}."),
    }

    def to_internal_value(self, value: Any) -> Any:
        if isinstance(value, str) and not re.match(moments.YEAR_PATTERN, value):
            self.fail("year", earliest=moments.EARLIEST_YEAR, latest=moments.LATEST_YEAR)
        return super().to_internal_value(value)


class MomentsModelSerializer(serializers.ModelSerializer):
    """A model's date-time fields read as `MomentField`s."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: MomentField,
    }


class FeedCreateSerializer(MomentsModelSerializer):
    title = TextField(nonblank=True, max_length=200)
    slug = SlugTextField(
        SLUG_PATTERN,
        max_length=100,
        required=False,
        validators=[],
        help_text="The feed's address; derived from the title when left out. A slug in use answers 409.",
    )
    summary = TextField(required=False, allow_blank=True, trim_whitespace=False)
    time_zone = serializers.ChoiceField(
        choices=TIME_ZONES, required=False, help_text="Where the event takes place; the site's when left out."
    )

    class Meta:
        model = Feed
        fields = [
            "title",
            "slug",
            "summary",
            "status",
            "coverage_start",
            "coverage_end",
            "time_zone",
            "language",
        ]
        extra_kwargs = {
            "coverage_end": {"help_text": "Not before coverage_start."},
        }


def _refuse(errors: dict[str, str]) -> None:
    """Refuse with each field named at the top level, as the services' own refusals are."""
    if errors:
        raise serializers.ValidationError({name: [message] for name, message in errors.items()})


class FeedUpdateSerializer(MomentsModelSerializer):
    title = TextField(nonblank=True, max_length=200, required=False)
    summary = TextField(required=False, allow_blank=True, trim_whitespace=False)
    race = RaceChangesField(required=False, help_text=RACE_FIELDS_SCHEMA["description"])
    announce = StrictBooleanField(
        required=False, default=False, help_text="Also post a race status entry when the flag changes."
    )
    time_zone = serializers.ChoiceField(
        choices=TIME_ZONES, required=False, help_text="Where the event takes place (an IANA name)."
    )

    class Meta:
        model = Feed
        fields = [
            "title",
            "summary",
            "status",
            "coverage_start",
            "coverage_end",
            "time_zone",
            "language",
            "race",
            "announce",
        ]
        extra_kwargs = {
            "coverage_end": {"help_text": "Not before coverage_start."},
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _refuse(race_errors(attrs.get("race") or {}))
        return attrs


def details_help() -> str:
    """The details each kind takes, from the registry, for the API's schema."""
    described = [
        f"{kind.name} {{{', '.join(kind.detail_keys())}}}" for kind in kinds.all() if kind.detail_keys()
    ]
    return "The kind's fields: " + "; ".join(described) + "."


class EmptyFormFieldsAreSent(serializers.Serializer):
    """In a multipart body, a field sent empty is a value, refused where the schema wants another.

    DRF reads an empty form field as left out (HTML forms send every field), so `status=""` would
    create a published entry; the schema says `status` is one of its values, in JSON and in a form
    alike. Clients leave out what they do not set. An empty nullable field (`publish_at`) stays
    null, the only way a form can send one; the schema names the others that may be sent empty.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, QueryDict):
            sent_empty = {
                name: [serializers.CharField.default_error_messages["blank"]]
                for name, field in self.fields.items()
                if not field.read_only
                and name not in FORM_FIELDS_EMPTY_IS_LEFT_OUT
                and not isinstance(field, serializers.FileField)
                and not getattr(field, "allow_blank", False)
                and not field.allow_null
                and data.get(name) == ""
            }
            if sent_empty:
                raise serializers.ValidationError(sent_empty)
        return super().to_internal_value(data)


class EntryWriteSerializer(EmptyFormFieldsAreSent, MomentsModelSerializer):
    kind = serializers.ChoiceField(
        choices=kinds.choices(), required=False, help_text="The entry's kind; text when left out."
    )
    headline = TextField(required=False, allow_blank=True, max_length=200)
    body = TextField(
        allow_blank=True,
        required=False,
        max_length=MAX_BODY_LENGTH,
        trim_whitespace=False,
        help_text="Markdown. A text entry needs a headline or a body; a quote needs a body.",
    )
    details = DetailsField(required=False, help_text=details_help())
    image = serializers.FileField(required=False, help_text="JPEG, PNG or WebP, for kind image (multipart).")
    pinned = StrictBooleanField(required=False)
    key_event = StrictBooleanField(required=False)
    version = StrictIntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text="The version you edited; a newer one on the server answers 409.",
    )
    correction_note = TextField(
        nonblank=True,
        required=False,
        trim_whitespace=False,
        max_length=CORRECTION_NOTE_MAX_LENGTH,
        help_text="Save the edit as a visible correction with this note (published entries only).",
    )

    class Meta:
        model = Entry
        fields = [
            "kind",
            "headline",
            "body",
            "details",
            "image",
            "status",
            "pinned",
            "key_event",
            "publish_at",
            "version",
            "correction_note",
        ]
        extra_kwargs = {
            "publish_at": {"help_text": "A time in the future: the entry stays a draft until then."}
        }

    def get_fields(self) -> dict[str, serializers.Field]:
        # Kinds registered after this class was defined are accepted too.
        fields = super().get_fields()
        fields["kind"].choices = kinds.choices()
        if self.instance is None:
            # Only an edit has a version to check or a wording to correct: a new entry leaves them
            # unread, like any field it does not know, as its schema states.
            del fields["version"], fields["correction_note"]
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("kind") or (self.instance.kind if self.instance else Entry.Kind.TEXT)
        if kind in Entry.Kind.values:
            # The built-in kinds' details as the schema states them; a kind a plug-in registers
            # states and checks its own (`kinds`).
            _refuse(details_errors(attrs.get("details") or {}))
        return attrs
