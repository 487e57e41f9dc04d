"""The desk composer's input: one form for every kind, turned into service arguments."""

from __future__ import annotations

from typing import Any

from django import forms

from ..kinds import forms as kinds_forms
from ..kinds import registry
from ..models import CORRECTION_NOTE_MAX_LENGTH, Entry


class KindFields(forms.Form):
    """A field for each registered kind's details, shared by the desk's composer and the admin's
    entry form."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A class that declares them already (the admin's, see EntryAdmin.get_form) keeps its own.
        for name, field in kinds_forms.form_fields().items():
            self.fields.setdefault(name, field)

    def kind_details(self, kind: str, *, editing: Entry | None) -> dict[str, Any]:
        """The details an entry of `kind` gets: this form's fields over what `editing` already had
        (its image renditions, say) when it keeps its kind."""
        previous = editing.details if editing is not None and editing.kind == kind else {}
        return kinds_forms.details_from_form(kind, self.cleaned_data, previous=previous)


class DeskEntryForm(KindFields):
    """What the composer (and an inline edit) posts."""

    # Race status entries are posted by flag changes, but their text can be edited like any other.
    kind = forms.ChoiceField(choices=registry.choices)
    headline = forms.CharField(max_length=200, required=False)
    body = forms.CharField(required=False, max_length=100_000)
    image = forms.FileField(required=False)
    publish = forms.BooleanField(required=False)
    publish_at = forms.DateTimeField(required=False)
    version = forms.IntegerField(required=False, min_value=1)
    # An inline edit with a note is saved as a visible correction (services.correct_entry).
    correction_note = forms.CharField(required=False, max_length=CORRECTION_NOTE_MAX_LENGTH)

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
