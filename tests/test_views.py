"""Readers' pages, as a browser without JavaScript gets them."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from feeds import services

pytestmark = pytest.mark.django_db


def test_index_lists_live_feeds_first_and_hides_drafts(publisher):
    services.create_feed(by=publisher, title="Last week's race", slug="last-week", status="ended")
    services.create_feed(by=publisher, title="Tonight's race", slug="tonight", status="live")
    services.create_feed(by=publisher, title="Next week's race", slug="next-week")
    html = Client().get("/").content.decode()
    assert html.index("Tonight&#x27;s race") < html.index("Last week&#x27;s race")
    assert "Next week" not in html


def test_live_page_is_readable_without_javascript(publisher, live_feed):
    services.create_entry(feed=live_feed, by=publisher, headline="Green flag", body="We are *racing*.")
    services.create_entry(feed=live_feed, by=publisher, headline="Caution", body="Debris in Turn 3.")
    services.create_entry(feed=live_feed, by=publisher, headline="Embargoed", body="x", status="draft")
    response = Client().get(f"/feeds/{live_feed.slug}/")
    html = response.content.decode()
    assert response.status_code == 200
    body = html[html.index("<body") :]
    assert body.index("Caution") < body.index("Green flag")
    assert "<em>racing</em>" in html
    assert "Embargoed" not in html
    live_feed.refresh_from_db()
    assert f'data-livefeed data-slug="{live_feed.slug}" data-seq="{live_feed.seq}"' in html


def test_older_entries_are_behind_a_cursor_link(publisher, live_feed, settings):
    settings.LIVEFEED = {**settings.LIVEFEED, "PAGE_SIZE": 3}
    for lap in range(7):
        services.create_entry(feed=live_feed, by=publisher, headline=f"Lap {lap}", body="-")
    client = Client()
    seen: list[str] = []
    url = f"/feeds/{live_feed.slug}/"
    while url:
        html = client.get(url).content.decode()
        seen += re.findall(r'entry-headline">(Lap \d)<', html)
        older = re.search(r'href="(\?before=[^"]+)" rel="next"', html)
        url = f"/feeds/{live_feed.slug}/{older.group(1)}" if older else None
    assert seen == [f"Lap {lap}" for lap in reversed(range(7))]


def test_pinned_entry_is_shown_once_above_the_stream(publisher, live_feed):
    services.create_entry(feed=live_feed, by=publisher, headline="Stream entry", body="-")
    services.create_entry(feed=live_feed, by=publisher, headline="Read this first", body="-", pinned=True)
    html = Client().get(f"/feeds/{live_feed.slug}/").content.decode()
    body = html[html.index("<body") :]
    assert body.count("Read this first") == 1
    assert body.index("Read this first") < body.index("Stream entry")


def test_draft_feed_page_is_404(publisher):
    services.create_feed(by=publisher, title="Secret", slug="secret")
    assert Client().get("/feeds/secret/").status_code == 404


def test_forged_cursor_is_a_400(live_feed):
    assert Client().get(f"/feeds/{live_feed.slug}/?before=%%%").status_code == 400


def test_live_script_is_served(live_feed):
    response = Client().get("/static/feeds/live.js")
    assert response.status_code == 200
