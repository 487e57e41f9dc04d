"""Form fields for the kinds' details, shared by the admin's entry form and the desk composer."""

from __future__ import annotations

from typing import Any

from django import forms

from . import registry
from .base import DetailField


def form_field(field: DetailField) -> forms.CharField:
    """The form field for one detail. Never required here: only the chosen kind's fields are,
    and its `clean` says so, naming the field."""
    widget = forms.URLInput if field.input_type == "url" else forms.TextInput
    return forms.CharField(
        required=False,
        max_length=field.max_length,
        label=field.label,
        help_text=field.help_text,
        widget=widget(attrs={"placeholder": field.placeholder} if field.placeholder else None),
    )


def form_fields() -> dict[str, forms.CharField]:
    """A field for every registered kind's details, by input name."""
    return {field.input_name: form_field(field) for kind in registry.all() for field in kind.fields}


def input_to_key(kind: str) -> dict[str, str]:
    """The kind's form input names to the keys they fill in Entry.details; empty for an unknown kind."""
    try:
        fields = registry.get(kind).fields
    except registry.UnknownKind:
        return {}
    return {field.input_name: field.key for field in fields}


def details_from_form(kind: str, cleaned_data: dict[str, Any], *, previous: dict[str, Any]) -> dict[str, Any]:
    """The details an entry of `kind` gets: the form's values over `previous` (an image's
    renditions, say, when an edit keeps the kind)."""
    details = dict(previous)
    for name, key in input_to_key(kind).items():
        details[key] = cleaned_data.get(name, "")
    return details
