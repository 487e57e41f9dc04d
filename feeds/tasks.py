"""Where rows queued by earlier releases find the scheduled-publication task.

Tasks are declared beside the work they run (`feeds.services.publish_at_time`); a queued row names
its task by import path, so this path stays valid for rows queued before the move.
"""

from __future__ import annotations

from .services import publish_at_time

__all__ = ["publish_at_time"]
