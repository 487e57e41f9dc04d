"""HTTP caching: validators from the feed's seq, 304 on revalidation, CDN-friendly Cache-Control."""

from __future__ import annotations

import pytest
from django.test import Client

from feeds import services

pytestmark = pytest.mark.django_db

PUBLIC_PATHS = [
    "/feeds/{slug}/",
    "/feeds/{slug}/embed/",
    "/feeds/{slug}/atom/",
    "/feeds/{slug}/rss/",
    "/feeds/{slug}/feed.json",
    "/api/feeds/{slug}/",
    "/api/feeds/{slug}/events/?after=0",
]


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_revalidation_with_the_etag_is_a_304_until_a_new_entry(publisher, live_feed, path):
    url = path.format(slug=live_feed.slug)
    client = Client()
    first = client.get(url)
    assert first.status_code == 200 and first["ETag"] and first["Last-Modified"]
    assert "public" in first["Cache-Control"] and "stale-while-revalidate=30" in first["Cache-Control"]
    assert "max-age=5" in first["Cache-Control"]
    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    services.create_entry(feed=live_feed, by=publisher, headline="New entry")
    changed = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]


def test_if_modified_since_is_honoured(live_feed):
    client = Client()
    first = client.get(f"/feeds/{live_feed.slug}/")
    assert (
        client.get(f"/feeds/{live_feed.slug}/", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]).status_code
        == 304
    )


def test_options_change_the_etag(live_feed):
    client = Client()
    light = client.get(f"/feeds/{live_feed.slug}/embed/?theme=light")
    dark = client.get(f"/feeds/{live_feed.slug}/embed/?theme=dark")
    assert light["ETag"] != dark["ETag"]


def test_draft_feed_is_never_cacheable(publisher):
    services.create_feed(by=publisher, title="Secret", slug="secret")
    for path in ("/feeds/secret/", "/api/feeds/secret/", "/feeds/secret/embed/", "/feeds/secret/atom/"):
        response = Client().get(path)
        assert response.status_code == 404
        assert "no-cache" in response["Cache-Control"] and "public" not in response["Cache-Control"]


def test_admin_is_never_cacheable(publisher, live_feed):
    client = Client()
    client.force_login(publisher)
    response = client.get(f"/admin/feeds/feed/{live_feed.pk}/change/")
    assert response.status_code == 200 and "no-cache" in response["Cache-Control"]
    assert "public" not in response["Cache-Control"]


def test_writes_are_not_made_cacheable(publisher, live_feed):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {publisher.token}")
    response = client.patch(
        f"/api/feeds/{live_feed.slug}/", {"summary": "Updated"}, content_type="application/json"
    )
    assert response.status_code == 200 and "public" not in response.get("Cache-Control", "")


def test_remembered_order_takes_part_in_caching(publisher, live_feed):
    client = Client()
    newest = client.get(f"/feeds/{live_feed.slug}/")
    assert "Cookie" in newest["Vary"]
    chosen = client.get(f"/feeds/{live_feed.slug}/?order=oldest")
    assert chosen.cookies["livefeed_order"].value == "oldest"
    assert "private" in chosen["Cache-Control"] and "public" not in chosen["Cache-Control"]
    remembered = client.get(f"/feeds/{live_feed.slug}/")
    assert remembered["ETag"] != newest["ETag"]
    assert client.get(f"/feeds/{live_feed.slug}/", HTTP_IF_NONE_MATCH=newest["ETag"]).status_code == 200
