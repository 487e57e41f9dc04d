"""Plain text: a headline, a Markdown body, or both."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .base import Kind


class TextKind(Kind):
    name = "text"
    label = _("Text")

    def clean(self, details: dict[str, Any], *, body: str, headline: str, has_image: bool) -> dict[str, Any]:
        if not body.strip() and not headline.strip():
            raise ValidationError({"body": _("Write a headline or a body.")})
        return {}
