"""The desk's URLs, mounted inside the admin by FeedAdmin.get_urls so they share its login."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.admin import AdminSite
from django.http import HttpResponse
from django.urls import URLPattern, path

from . import views


def desk_urls(admin_site: AdminSite) -> list[URLPattern]:
    """Admin-protected desk routes under /admin/feeds/feed/<id>/desk/."""

    def protect(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        return admin_site.admin_view(view)

    return [
        path("<int:feed_id>/desk/", protect(views.desk), name="feeds_feed_desk"),
        path("<int:feed_id>/desk/entries/", protect(views.entries), name="feeds_desk_entries"),
        path("<int:feed_id>/desk/entries/<int:entry_id>/", protect(views.entry), name="feeds_desk_entry"),
        path(
            "<int:feed_id>/desk/entries/<int:entry_id>/delete/",
            protect(views.delete),
            name="feeds_desk_entry_delete",
        ),
        path(
            "<int:feed_id>/desk/entries/<int:entry_id>/history/",
            protect(views.history),
            name="feeds_desk_entry_history",
        ),
        path(
            "<int:feed_id>/desk/entries/<int:entry_id>/restore/",
            protect(views.restore),
            name="feeds_desk_entry_restore",
        ),
        path("<int:feed_id>/desk/status/", protect(views.feed_status), name="feeds_desk_status"),
        path("<int:feed_id>/desk/race/", protect(views.race_status), name="feeds_desk_race"),
    ]
