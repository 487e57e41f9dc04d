"""The embeddable widget: `/feeds/<slug>/embed/` for an iframe, and the `/embed.js` loader that
other sites paste. Only these views may be framed by other sites."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.views.decorators.clickjacking import xframe_options_exempt

from . import selectors
from .caching import cached_feed_view
from .selectors import ORDERS
from .views import readable_feed

THEMES = ("auto", "light", "dark")
MAX_ENTRIES = 50


def _choice(request: HttpRequest, name: str, choices: tuple[str, ...]) -> str:
    value = request.GET.get(name, choices[0])
    return value if value in choices else choices[0]


def _entries_limit(request: HttpRequest) -> int:
    try:
        return min(max(int(request.GET.get("entries", "")), 1), MAX_ENTRIES)
    except ValueError:
        return settings.LIVEFEED["PAGE_SIZE"]


def frame_ancestors() -> list[str]:
    return settings.LIVEFEED["EMBED_ORIGINS"] or ["*"]


@xframe_options_exempt
@cached_feed_view
def widget(request: HttpRequest, slug: str) -> HttpResponse:
    """The live feed with minimal chrome, for an iframe on any (allowed) site."""
    feed = readable_feed(slug)
    order = _choice(request, "order", ORDERS)
    # Oldest first, the widget tells the story from its first entry and pages forward to the live end.
    page = selectors.entries_page(feed=feed, order=order, limit=_entries_limit(request), with_removals=True)
    pinned = selectors.pinned_entry(feed=feed)
    stream = [entry for entry in page.entries if pinned is None or entry.pk != pinned.pk]
    context = {
        "feed": feed,
        "pinned": pinned,
        "entries": stream,
        "next_cursor": page.newer_cursor,
        "theme": _choice(request, "theme", THEMES),
        "order": order,
    }
    with translation.override(feed.language):
        response = render(request, "feeds/embed.html", context)
    # Same policy as every page, except who may frame it.
    response._csp_replace = {"frame-ancestors": frame_ancestors()}
    return response


@cache
def _loader_source() -> bytes:
    return Path(finders.find("feeds/embed.js")).read_bytes()


def reset() -> None:
    """Read `embed.js` again on its next request (tests, or a process whose static files changed)."""
    _loader_source.cache_clear()


def loader(request: HttpRequest) -> HttpResponse:
    """`/embed.js`, at a stable URL: turns `<div data-livefeed="…/feeds/SLUG/">` into widgets."""
    response = HttpResponse(_loader_source(), content_type="text/javascript; charset=utf-8")
    patch_cache_control(response, public=True, max_age=3600, stale_while_revalidate=86400)
    response["Access-Control-Allow-Origin"] = "*"
    return response
