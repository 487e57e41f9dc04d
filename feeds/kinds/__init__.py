"""Entry kinds: each kind's detail fields, validation and HTML, in one module per kind.

The admin, the desk composer, the API, Entry.kind's choices and the renderer all read this
registry. To add a kind, write a module with a `Kind` subclass and register it below
(docs/kinds.md).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from .base import MAX_FIELD, DetailField, Kind, clean_text
from .image import ImageKind
from .quote import QuoteKind
from .race_status import RaceStatusKind
from .registry import UnknownKind, all, choices, get, input_names, register, unregister
from .social import SOCIAL_NETWORKS, SocialKind, social_network
from .text import TextKind

__all__ = [
    "MAX_FIELD", "SOCIAL_NETWORKS", "DetailField", "Kind", "UnknownKind", "all", "choices", "clean_details",
    "clean_text", "get", "input_names", "register", "render_entry", "social_network", "unregister",
]

# One line per kind, in the order editors are offered them.
register(TextKind())
register(QuoteKind())
register(SocialKind())
register(ImageKind())
register(RaceStatusKind())


def clean_details(*, kind: str, details: Any, body: str, headline: str, has_image: bool) -> dict[str, Any]:
    """The kind's fields, checked and trimmed; raises ValidationError naming the field."""
    if details is None:
        details = {}
    if not isinstance(details, dict):
        raise ValidationError({"details": "Send the kind's fields as an object."})
    try:
        entry_kind = get(kind)
    except UnknownKind:
        raise ValidationError({"kind": "Unknown kind."})
    return entry_kind.clean(details, body=body, headline=headline, has_image=has_image)


def render_entry(*, kind: str, body: str, details: dict[str, Any]) -> str:
    """An entry of any kind as sanitized HTML, from its body and its kind's fields."""
    return get(kind).render(body, details)
