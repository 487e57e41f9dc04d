from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path, re_path
from django.views.static import serve

from feeds import crawlers, embed, oembed
from feeds.health import health

admin.site.site_header = "Livefeed editor"
admin.site.site_title = "Livefeed editor"
admin.site.index_title = "Feeds and entries"

urlpatterns = [
    path("healthz", health, name="health"),
    path("admin/", admin.site.urls),
    path("api/", include("feeds.api.urls")),
    path("oembed/", oembed.oembed, name="oembed"),
    path("embed.js", embed.loader, name="embed-loader"),
    path("sitemap.xml", sitemap, {"sitemaps": {"feeds": crawlers.FeedSitemap}}, name="sitemap"),
    path("robots.txt", crawlers.robots_txt, name="robots"),
    path("", include("feeds.urls")),
]
# Plug-in apps with pages of their own, when installed (settings.PLUGINS).
if apps.is_installed("feeds.messaging"):
    urlpatterns.append(path("integrations/", include("feeds.messaging.urls")))
if apps.is_installed("feeds.participation"):
    urlpatterns.append(path("participation/", include("feeds.participation.urls")))
if settings.SERVE_MEDIA:
    urlpatterns.append(re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}))
