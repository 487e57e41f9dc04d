"""What a webhook subscription may ask for, and its field defaults.

Apart from the models so that migrations can name the defaults without loading the models.
"""

from __future__ import annotations

import secrets

from .. import events

EVENT_CHOICES = [
    (events.ENTRY_CREATED, "Entry created"),
    (events.ENTRY_UPDATED, "Entry updated"),
    (events.ENTRY_DELETED, "Entry deleted"),
    (events.FEED_UPDATED, "Feed updated"),
]
EVENT_TYPES = [value for value, _ in EVENT_CHOICES]


def new_secret() -> str:
    """A fresh signing secret for a new subscription."""
    return secrets.token_urlsafe(32)


def every_event() -> list[str]:
    """A new subscription hears of every kind of change."""
    return list(EVENT_TYPES)
