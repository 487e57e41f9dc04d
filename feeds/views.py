"""Readers' pages, server-rendered so they read well before (or without) any script."""

from __future__ import annotations

from html import unescape
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.text import Truncator

from . import links, selectors
from .models import Entry, Feed

ORDER_COOKIE = "livefeed_order"
ORDERS = ("newest", "oldest")
ORDER_COOKIE_MAX_AGE = 365 * 24 * 3600


def index(request: HttpRequest) -> HttpResponse:
    """Live feeds first, then recent ones."""
    return render(request, "feeds/index.html", {"feeds": selectors.feeds_for_readers()})


def readable_feed(slug: str) -> Feed:
    """The feed a reader's page asks for, or a 404 that looks the same for drafts and unknown slugs."""
    try:
        return selectors.feed_for_readers(slug=slug)
    except Feed.DoesNotExist:
        raise Http404("No such feed.")


def _reader_order(request: HttpRequest) -> tuple[str, bool]:
    """The order the reader chose (a link without script, a cookie remembered), and whether to store it."""
    asked = request.GET.get("order")
    if asked in ORDERS:
        return asked, True
    remembered = request.COOKIES.get(ORDER_COOKIE)
    return (remembered if remembered in ORDERS else "newest"), False


def _live_page(
    request: HttpRequest,
    feed: Feed,
    *,
    entries: list[Entry],
    older_cursor: str | None,
    is_first_page: bool,
    has_newer: bool = False,
    focus: Entry | None = None,
) -> HttpResponse:
    order, store = _reader_order(request)
    pinned = selectors.pinned_entry(feed=feed) if is_first_page or focus else None
    stream = [entry for entry in entries if pinned is None or entry.pk != pinned.pk]
    if order == "oldest":
        stream.reverse()
    context: dict[str, Any] = {
        "feed": feed,
        "pinned": pinned,
        "entries": stream,
        "older_cursor": older_cursor,
        "is_first_page": is_first_page,
        "has_newer": has_newer,
        "order": order,
        "key_events": selectors.key_events(feed=feed),
        "coverage_pending": bool(feed.coverage_start and feed.coverage_start > timezone.now()),
        "focus": focus,
    }
    if focus is not None:
        context["share"] = _share_card(request, feed, focus)
    response = render(request, "feeds/feed_detail.html", context)
    if store:
        response.set_cookie(ORDER_COOKIE, order, max_age=ORDER_COOKIE_MAX_AGE, samesite="Lax")
    return response


def _share_card(request: HttpRequest, feed: Feed, entry: Entry) -> dict[str, str]:
    """What a shared permalink previews as (Open Graph and Twitter cards)."""
    text = " ".join(unescape(strip_tags(entry.html)).split())
    return {
        "type": "article",
        "title": entry.headline or Truncator(text).chars(80) or feed.title,
        "description": Truncator(text).chars(200) or feed.summary or feed.title,
        "url": request.build_absolute_uri(links.entry_path(entry)),
        "site": feed.title,
        "published": entry.published_at.isoformat(),
    }


def feed_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A feed's live page: newest entries first, older ones behind a cursor link."""
    feed = readable_feed(slug)
    before = request.GET.get("before") or None
    try:
        page = selectors.entries_page(feed=feed, before=before)
    except selectors.InvalidCursor:
        return HttpResponseBadRequest("The link to older entries is not valid.")
    return _live_page(request, feed, entries=page.entries, older_cursor=page.older_cursor, is_first_page=before is None)


def entry_detail(request: HttpRequest, slug: str, entry_id: int) -> HttpResponse:
    """An entry's permalink: the live page opened at that entry, however deep it is."""
    feed = readable_feed(slug)
    try:
        entry = selectors.entry_for_readers(feed=feed, entry_id=entry_id)
    except Entry.DoesNotExist:
        raise Http404("No such entry.")
    window = selectors.entries_around(feed=feed, entry=entry)
    return _live_page(
        request,
        feed,
        entries=window.entries,
        older_cursor=window.older_cursor,
        is_first_page=not window.has_newer,
        has_newer=window.has_newer,
        focus=entry,
    )
