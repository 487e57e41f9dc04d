"""The WebSub hub (https://www.w3.org/TR/websub/) the syndication feeds name.

With `LIVEFEED_WEBSUB_HUB` set, the Atom, RSS and JSON feeds send `Link: <hub>; rel="hub"` and
`Link: <self>; rel="self"` and name the hub in the document; the webhooks app pings the hub when a
feed changes, with the same topic URLs.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

SYNDICATION_ROUTES = ("feeds:atom", "feeds:rss", "feeds:json-feed")


def hub_url() -> str:
    """The hub's URL, or "" when WebSub is off."""
    return settings.LIVEFEED["WEBSUB_HUB"]


def topic_url(route: str, feed_slug: str) -> str:
    """One syndication URL of the feed on the configured site, as the hub knows it."""
    return settings.LIVEFEED["SITE_URL"] + reverse(route, kwargs={"slug": feed_slug})


def topic_urls(feed_slug: str) -> list[str]:
    """The feed's syndication URLs as the hub knows them (the `rel="self"` of each)."""
    return [topic_url(route, feed_slug) for route in SYNDICATION_ROUTES]


def self_url(request: HttpRequest) -> str:
    """This feed document's own URL: on the configured site, so it matches the pinged topic."""
    site = settings.LIVEFEED["SITE_URL"]
    return site + request.path if site else request.build_absolute_uri(request.path)


def advertise(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Add the hub and self Link headers to a syndication feed's answer."""
    hub = hub_url()
    if hub and response.status_code in (200, 304):
        response["Link"] = f'<{hub}>; rel="hub", <{self_url(request)}>; rel="self"'
    return response
