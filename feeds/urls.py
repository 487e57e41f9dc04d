from django.urls import path

from . import embed, languages, syndication, views
from .caching import cached_feed_view

app_name = "feeds"

urlpatterns = [
    path("", views.index, name="index"),
    path("jsi18n/<str:language>/", languages.script_catalog, name="script-catalog"),
    path(
        "feeds/<slug:slug>/",
        cached_feed_view(views.feed_detail, cookies=(views.ORDER_COOKIE,)),
        name="detail",
    ),
    path(
        "feeds/<slug:slug>/entries/<int:entry_id>/",
        cached_feed_view(views.entry_detail, cookies=(views.ORDER_COOKIE,)),
        name="entry",
    ),
    path("feeds/<slug:slug>/embed/", embed.widget, name="embed"),
    path("feeds/<slug:slug>/atom/", cached_feed_view(syndication.EntriesAtom()), name="atom"),
    path("feeds/<slug:slug>/rss/", cached_feed_view(syndication.EntriesRss()), name="rss"),
    path("feeds/<slug:slug>/feed.json", cached_feed_view(syndication.json_feed), name="json-feed"),
]
