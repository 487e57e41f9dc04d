"""What search engines read: the sitemap of published feeds and robots.txt."""

from __future__ import annotations

from datetime import datetime

from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from . import links
from .models import Feed


class FeedSitemap(Sitemap):
    changefreq = "always"

    def items(self) -> list[Feed]:
        return list(
            Feed.objects.visible_to_readers()
            .annotate(latest_entry=Max("entries__updated_at"))
            .order_by("-pk")
        )

    def location(self, feed: Feed) -> str:
        return links.feed_path(feed)

    def lastmod(self, feed: Feed) -> datetime:
        return max(filter(None, [feed.updated_at, feed.latest_entry]))


def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /api/",
        "Disallow: /oembed/",
        "Allow: /",
        f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")
