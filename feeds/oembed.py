"""oEmbed provider (https://oembed.com): a feed or entry URL becomes an iframe of the widget, so a
CMS that speaks oEmbed embeds a live feed from a pasted link."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.html import format_html

from . import links, selectors
from .caching import public_cache
from .models import Entry, Feed

DEFAULT_WIDTH = 600
DEFAULT_HEIGHT = 800
EMBEDDABLE_VIEWS = {"feeds:detail", "feeds:entry"}


class NotEmbeddable(Exception):
    """The URL is not a published feed or entry of this site."""


def resolve_embeddable(request: HttpRequest, url: str) -> tuple[Feed, Entry | None]:
    """The published feed (and entry) a URL of this site points to."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != request.get_host().lower():
        raise NotEmbeddable
    try:
        match = resolve(parts.path)
    except Resolver404:
        raise NotEmbeddable
    if match.view_name not in EMBEDDABLE_VIEWS:
        raise NotEmbeddable
    try:
        feed = selectors.feed_for_readers(slug=match.kwargs["slug"])
        entry_id = match.kwargs.get("entry_id")
        entry = selectors.entry_for_readers(feed=feed, entry_id=entry_id) if entry_id else None
    except (Feed.DoesNotExist, Entry.DoesNotExist):
        raise NotEmbeddable
    return feed, entry


def _dimension(request: HttpRequest, name: str, default: int) -> int:
    raw = request.GET.get(name)
    if not raw:
        return default
    value = int(raw)  # ValueError is answered with a 400 by the view
    if value < 1:
        raise ValueError(name)
    return min(default, max(value, 1))


def oembed_response(
    request: HttpRequest, feed: Feed, entry: Entry | None, width: int, height: int
) -> dict[str, Any]:
    src = links.absolute(request, links.embed_path(feed))
    if entry is not None:
        src += f"#entry-{entry.pk}"
    title = entry.headline if entry is not None and entry.headline else feed.title
    html = format_html(
        '<iframe src="{}" width="{}" height="{}" title="{}" style="border:0;max-width:100%" '
        'loading="lazy" referrerpolicy="strict-origin-when-cross-origin"></iframe>',
        src,
        width,
        height,
        title,
    )
    return {
        "version": "1.0",
        "type": "rich",
        "title": title,
        "provider_name": settings.LIVEFEED["PUBLISHER_NAME"],
        "provider_url": links.absolute(request, "/"),
        "html": str(html),
        "width": width,
        "height": height,
        "cache_age": settings.LIVEFEED["CACHE_MAX_AGE"],
    }


def to_xml(data: dict[str, Any]) -> str:
    fields = "".join(f"<{name}>{escape(str(value))}</{name}>" for name, value in data.items())
    return f'<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n<oembed>{fields}</oembed>'


@public_cache
def oembed(request: HttpRequest) -> HttpResponse:
    """`/oembed/?url=…&format=json|xml&maxwidth=…&maxheight=…`."""
    response_format = request.GET.get("format", "json")
    if response_format not in ("json", "xml"):
        return HttpResponse("Unknown format: use json or xml.", status=501, content_type="text/plain")
    url = request.GET.get("url", "")
    if not url:
        return HttpResponse("Give the URL of a feed: ?url=…", status=400, content_type="text/plain")
    try:
        width = _dimension(request, "maxwidth", DEFAULT_WIDTH)
        height = _dimension(request, "maxheight", DEFAULT_HEIGHT)
    except ValueError:
        return HttpResponse(
            "maxwidth and maxheight must be positive whole numbers.", status=400, content_type="text/plain"
        )
    try:
        feed, entry = resolve_embeddable(request, url)
    except NotEmbeddable:
        return HttpResponse(
            "Not a published feed or entry of this site.", status=404, content_type="text/plain"
        )
    data = oembed_response(request, feed, entry, width, height)
    if response_format == "xml":
        return HttpResponse(to_xml(data), content_type="text/xml; charset=utf-8")
    return JsonResponse(data)
