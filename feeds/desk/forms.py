"""The desk composer's input: one form for every kind, turned into service arguments."""

from __future__ import annotations

from typing import Any

from django import forms

from ..models import Entry

# Form field to the key it fills in Entry.details, per kind.
KIND_FIELDS = {
    Entry.Kind.QUOTE: {"speaker": "speaker", "role": "role"},
    Entry.Kind.SOCIAL: {"url": "url", "social_author": "author"},
    Entry.Kind.IMAGE: {"alt": "alt", "caption": "caption", "credit": "credit"},
}


class DeskEntryForm(forms.Form):
    """What the composer (and an inline edit) posts."""

    # Race status entries are posted by flag changes, but their text can be edited like any other.
    kind = forms.ChoiceField(choices=Entry.Kind.choices)
    headline = forms.CharField(max_length=200, required=False)
    body = forms.CharField(required=False, max_length=100_000)
    speaker = forms.CharField(required=False, max_length=300)
    role = forms.CharField(required=False, max_length=300)
    url = forms.CharField(required=False, max_length=500)
    social_author = forms.CharField(required=False, max_length=300)
    alt = forms.CharField(required=False, max_length=300)
    caption = forms.CharField(required=False, max_length=300)
    credit = forms.CharField(required=False, max_length=300)
    image = forms.FileField(required=False)
    publish = forms.BooleanField(required=False)
    publish_at = forms.DateTimeField(required=False)
    version = forms.IntegerField(required=False, min_value=1)

    def service_arguments(self, *, editing: Entry | None = None) -> dict[str, Any]:
        """Keyword arguments for services.create_entry / update_entry."""
        data = self.cleaned_data
        kind = data["kind"]
        details = dict(editing.details) if editing is not None and editing.kind == kind else {}
        for field, key in KIND_FIELDS.get(kind, {}).items():
            details[key] = data[field]
        arguments: dict[str, Any] = {
            "kind": kind,
            "headline": data["headline"],
            "body": data["body"],
            "details": details,
        }
        if data["image"]:
            arguments["image"] = data["image"]
        if data["publish_at"]:
            arguments["publish_at"] = data["publish_at"]
        elif data["publish"]:
            arguments["status"] = Entry.Status.PUBLISHED
        elif editing is None:
            arguments["status"] = Entry.Status.DRAFT
        return arguments
