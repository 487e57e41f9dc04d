"""Atom, RSS and JSON Feed of a feed's entries, as feed readers parse them."""

from __future__ import annotations

import feedparser
import pytest
from django.test import Client

from feeds import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries(publisher, live_feed):
    first = services.create_entry(
        feed=live_feed, by=publisher, headline="Green flag", body="We are **racing**."
    )
    second = services.create_entry(feed=live_feed, by=publisher, body="Caution for debris in Turn 3.")
    services.create_entry(feed=live_feed, by=publisher, headline="Embargoed", body="x", status="draft")
    return [second, first]


@pytest.mark.parametrize("path", ["atom", "rss"])
def test_atom_and_rss_list_published_entries_newest_first(entries, live_feed, path):
    response = Client().get(f"/feeds/{live_feed.slug}/{path}/")
    parsed = feedparser.parse(response.content)
    assert response.status_code == 200 and not parsed.bozo
    assert parsed.feed.title == live_feed.title
    assert [item.title for item in parsed.entries] == ["Caution for debris in Turn 3.", "Green flag"]
    assert parsed.entries[1].link == f"http://testserver/feeds/{live_feed.slug}/entries/{entries[1].pk}/"
    assert "<strong>racing</strong>" in parsed.entries[1].summary
    assert parsed.entries[1].author == "Eddie Tor"


def test_json_feed_follows_version_1_1(entries, live_feed):
    response = Client().get(f"/feeds/{live_feed.slug}/feed.json")
    assert response["Content-Type"] == "application/feed+json"
    document = response.json()
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["title"] == live_feed.title
    assert document["home_page_url"] == f"http://testserver/feeds/{live_feed.slug}/"
    assert [item["title"] for item in document["items"]] == ["Caution for debris in Turn 3.", "Green flag"]
    assert document["items"][1]["content_html"] == "<p>We are <strong>racing</strong>.</p>"
    assert all({"id", "url", "date_published", "authors"} <= set(item) for item in document["items"])


def test_feed_page_advertises_its_syndication_feeds(live_feed):
    html = Client().get(f"/feeds/{live_feed.slug}/").content.decode()
    assert (
        f'type="application/atom+xml" title="{live_feed.title} (Atom)" href="/feeds/{live_feed.slug}/atom/"'
        in html
    )
    assert (
        f'type="application/rss+xml" title="{live_feed.title} (RSS)" href="/feeds/{live_feed.slug}/rss/"'
        in html
    )
    assert (
        f'type="application/feed+json" title="{live_feed.title} (JSON Feed)" href="/feeds/{live_feed.slug}/feed.json"'
        in html
    )


@pytest.mark.parametrize("path", ["atom/", "rss/", "feed.json"])
def test_draft_feed_has_no_syndication(publisher, path):
    services.create_feed(by=publisher, title="Secret", slug="secret")
    assert Client().get(f"/feeds/secret/{path}").status_code == 404


def test_sitemap_lists_published_feeds_only(publisher, live_feed):
    services.create_feed(by=publisher, title="Secret", slug="secret")
    xml = Client().get("/sitemap.xml").content.decode()
    assert f"<loc>http://testserver/feeds/{live_feed.slug}/</loc>" in xml
    assert "secret" not in xml


def test_robots_txt_points_to_the_sitemap_and_keeps_crawlers_out_of_the_admin():
    text = Client().get("/robots.txt").content.decode()
    assert "Disallow: /admin/" in text and "Sitemap: http://testserver/sitemap.xml" in text
