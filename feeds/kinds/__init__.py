"""Entry kinds: each kind's detail fields, validation and HTML, in one module per kind.

The admin, the desk composer, the API, Entry.kind's choices and the renderer all read this
registry. To add a kind, write a module with a `Kind` subclass and register it below
(docs/kinds.md).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from . import image, quote, race_status, social, text
from .base import DetailField, Kind
from .registry import UnknownKind, all, choices, get, input_names, register, unregister

__all__ = [
    "DetailField",
    "Kind",
    "UnknownKind",
    "all",
    "choices",
    "clean_details",
    "get",
    "input_names",
    "register",
    "render_entry",
    "unregister",
]

# One line per kind, in the order editors are offered them.
register(text.TextKind())
register(quote.QuoteKind())
register(social.SocialKind())
register(image.ImageKind())
register(race_status.RaceStatusKind())


def clean_details(*, kind: str, details: Any, body: str, headline: str, has_image: bool) -> dict[str, Any]:
    """The kind's fields, checked and trimmed; raises ValidationError naming the field."""
    if details is None:
        details = {}
    if not isinstance(details, dict):
        raise ValidationError({"details": _("Send the kind's fields as an object.")})
    try:
        entry_kind = get(kind)
    except UnknownKind:
        raise ValidationError({"kind": _("Unknown kind.")})
    return entry_kind.clean(details, body=body, headline=headline, has_image=has_image)


def render_entry(*, kind: str, body: str, details: dict[str, Any]) -> str:
    """An entry of any kind as sanitized HTML, from its body and its kind's fields."""
    return get(kind).render(body, details)
