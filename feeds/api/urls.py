from csp.decorators import csp_update
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from ..caching import cached_feed_view, public_cache
from . import routes, views

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Redoc runs its search in a worker it starts from a blob: URL.
    path(
        "docs/",
        csp_update({"worker-src": ["'self'", "blob:"]})(
            SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html")
        ),
        name="docs",
    ),
    path("feeds/", public_cache(views.FeedListView.as_view()), name="feed-list"),
    path("feeds/<slug:slug>/", cached_feed_view(views.FeedDetailView.as_view()), name="feed-detail"),
    path("feeds/<slug:slug>/events/", cached_feed_view(views.FeedEventsView.as_view()), name="feed-events"),
    path("feeds/<slug:slug>/entries/", views.EntryListView.as_view(), name="entry-list"),
    path("feeds/<slug:slug>/entries/<int:entry_id>/", views.EntryDetailView.as_view(), name="entry-detail"),
    path("feeds/<slug:slug>/audience/", views.FeedAudienceView.as_view(), name="feed-audience"),
    path(
        "feeds/<slug:slug>/audience/readers.csv",
        views.FeedAudienceReadersCsvView.as_view(),
        name="feed-audience-readers-csv",
    ),
    path(
        "feeds/<slug:slug>/audience/entries.csv",
        views.FeedAudienceEntriesCsvView.as_view(),
        name="feed-audience-entries-csv",
    ),
    *routes.patterns(),
    # Anything else under /api/ (a slug or id that cannot be one) is the API's JSON 404, not a page.
    re_path(r"^", views.no_such_endpoint),
]
