"""A photo with alt text, caption and credit, served as responsive renditions."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from .base import DetailField, Kind

IMAGE_SIZES = "(max-width: 760px) 100vw, 720px"


class ImageKind(Kind):
    name = "image"
    label = _("Image")
    body_label = _("Text under the image (optional)")
    takes_image = True
    fields = (
        DetailField(
            "alt", _("Alt text"), required=True, help_text=_("What it shows, for screen readers."), wide=True
        ),
        DetailField("caption", _("Caption"), help_text=_("Shown under it."), wide=True),
        DetailField("credit", _("Credit"), help_text=_("Photographer or agency.")),
    )

    def clean(self, details: dict[str, Any], *, body: str, headline: str, has_image: bool) -> dict[str, Any]:
        if not has_image:
            raise ValidationError({"image": _("Choose a JPEG, PNG or WebP image.")})
        # The image's own fields (src, size, renditions) are added by the services, never taken
        # from the request.
        return super().clean(details, body=body, headline=headline, has_image=has_image)

    def markup(self, text: str, details: dict[str, Any]) -> str:
        renditions = details.get("renditions") or []
        srcset = ", ".join(f"{escape(item['url'])} {int(item['width'])}w" for item in renditions)
        largest = renditions[-1] if renditions else {"url": details.get("src", ""), "width": 0}
        height = round(int(details.get("height", 0)) * largest["width"] / int(details.get("width", 1) or 1))
        caption = escape(details.get("caption", ""))
        if details.get("credit"):
            caption = format_html('{} <span class="entry-credit">{}</span>', caption, details["credit"])
        return format_html(
            '<figure class="entry-image"><img src="{}" srcset="{}" sizes="{}" alt="{}" width="{}" height="{}"'
            ' loading="lazy">{}</figure>{}',
            largest["url"],
            mark_safe(srcset),
            IMAGE_SIZES,
            details.get("alt", ""),
            largest["width"],
            height,
            format_html("<figcaption>{}</figcaption>", caption) if caption else "",
            mark_safe(text),
        )
