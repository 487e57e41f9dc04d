"""The core's one extension hook: every change readers see, as it is recorded.

Plug-in apps (webhooks, messaging, timing) connect to `change_recorded` in their `ready()`, the
way `django.contrib` apps hook into Django; the core never imports them.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the change's own transaction, before it commits, with keyword arguments
# `feed` (the Feed), `seq` (int), `event` (the message type, e.g. "entry.created") and `text`
# (the message exactly as readers receive it). A receiver that writes rows writes them in the same
# transaction, so a rolled-back change leaves nothing behind; an exception rolls the change back.
change_recorded = Signal()
