"""The webhooks plug-in: signed webhooks and WebSub hub pings for every change readers see."""

from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "feeds.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks and WebSub"

    def ready(self) -> None:
        """Queue each recorded change for partners, and restart stalled queues in housekeeping."""
        from feeds import housekeeping, signals

        from . import delivery, outbox

        signals.change_recorded.connect(outbox.on_change_recorded, dispatch_uid="webhooks.outbox")
        housekeeping.register("webhook queues restarted", delivery.restart_stalled)
