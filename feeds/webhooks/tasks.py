"""Where rows queued by earlier releases find the webhook and WebSub tasks.

Each task is declared beside the work it runs (`delivery.deliver_webhooks`, `websub.ping_websub_hub`);
a queued row names its task by import path, so these paths stay valid for rows queued before the move.
"""

from __future__ import annotations

from .delivery import deliver_webhooks
from .websub import ping_websub_hub

__all__ = ["deliver_webhooks", "ping_websub_hub"]
