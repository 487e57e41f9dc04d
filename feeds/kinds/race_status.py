"""A flag change: the race status fields (flag, lap…) at that moment, and an optional note."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from .. import race
from ..rendering import render_race_summary
from .base import Kind


class RaceStatusKind(Kind):
    name = "race_status"
    label = _("Race status")
    # Posted by flag changes (desk, API, timing feeds); its text is edited like any other entry's.
    composed_at_desk = False

    def clean(self, details: dict[str, Any], *, body: str, headline: str, has_image: bool) -> dict[str, Any]:
        snapshot = race.clean_race({}, {k: v for k, v in details.items() if k in race.FIELDS})
        if "flag" not in snapshot:
            raise ValidationError({"flag": _("A race status entry needs a flag.")})
        return snapshot

    def detail_keys(self) -> list[str]:
        return list(race.FIELDS)

    def markup(self, text: str, details: dict[str, Any]) -> str:
        return format_html("{}{}", render_race_summary(details, css="entry-race"), mark_safe(text))
