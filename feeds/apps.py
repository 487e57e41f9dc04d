from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "feeds"
    verbose_name = "Live feeds"

    def ready(self) -> None:
        from . import signals
        from .webhooks import outbox

        signals.change_recorded.connect(outbox.on_change_recorded, dispatch_uid="webhooks.outbox")
