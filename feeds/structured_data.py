"""schema.org LiveBlogPosting for the live page, so search engines show the feed as live coverage."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.html import strip_tags
from django.utils.safestring import SafeString, mark_safe

from . import events, links
from .models import Entry, Feed
from .syndication import entry_title

UPDATES = 10

# Escape what could end or confuse the surrounding <script> element, whatever the entry says.
_SCRIPT_SAFE = {
    ord("<"): "\\u003C",
    ord(">"): "\\u003E",
    ord("&"): "\\u0026",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def live_blog_posting(request: HttpRequest, feed: Feed, entries: list[Entry]) -> dict[str, Any]:
    page_url = links.absolute(request, links.feed_path(feed))
    publisher: dict[str, Any] = {"@type": "Organization", "name": settings.LIVEFEED["PUBLISHER_NAME"]}
    if settings.LIVEFEED["PUBLISHER_LOGO"]:
        publisher["logo"] = {"@type": "ImageObject", "url": settings.LIVEFEED["PUBLISHER_LOGO"]}
    newest = entries[0] if entries else None
    return {
        "@context": "https://schema.org",
        "@type": "LiveBlogPosting",
        "@id": page_url,
        "url": page_url,
        "mainEntityOfPage": page_url,
        "headline": feed.title,
        "description": feed.summary or feed.title,
        "inLanguage": feed.language,
        "datePublished": events.timestamp(feed.coverage_start or feed.created_at),
        "dateModified": events.timestamp(newest.updated_at if newest else feed.updated_at),
        "coverageStartTime": events.timestamp(feed.coverage_start),
        "coverageEndTime": events.timestamp(feed.coverage_end),
        "publisher": publisher,
        "liveBlogUpdate": [
            {
                "@type": "BlogPosting",
                "headline": entry_title(entry),
                "datePublished": events.timestamp(entry.published_at),
                "dateModified": events.timestamp(entry.updated_at),
                "articleBody": strip_tags(entry.html).strip(),
                "url": f"{page_url}#entry-{entry.pk}",
                "author": {"@type": "Person", "name": events.author_name(entry)},
            }
            for entry in entries[:UPDATES]
        ],
    }


def json_ld_script(data: dict[str, Any]) -> SafeString:
    """A <script type="application/ld+json"> element no entry text can break out of."""
    text = json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False).translate(
        _SCRIPT_SAFE
    )
    return mark_safe(f'<script type="application/ld+json">{text}</script>')
