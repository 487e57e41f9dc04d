"""Readers' pages, as a browser without JavaScript gets them."""

from __future__ import annotations

import re
from html import unescape

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
        older = re.search(r'href="([^"]+)" rel="next"', html)
        url = unescape(older.group(1)) if older else None
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


def test_permalink_opens_the_page_at_an_entry_deep_in_the_feed(publisher, live_feed, settings):
    settings.LIVEFEED = {**settings.LIVEFEED, "PAGE_SIZE": 5}
    laps = [
        services.create_entry(feed=live_feed, by=publisher, headline=f"Lap {lap}", body="-")
        for lap in range(40)
    ]
    html = Client().get(f"/feeds/{live_feed.slug}/entries/{laps[10].pk}/").content.decode()
    shown = re.findall(r'entry-headline">(Lap \d+)<', html)
    assert shown == ["Lap 12", "Lap 11", "Lap 10", "Lap 9", "Lap 8", "Lap 7", "Lap 6"]
    assert f'data-focus="{laps[10].pk}"' in html
    assert "data-detached" in html
    assert 'rel="next"' in html


def test_permalink_has_share_card_tags(publisher, live_feed):
    entry = services.create_entry(
        feed=live_feed, by=publisher, headline="Red flag", body="Heavy rain & hail stop the race on *lap 40*."
    )
    html = Client().get(f"/feeds/{live_feed.slug}/entries/{entry.pk}/").content.decode()
    url = f"http://testserver/feeds/{live_feed.slug}/entries/{entry.pk}/"
    assert '<meta property="og:title" content="Red flag">' in html
    assert '<meta property="og:description" content="Heavy rain &amp; hail stop the race on lap 40.">' in html
    assert f'<meta property="og:url" content="{url}">' in html
    assert '<meta name="twitter:card" content="summary">' in html
    assert f'<link rel="canonical" href="{url}">' in html


def test_permalink_to_a_draft_or_deleted_entry_is_404(publisher, live_feed):
    draft = services.create_entry(
        feed=live_feed, by=publisher, headline="Embargoed", body="x", status="draft"
    )
    gone = services.create_entry(feed=live_feed, by=publisher, headline="Gone", body="x")
    services.delete_entry(entry=gone, by=publisher)
    client = Client()
    assert client.get(f"/feeds/{live_feed.slug}/entries/{draft.pk}/").status_code == 404
    assert client.get(f"/feeds/{live_feed.slug}/entries/{gone.pk}/").status_code == 404
    other = services.create_feed(by=publisher, title="Other", slug="other", status="live")
    elsewhere = services.create_entry(feed=other, by=publisher, headline="Elsewhere", body="x")
    assert client.get(f"/feeds/{live_feed.slug}/entries/{elsewhere.pk}/").status_code == 404


def test_oldest_first_is_chosen_by_a_link_and_remembered(publisher, live_feed):
    for lap in range(3):
        services.create_entry(feed=live_feed, by=publisher, headline=f"Lap {lap}", body="-")
    client = Client()
    html = client.get(f"/feeds/{live_feed.slug}/?order=oldest").content.decode()
    assert re.findall(r'entry-headline">(Lap \d)<', html) == ["Lap 0", "Lap 1", "Lap 2"]
    html = client.get(f"/feeds/{live_feed.slug}/").content.decode()
    assert re.findall(r'entry-headline">(Lap \d)<', html) == ["Lap 0", "Lap 1", "Lap 2"]
    assert 'data-order="oldest"' in html
    html = client.get(f"/feeds/{live_feed.slug}/?order=newest").content.decode()
    assert re.findall(r'entry-headline">(Lap \d)<', html) == ["Lap 2", "Lap 1", "Lap 0"]


def test_key_events_are_listed_with_permalinks(publisher, live_feed):
    services.create_entry(feed=live_feed, by=publisher, headline="Routine", body="-")
    start = services.create_entry(
        feed=live_feed, by=publisher, headline="Green flag", body="-", key_event=True
    )
    html = Client().get(f"/feeds/{live_feed.slug}/").content.decode()
    keys = html[html.index("data-key-list") : html.index("</ol>")]
    assert f'href="/feeds/{live_feed.slug}/entries/{start.pk}/"' in keys
    assert "Green flag" in keys
    assert "Routine" not in keys


def test_feed_not_yet_started_shows_when_coverage_starts(publisher):
    from datetime import timedelta

    from django.utils import timezone

    start = timezone.now() + timedelta(hours=2)
    services.create_feed(by=publisher, title="Tomorrow", slug="tomorrow", status="live", coverage_start=start)
    html = Client().get("/feeds/tomorrow/").content.decode()
    assert f'Coverage starts <time datetime="{start.isoformat()}"' in html


def test_ended_feed_says_coverage_has_ended(publisher):
    services.create_feed(by=publisher, title="Done", slug="done", status="ended")
    assert "Coverage has ended." in Client().get("/feeds/done/").content.decode()


def test_oldest_first_starts_at_the_first_entry_and_pages_forward(publisher, live_feed, settings):
    settings.LIVEFEED = {**settings.LIVEFEED, "PAGE_SIZE": 3}
    for lap in range(8):
        services.create_entry(feed=live_feed, by=publisher, headline=f"Lap {lap}", body="-")
    client = Client()
    pages: list[list[str]] = []
    url = f"/feeds/{live_feed.slug}/?order=oldest"
    while url:
        html = client.get(url).content.decode()
        pages.append(re.findall(r'entry-headline">(Lap \d)<', html))
        assert ("Earlier entries: back to the start" in html) == (len(pages) > 1)
        newer = re.search(r'href="([^"]+)" rel="next"', html)
        url = unescape(newer.group(1)) if newer else None
    assert pages == [["Lap 0", "Lap 1", "Lap 2"], ["Lap 3", "Lap 4", "Lap 5"], ["Lap 6", "Lap 7"]]


def test_a_cursor_says_the_order_even_against_the_remembered_one(publisher, live_feed, settings):
    settings.LIVEFEED = {**settings.LIVEFEED, "PAGE_SIZE": 2}
    for lap in range(5):
        services.create_entry(feed=live_feed, by=publisher, headline=f"Lap {lap}", body="-")
    client = Client()
    first = client.get(f"/feeds/{live_feed.slug}/?order=oldest").content.decode()
    after = re.search(r"after=([^\"&]+)", first).group(1)
    client.cookies["livefeed_order"] = "newest"
    html = client.get(f"/feeds/{live_feed.slug}/?after={after}").content.decode()
    assert re.findall(r'entry-headline">(Lap \d)<', html) == ["Lap 2", "Lap 3"]
    assert 'data-order="oldest"' in html


def test_pinned_entry_heads_the_first_page_in_either_order(publisher, live_feed):
    services.create_entry(feed=live_feed, by=publisher, headline="Read this first", body="-", pinned=True)
    for lap in range(2):
        services.create_entry(feed=live_feed, by=publisher, headline=f"Lap {lap}", body="-")
    for order, laps in (("newest", ["Lap 1", "Lap 0"]), ("oldest", ["Lap 0", "Lap 1"])):
        html = Client().get(f"/feeds/{live_feed.slug}/?order={order}").content.decode()
        body = html[html.index("data-pinned") :]
        assert re.findall(r'entry-headline">([^<]+)<', body) == ["Read this first", *laps]


def test_key_events_follow_the_readers_order(publisher, live_feed):
    for name in ("Green flag", "Caution", "Checkered flag"):
        services.create_entry(feed=live_feed, by=publisher, headline=name, body="-", key_event=True)
    for order, names in (
        ("newest", ["Checkered flag", "Caution", "Green flag"]),
        ("oldest", ["Green flag", "Caution", "Checkered flag"]),
    ):
        html = Client().get(f"/feeds/{live_feed.slug}/?order={order}").content.decode()
        keys = html[html.index("data-key-list") : html.index("</ol>")]
        assert re.findall(r"</time> ([^<]+)</a>", keys) == names


def test_permalink_opens_in_the_readers_order(publisher, live_feed, settings):
    settings.LIVEFEED = {**settings.LIVEFEED, "PAGE_SIZE": 4}
    laps = [
        services.create_entry(feed=live_feed, by=publisher, headline=f"Lap {lap}", body="-")
        for lap in range(20)
    ]
    client = Client()
    client.cookies["livefeed_order"] = "oldest"
    html = client.get(f"/feeds/{live_feed.slug}/entries/{laps[10].pk}/").content.decode()
    assert re.findall(r'entry-headline">(Lap \d+)<', html) == [
        "Lap 8",
        "Lap 9",
        "Lap 10",
        "Lap 11",
        "Lap 12",
        "Lap 13",
    ]
    assert 'data-order="oldest"' in html and "data-detached" not in html and "data-static" not in html
    assert "Earlier entries: back to the start" in html
    assert re.search(r'\?order=oldest&amp;after=[^"]+" rel="next"', html)
