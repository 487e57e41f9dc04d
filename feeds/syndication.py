"""A feed's entries for feed readers: Atom and RSS through Django's syndication framework, and
JSON Feed 1.1. Only what readers may see, newest first."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed as SyndicationFeed
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import format_html, strip_tags
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from . import events, hub, links, selectors
from .models import Entry, Feed
from .views import readable_feed

ITEMS = 50


def latest_entries(feed: Feed) -> list[Entry]:
    return selectors.entries_page(feed=feed, limit=ITEMS).entries


def entry_content(entry: Entry) -> str:
    """The entry's HTML, followed by each visible correction: its time (the event's), the note and
    the earlier wording struck through, so a feed reader shows it as an update, not a silent edit."""
    zone = zoneinfo.ZoneInfo(entry.feed.time_zone)
    notes = [
        format_html(
            '<p class="correction"><strong>Corrected {} — {}</strong></p>{}',
            item.at.astimezone(zone).strftime("%H:%M %Z"),
            item.note,
            format_html(
                "<p>Earlier wording:</p><del>{}{}</del>",
                item.headline and format_html("<p>{}</p>", item.headline),
                mark_safe(item.html),
            ),
        )
        for item in entry.correction_list
    ]
    return entry.html + "".join(notes)


def entry_updated(entry: Entry) -> datetime | None:
    """When readers were last told the entry changed: its latest correction, else its publication
    (a plain edit, such as a typo fix, is not announced as an update)."""
    corrections = entry.correction_list
    return corrections[-1].at if corrections else entry.published_at


def entry_title(entry: Entry) -> str:
    """The headline, or the start of the text for entries without one."""
    return entry.headline or Truncator(strip_tags(entry.html)).words(12) or f"Update {entry.pk}"


class HubRss(Rss201rev2Feed):
    """RSS naming its WebSub hub, as an atom:link beside the self link."""

    def add_root_elements(self, handler: Any) -> None:
        super().add_root_elements(handler)
        if hub.hub_url():
            handler.addQuickElement("atom:link", None, {"rel": "hub", "href": hub.hub_url()})


class HubAtom(Atom1Feed):
    """Atom naming its WebSub hub, beside the self link."""

    def add_root_elements(self, handler: Any) -> None:
        super().add_root_elements(handler)
        if hub.hub_url():
            handler.addQuickElement("link", "", {"rel": "hub", "href": hub.hub_url()})


class EntriesRss(SyndicationFeed):
    feed_type = HubRss
    route = "feeds:rss"

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return hub.advertise(request, super().__call__(request, *args, **kwargs))

    def feed_url(self, feed: Feed) -> str | None:
        """On the configured site when there is one, so the self link is the topic the hub knows."""
        return hub.topic_url(self.route, feed.slug) if settings.LIVEFEED["SITE_URL"] else None

    def get_object(self, request: HttpRequest, slug: str) -> Feed:
        return readable_feed(slug)

    def get_feed(self, obj: Feed, request: HttpRequest) -> Any:
        """The document in the feed's language: its <language> (RSS) and xml:lang (Atom) say so."""
        with translation.override(obj.language):
            return super().get_feed(obj, request)

    def title(self, feed: Feed) -> str:
        return feed.title

    def link(self, feed: Feed) -> str:
        return links.feed_path(feed)

    def description(self, feed: Feed) -> str:
        return feed.summary or feed.title

    def items(self, feed: Feed) -> list[Entry]:
        return latest_entries(feed)

    def item_title(self, entry: Entry) -> str:
        return entry_title(entry)

    def item_description(self, entry: Entry) -> str:
        return entry_content(entry)

    def item_link(self, entry: Entry) -> str:
        return links.entry_path(entry)

    def item_guid(self, entry: Entry) -> str:
        return links.entry_path(entry)

    def item_pubdate(self, entry: Entry) -> datetime | None:
        return entry.published_at

    def item_updateddate(self, entry: Entry) -> datetime | None:
        return entry_updated(entry)

    def item_author_name(self, entry: Entry) -> str:
        return events.author_name(entry)


class EntriesAtom(EntriesRss):
    feed_type = HubAtom
    route = "feeds:atom"
    subtitle = EntriesRss.description


def json_feed(request: HttpRequest, slug: str) -> HttpResponse:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""
    feed = readable_feed(slug)
    items: list[dict[str, Any]] = [
        {
            "id": links.absolute(request, links.entry_path(entry)),
            "url": links.absolute(request, links.entry_path(entry)),
            "title": entry_title(entry),
            "content_html": entry_content(entry),
            "date_published": events.timestamp(entry.published_at),
            "date_modified": events.timestamp(entry_updated(entry)),
            "authors": [{"name": events.author_name(entry)}],
        }
        for entry in latest_entries(feed)
    ]
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.title,
        "home_page_url": links.absolute(request, links.feed_path(feed)),
        "feed_url": hub.self_url(request),
        "description": feed.summary,
        "authors": [{"name": settings.LIVEFEED["PUBLISHER_NAME"]}],
        "language": feed.language,
        "items": items,
    }
    if hub.hub_url():
        document["hubs"] = [{"type": "WebSub", "url": hub.hub_url()}]
    response = JsonResponse(
        document, content_type="application/feed+json", json_dumps_params={"ensure_ascii": False}
    )
    return hub.advertise(request, response)
