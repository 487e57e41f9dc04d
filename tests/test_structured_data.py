"""schema.org LiveBlogPosting JSON-LD and social cards on the live page."""

from __future__ import annotations

import extruct
import pytest
from django.test import Client

from feeds import services

pytestmark = pytest.mark.django_db


def json_ld(html: str) -> dict:
    [document] = extruct.extract(html, syntaxes=["json-ld"], uniform=True)["json-ld"]
    return document


def test_live_page_carries_a_live_blog_posting(publisher, live_feed, settings):
    settings.LIVEFEED = {
        **settings.LIVEFEED,
        "PUBLISHER_NAME": "Harbor Gazette",
        "PUBLISHER_LOGO": "https://x.example/logo.png",
    }
    entry = services.create_entry(
        feed=live_feed, by=publisher, headline="Green flag", body="We are *racing*."
    )
    document = json_ld(Client().get(f"/feeds/{live_feed.slug}/").content.decode())
    assert document["@type"] == "LiveBlogPosting"
    assert document["headline"] == live_feed.title
    for field in ("description", "datePublished", "dateModified", "coverageStartTime", "mainEntityOfPage"):
        assert document[field]
    assert document["publisher"] == {
        "@type": "Organization",
        "name": "Harbor Gazette",
        "logo": {"@type": "ImageObject", "url": "https://x.example/logo.png"},
    }
    [update] = document["liveBlogUpdate"]
    assert update["@type"] == "BlogPosting" and update["headline"] == "Green flag"
    assert update["articleBody"] == "We are racing."
    assert update["url"] == f"http://testserver/feeds/{live_feed.slug}/#entry-{entry.pk}"
    assert update["datePublished"]


def test_ended_feed_has_a_coverage_end_time(publisher, live_feed):
    services.update_feed(feed=live_feed, by=publisher, status="ended")
    document = json_ld(Client().get(f"/feeds/{live_feed.slug}/").content.decode())
    assert document["coverageEndTime"]


def test_entry_text_cannot_break_out_of_the_json_ld_script(publisher, live_feed):
    hostile = '</script><script>alert(1)</script> & <!-- "quotes" \u2028'
    services.create_entry(feed=live_feed, by=publisher, headline=hostile, body=hostile)
    html = Client().get(f"/feeds/{live_feed.slug}/").content.decode()
    head = html[: html.index("</head>")]
    assert "<script>alert(1)" not in head
    assert head.count("<script") == head.count("</script>") == 1
    document = json_ld(html)
    assert document["liveBlogUpdate"][0]["headline"] == hostile


def test_feed_page_has_open_graph_and_twitter_cards(live_feed):
    html = Client().get(f"/feeds/{live_feed.slug}/").content.decode()
    assert f'<meta property="og:title" content="{live_feed.title}">' in html
    assert f'<meta property="og:url" content="http://testserver/feeds/{live_feed.slug}/">' in html
    assert '<meta name="twitter:card" content="summary">' in html
