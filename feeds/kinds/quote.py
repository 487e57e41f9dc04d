"""A quote: the body is what was said, attributed to a speaker and, optionally, their role."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from .base import DetailField, Kind


class QuoteKind(Kind):
    name = "quote"
    label = _("Quote")
    body_label = _("The quote")
    fields = (
        DetailField(
            "speaker",
            _("Speaker"),
            required=True,
            required_message=_("The speaker is required."),
            help_text=_("Who said it."),
        ),
        DetailField(
            "role", _("Role"), help_text=_("Who they are."), placeholder=_("driver, No. 75 truck"), wide=True
        ),
    )

    def clean(self, details: dict[str, Any], *, body: str, headline: str, has_image: bool) -> dict[str, Any]:
        if not body.strip():
            raise ValidationError({"body": _("Write the quote.")})
        return super().clean(details, body=body, headline=headline, has_image=has_image)

    def markup(self, text: str, details: dict[str, Any]) -> str:
        attribution = format_html("<cite>{}</cite>", details.get("speaker", ""))
        if details.get("role"):
            attribution = format_html("{}, {}", attribution, details["role"])
        return format_html(
            '<blockquote class="entry-quote">{}<footer>— {}</footer></blockquote>',
            mark_safe(text),
            attribution,
        )
