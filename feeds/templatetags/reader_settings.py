"""Settings the reader's scripts need, written into the page they enhance."""

from __future__ import annotations

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def away_summary_after() -> int:
    """Seconds away (a background tab, a dropped connection) after which a returning reader is
    shown what was missed."""
    return int(settings.LIVEFEED["AWAY_SUMMARY_AFTER"])
