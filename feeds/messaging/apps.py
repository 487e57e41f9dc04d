"""The messaging plug-in: posting to feeds from Telegram and Slack."""

from __future__ import annotations

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "feeds.messaging"
    label = "messaging"
    verbose_name = "Posting from messaging apps"

    def ready(self) -> None:
        """Put the linking panel on the desk and let housekeeping drop spent codes and old delivery ids."""
        from feeds import housekeeping
        from feeds.desk import panels as desk_panels

        from . import tidying

        desk_panels.register("messaging/_link_panel.html")
        housekeeping.register("spent linking codes", tidying.remove_spent_link_codes)
        housekeeping.register("old messaging deliveries", tidying.remove_old_deliveries)
