"""The widget may be framed by other sites; nothing else may. The loader is small and cached."""

from __future__ import annotations

import gzip
import re

import pytest
from django.test import Client

from feeds import services

pytestmark = pytest.mark.django_db


def test_widget_may_be_framed_by_any_site_by_default(live_feed):
    response = Client().get(f"/feeds/{live_feed.slug}/embed/")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert "frame-ancestors *" in response["Content-Security-Policy"]
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_widget_framing_follows_the_deployments_allow_list(live_feed, settings):
    settings.LIVEFEED = {
        **settings.LIVEFEED,
        "EMBED_ORIGINS": ["https://news.example", "https://team.example"],
    }
    response = Client().get(f"/feeds/{live_feed.slug}/embed/")
    assert "frame-ancestors https://news.example https://team.example" in response["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["/", "/feeds/{slug}/", "/admin/login/"])
def test_the_rest_of_the_site_refuses_to_be_framed(live_feed, path):
    response = Client().get(path.format(slug=live_feed.slug))
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_widget_options_limit_entries_and_set_theme_and_order(publisher, live_feed):
    for lap in range(5):
        services.create_entry(feed=live_feed, by=publisher, headline=f"Lap {lap}", body="report")
    html = Client().get(f"/feeds/{live_feed.slug}/embed/?entries=2&theme=dark&order=oldest").content.decode()
    # Oldest first is the story from its first entry, with the rest a page further on.
    assert re.findall(r'entry-headline">(Lap \d)<', html) == ["Lap 0", "Lap 1"]
    assert 'data-theme="dark"' in html and 'data-order="oldest"' in html
    assert re.search(r'href="[^"]+\?order=oldest&amp;after=[^"]+" rel="next"', html)


def test_widget_has_a_main_landmark_and_a_heading(live_feed):
    html = Client().get(f"/feeds/{live_feed.slug}/embed/").content.decode()
    assert "<main>" in html
    assert re.search(r"<h1[^>]*><a [^>]*>Night Race</a></h1>", html)


def test_widget_ignores_unknown_options(live_feed):
    html = Client().get(f"/feeds/{live_feed.slug}/embed/?theme=<script>&entries=lots").content.decode()
    assert 'data-theme="auto"' in html and "<script>&" not in html


def test_widget_links_open_on_livefeed(live_feed):
    html = Client().get(f"/feeds/{live_feed.slug}/embed/").content.decode()
    assert '<base target="_blank">' in html and f'href="/feeds/{live_feed.slug}/"' in html


def test_draft_feed_has_no_widget(publisher):
    services.create_feed(by=publisher, title="Secret", slug="secret")
    assert Client().get("/feeds/secret/embed/").status_code == 404


def test_loader_is_small_and_cached():
    response = Client().get("/embed.js")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert len(gzip.compress(response.content)) < 3 * 1024
    assert "public" in response["Cache-Control"] and "max-age=3600" in response["Cache-Control"]
