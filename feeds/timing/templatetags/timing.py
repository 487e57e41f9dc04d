"""`{% timing_health feed %}`: the desk's timing panel, when the feed has a timing source."""

from __future__ import annotations

from typing import Any

from django import template

from feeds.models import Feed

from ..models import TimingSource

register = template.Library()


@register.inclusion_tag("timing/_panel.html")
def timing_health(feed: Feed) -> dict[str, Any]:
    return {"source": TimingSource.objects.filter(feed=feed).select_related("feed").first()}
