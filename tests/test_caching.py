"""HTTP caching: validators from the feed's seq, 304 on revalidation, CDN-friendly Cache-Control."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db.models import F
from django.test import Client
from django.utils.http import http_date

from feeds import caching, services
from feeds.models import Entry, Feed

pytestmark = pytest.mark.django_db


def settle(feed: Feed) -> None:
    """Move the feed's last changes two seconds back: their second is over, as on a real page."""
    Feed.objects.filter(pk=feed.pk).update(updated_at=F("updated_at") - timedelta(seconds=2))
    Entry.objects.filter(feed=feed).update(updated_at=F("updated_at") - timedelta(seconds=2))


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
    settle(live_feed)
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
    settle(live_feed)
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
    chosen = client.get(f"/feeds/{live_feed.slug}/?order=oldest")
    assert chosen.cookies["livefeed_order"].value == "oldest"
    assert "private" in chosen["Cache-Control"] and "public" not in chosen["Cache-Control"]
    remembered = client.get(f"/feeds/{live_feed.slug}/")
    assert remembered["ETag"] != newest["ETag"]
    assert "Cookie" in remembered["Vary"] and "private" in remembered["Cache-Control"]
    assert "public" not in remembered["Cache-Control"]
    assert client.get(f"/feeds/{live_feed.slug}/", HTTP_IF_NONE_MATCH=newest["ETag"]).status_code == 200


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_anonymous_public_answer_does_not_vary_on_cookie(live_feed, path):
    response = Client().get(path.format(slug=live_feed.slug))
    assert response.status_code == 200 and "public" in response["Cache-Control"]
    assert "cookie" not in response.get("Vary", "").lower()


def test_etag_changes_with_the_release(live_feed, monkeypatch):
    url = f"/feeds/{live_feed.slug}/"
    monkeypatch.setenv("LIVEFEED_RELEASE", "2026.12.1")
    caching.release.cache_clear()
    before = Client().get(url)
    monkeypatch.setenv("LIVEFEED_RELEASE", "2026.12.2")
    caching.release.cache_clear()
    after = Client().get(url, HTTP_IF_NONE_MATCH=before["ETag"])
    caching.release.cache_clear()
    assert after.status_code == 200 and after["ETag"] != before["ETag"]


def test_last_modified_is_withheld_while_its_second_may_still_change(publisher, live_feed, monkeypatch):
    url = f"/feeds/{live_feed.slug}/"
    entry = services.create_entry(feed=live_feed, by=publisher, headline="Just now")
    # The page is asked for within the second of the change, however slow the machine running this is.
    changed_at = Entry.objects.get(pk=entry.pk).updated_at
    monkeypatch.setattr(caching, "timezone", SimpleNamespace(now=lambda: changed_at))
    fresh = Client().get(url)
    assert fresh.status_code == 200 and "Last-Modified" not in fresh
    settle(live_feed)
    assert "Last-Modified" in Client().get(url)


def test_change_in_the_second_of_an_if_modified_since_is_not_a_304(publisher, live_feed, monkeypatch):
    url = f"/feeds/{live_feed.slug}/"
    entry = services.create_entry(feed=live_feed, by=publisher, headline="Same second")
    changed_at = Entry.objects.get(pk=entry.pk).updated_at
    # A cache whose copy is dated within the change's second (its Date, taken before the change)
    # revalidates once that second is over, whether or not it was over when this test asked.
    asked = http_date(int(changed_at.timestamp()))
    monkeypatch.setattr(caching, "timezone", SimpleNamespace(now=lambda: changed_at + timedelta(seconds=1)))
    response = Client().get(url, HTTP_IF_MODIFIED_SINCE=asked)
    assert response.status_code == 200 and b"Same second" in response.content
    # The date the page gives covers the whole second: sent back, it is a 304.
    again = Client().get(url, HTTP_IF_MODIFIED_SINCE=response["Last-Modified"])
    assert again.status_code == 304
