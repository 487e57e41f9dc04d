"""A timing source's health as the desk shows it, and the desk message that updates it live."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.template.loader import render_to_string
from django.utils import translation

from ..broadcast import broadcast_to_desk

if TYPE_CHECKING:
    from .models import TimingSource

MESSAGE_TYPE = "timing.health"


def render_health(source: TimingSource | None) -> str:
    """The desk's timing panel (the same partial the page is served with)."""
    return render_to_string("timing/_health.html", {"source": source})


def render_health_for_desks(source: TimingSource) -> str:
    """The panel sent to every desk of the feed at once: in the feed's language, the one its
    newsroom works in (a desk page loaded since renders it in its user's own)."""
    with translation.override(source.feed.language):
        return render_health(source)


def tell_desk(source: TimingSource) -> None:
    """Send the refreshed panel to the feed's desk after the transaction commits."""
    message: dict[str, Any] = {"type": MESSAGE_TYPE, "html": render_health_for_desks(source)}
    broadcast_to_desk(feed_slug=source.feed.slug, message=message)
