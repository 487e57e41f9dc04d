"""The timing plug-in: race status from timing and scoring systems (docs/timing.md)."""

from __future__ import annotations

from django.apps import AppConfig


class TimingConfig(AppConfig):
    name = "feeds.timing"
    label = "timing"
    verbose_name = "Timing"

    def ready(self) -> None:
        """Give Editors the timing source permissions, route timing pushes and show the desk panel."""
        from django.urls import path

        from feeds import roles
        from feeds.api import routes as api_routes
        from feeds.desk import panels as desk_panels

        from .api import TimingPushView

        codenames = ["view_timingsource", "add_timingsource", "change_timingsource", "delete_timingsource"]
        roles.grant(roles.EDITOR, "timing", codenames)
        api_routes.register(path("feeds/<slug:slug>/timing/", TimingPushView.as_view(), name="feed-timing"))
        desk_panels.register("timing/_desk_panel.html")
