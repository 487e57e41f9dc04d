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


class KindFields(forms.Form):
    """A field for each kind's details, shared by the desk's composer and the admin's entry form."""

    speaker = forms.CharField(required=False, max_length=300, help_text="Quote: who said it.")
    role = forms.CharField(required=False, max_length=300, help_text="Quote: who they are.")
    url = forms.CharField(required=False, max_length=500, label="Post URL", help_text="Social: the post's https:// address.")
    social_author = forms.CharField(required=False, max_length=300, label="Posted by", help_text="Social: the account.")
    alt = forms.CharField(required=False, max_length=300, label="Alt text", help_text="Image: what it shows, for screen readers.")
    caption = forms.CharField(required=False, max_length=300, help_text="Image: shown under it.")
    credit = forms.CharField(required=False, max_length=300, help_text="Image: photographer or agency.")

    def kind_details(self, kind: str, *, editing: Entry | None) -> dict[str, Any]:
        """The details an entry of `kind` gets: this form's fields over what `editing` already had
        (its image renditions, say) when it keeps its kind."""
        details = dict(editing.details) if editing is not None and editing.kind == kind else {}
        for field, key in KIND_FIELDS.get(kind, {}).items():
            details[key] = self.cleaned_data[field]
        return details


class DeskEntryForm(KindFields):
    """What the composer (and an inline edit) posts."""

    # Race status entries are posted by flag changes, but their text can be edited like any other.
    kind = forms.ChoiceField(choices=Entry.Kind.choices)
    headline = forms.CharField(max_length=200, required=False)
    body = forms.CharField(required=False, max_length=100_000)
    image = forms.FileField(required=False)
    publish = forms.BooleanField(required=False)
    publish_at = forms.DateTimeField(required=False)
    version = forms.IntegerField(required=False, min_value=1)

    def service_arguments(self, *, editing: Entry | None = None) -> dict[str, Any]:
        """Keyword arguments for services.create_entry / update_entry."""
        data = self.cleaned_data
        kind = data["kind"]
        details = self.kind_details(kind, editing=editing)
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
