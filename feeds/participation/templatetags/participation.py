"""Template tags for the reader page part and the desk panel."""

from __future__ import annotations

from typing import Any

from django import template

from feeds import roles
from feeds.models import Feed

from .. import selectors
from ..models import FeedParticipation
from ..selectors import settings_for

register = template.Library()


@register.simple_tag
def participation_switches(feed: Feed) -> FeedParticipation:
    """What readers of the feed may do."""
    return settings_for(feed)


@register.simple_tag(takes_context=True)
def participation_desk(context: dict[str, Any], feed: Feed) -> dict[str, Any]:
    """The desk panel's state: switches, open polls and the questions waiting."""
    user = context["request"].user
    return {
        "switches": settings_for(feed),
        "polls": selectors.open_polls(feed=feed),
        "questions": selectors.question_queue(feed=feed),
        "can_publish": roles.can_publish(user),
        "can_run": roles.can_run_feed(user),
    }
