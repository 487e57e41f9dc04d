"""Readers' pages, server-rendered so they read well before (or without) any script."""

from __future__ import annotations

from html import unescape
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.html import strip_tags
from django.utils.text import Truncator

from . import links, selectors
from .models import Entry, Feed

ORDER_COOKIE = "livefeed_order"
ORDERS = selectors.ORDERS
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
    """The order the reader chose, and whether to remember it.

    The URL says it first (a shared link, a reload, a page without script), then a cursor (only
    an oldest-first page has an `after` cursor), then the cookie remembered from an earlier choice."""
    asked = request.GET.get("order")
    if asked in ORDERS:
        return asked, True
    if request.GET.get("after"):
        return "oldest", False
    if request.GET.get("before"):
        return "newest", False
    remembered = request.COOKIES.get(ORDER_COOKIE)
    return (remembered if remembered in ORDERS else "newest"), False


def _live_page(
    request: HttpRequest,
    feed: Feed,
    *,
    order: str,
    store_order: bool,
    entries: list[Entry],
    next_cursor: str | None,
    is_first_page: bool,
    detached: bool = False,
    focus: Entry | None = None,
) -> HttpResponse:
    """The live page in the reader's order. `is_first_page`: the page starts where the order does
    (the latest entry, or the first of the coverage); `detached`: a permalink's window whose newest
    entries are not loaded, so live arrivals are counted, not shown."""
    pinned = selectors.pinned_entry(feed=feed) if is_first_page or focus else None
    stream = [entry for entry in entries if pinned is None or entry.pk != pinned.pk]
    context: dict[str, Any] = {
        "feed": feed,
        "pinned": pinned,
        "entries": stream,
        "next_cursor": next_cursor,
        "is_first_page": is_first_page,
        "detached": detached,
        # A newest-first page deep in the feed is a still picture; oldest first, the live end is
        # where the reader pages towards, so every page follows the feed.
        "follows_live": order == "oldest" or is_first_page or detached,
        "order": order,
        "key_events": selectors.key_events(feed=feed, order=order),
        "coverage_pending": bool(feed.coverage_start and feed.coverage_start > timezone.now()),
        "focus": focus,
    }
    if focus is not None:
        context["share"] = _share_card(request, feed, focus)
    with translation.override(feed.language):
        response = render(request, "feeds/feed_detail.html", context)
    if store_order:
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
    """A feed's live page: newest entries first with older ones behind a cursor link, or the story
    from its first entry with newer ones behind one."""
    feed = readable_feed(slug)
    order, store = _reader_order(request)
    cursor = request.GET.get("after" if order == "oldest" else "before") or None
    try:
        if order == "oldest":
            page = selectors.entries_page(feed=feed, after=cursor, order=order, with_removals=True)
        else:
            page = selectors.entries_page(feed=feed, before=cursor, order=order, with_removals=True)
    except selectors.InvalidCursor:
        return HttpResponseBadRequest("The link to more entries is not valid.")
    return _live_page(
        request,
        feed,
        order=order,
        store_order=store,
        entries=page.entries,
        next_cursor=page.newer_cursor if order == "oldest" else page.older_cursor,
        is_first_page=cursor is None,
    )


def entry_detail(request: HttpRequest, slug: str, entry_id: int) -> HttpResponse:
    """An entry's permalink: the live page opened at that entry, however deep it is, in the
    reader's order."""
    feed = readable_feed(slug)
    try:
        entry = selectors.entry_for_readers(feed=feed, entry_id=entry_id)
    except Entry.DoesNotExist:
        raise Http404("No such entry.")
    order, store = _reader_order(request)
    window = selectors.entries_around(feed=feed, entry=entry, order=order, with_removals=True)
    return _live_page(
        request,
        feed,
        order=order,
        store_order=store,
        entries=window.entries,
        next_cursor=window.newer_cursor if order == "oldest" else window.older_cursor,
        is_first_page=not window.has_before,
        detached=order == "newest" and window.has_before,
        focus=entry,
    )
