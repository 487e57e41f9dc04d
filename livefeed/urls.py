from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Livefeed editor"
admin.site.site_title = "Livefeed editor"
admin.site.index_title = "Feeds and entries"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("feeds.api.urls")),
    path("", include("feeds.urls")),
]
