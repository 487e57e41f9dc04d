"""The core app. Plug-in apps (timing, messaging, webhooks) hook into it from their own `ready()`;
the core imports none of them (see feeds.signals, feeds.desk.panels, feeds.housekeeping,
feeds.roles and feeds.api.routes for the hooks)."""

from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "feeds"
    verbose_name = "Live feeds"

    def ready(self) -> None:
        # Warn at start-up, not at the first reader, if the fast path to readers' sockets is off.
        from .broadcast.writers import fast_path_problem

        fast_path_problem()

        from .redis_driver import look_up_version_once

        look_up_version_once()
