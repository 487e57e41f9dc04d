"""`{% feed_head feed entries %}`: what a feed page tells crawlers, feed readers and CMSs about itself."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse

from .. import links
from ..structured_data import json_ld_script, live_blog_posting

register = template.Library()


@register.inclusion_tag("feeds/_feed_head.html", takes_context=True)
def feed_head(context: dict[str, Any], feed: Any, entries: list[Any]) -> dict[str, Any]:
    request = context["request"]
    page_url = links.absolute(request, links.feed_path(feed))
    oembed = reverse("oembed")
    return {
        "feed": feed,
        "page_url": page_url,
        "atom_url": reverse("feeds:atom", kwargs={"slug": feed.slug}),
        "rss_url": reverse("feeds:rss", kwargs={"slug": feed.slug}),
        "json_feed_url": reverse("feeds:json-feed", kwargs={"slug": feed.slug}),
        "oembed_json_url": f"{oembed}?{urlencode({'url': page_url, 'format': 'json'})}",
        "oembed_xml_url": f"{oembed}?{urlencode({'url': page_url, 'format': 'xml'})}",
        "card": {
            "type": "website",
            "title": feed.title,
            "description": feed.summary or feed.title,
            "url": page_url,
        },
        "json_ld": json_ld_script(live_blog_posting(request, feed, list(entries))),
    }
