from django.contrib import admin
from django.urls import include, path

from feeds.health import health

admin.site.site_header = "Livefeed editor"
admin.site.site_title = "Livefeed editor"
admin.site.index_title = "Feeds and entries"

urlpatterns = [
    path("healthz", health, name="health"),
    path("admin/", admin.site.urls),
    path("api/", include("feeds.api.urls")),
    path("", include("feeds.urls")),
]
