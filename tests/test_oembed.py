"""The oEmbed provider, checked against the spec's required fields (https://oembed.com)."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest
from django.test import Client

from feeds import services

pytestmark = pytest.mark.django_db

REQUIRED_RICH = {"version", "type", "html", "width", "height"}


def oembed(**params):
    return Client().get("/oembed/", params)


def test_feed_url_gives_a_rich_iframe_of_the_widget(live_feed):
    response = oembed(url=f"http://testserver/feeds/{live_feed.slug}/")
    data = response.json()
    assert response.status_code == 200 and REQUIRED_RICH <= set(data)
    assert data["version"] == "1.0" and data["type"] == "rich"
    assert f'src="http://testserver/feeds/{live_feed.slug}/embed/"' in data["html"]
    assert data["title"] == live_feed.title


def test_maxwidth_and_maxheight_are_respected(live_feed):
    data = oembed(url=f"http://testserver/feeds/{live_feed.slug}/", maxwidth=320, maxheight=240).json()
    assert (data["width"], data["height"]) == (320, 240)
    assert 'width="320" height="240"' in data["html"]


def test_entry_url_embeds_the_widget_at_that_entry(publisher, live_feed):
    entry = services.create_entry(feed=live_feed, by=publisher, headline="Stage 1", body="-")
    data = oembed(url=f"http://testserver/feeds/{live_feed.slug}/entries/{entry.pk}/").json()
    assert f"/feeds/{live_feed.slug}/embed/#entry-{entry.pk}" in data["html"]


def test_xml_format(live_feed):
    response = oembed(url=f"http://testserver/feeds/{live_feed.slug}/", format="xml")
    root = ElementTree.fromstring(response.content)
    assert response["Content-Type"].startswith("text/xml")
    assert root.tag == "oembed" and root.findtext("type") == "rich"
    assert REQUIRED_RICH <= {child.tag for child in root}


def test_unknown_format_is_501(live_feed):
    assert oembed(url=f"http://testserver/feeds/{live_feed.slug}/", format="yaml").status_code == 501


@pytest.mark.parametrize(
    "url",
    [
        "http://testserver/feeds/secret/",
        "http://testserver/feeds/nothing-here/",
        "http://elsewhere.example/feeds/night-race/",
        "http://testserver/admin/",
        "javascript:alert(1)",
    ],
)
def test_anything_but_a_published_feed_or_entry_is_404(publisher, live_feed, url):
    services.create_feed(by=publisher, title="Secret", slug="secret")
    assert oembed(url=url).status_code == 404


def test_draft_entry_is_404(publisher, live_feed):
    draft = services.create_entry(feed=live_feed, by=publisher, body="x", status="draft")
    assert oembed(url=f"http://testserver/feeds/{live_feed.slug}/entries/{draft.pk}/").status_code == 404


def test_bad_maxwidth_is_400(live_feed):
    assert oembed(url=f"http://testserver/feeds/{live_feed.slug}/", maxwidth="wide").status_code == 400


def test_feed_page_has_oembed_discovery_links(live_feed):
    html = Client().get(f"/feeds/{live_feed.slug}/").content.decode()
    assert 'type="application/json+oembed"' in html and 'type="text/xml+oembed"' in html
    assert "/oembed/?url=http%3A%2F%2Ftestserver%2Ffeeds%2Fnight-race%2F&amp;format=json" in html
