"""Readers' pages, server-rendered so they read well before (or without) any script."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render

from . import selectors
from .models import Feed


def index(request: HttpRequest) -> HttpResponse:
    """Live feeds first, then recent ones."""
    return render(request, "feeds/index.html", {"feeds": selectors.feeds_for_readers()})


def feed_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A feed's live page: newest entries first, older ones behind a cursor link."""
    try:
        feed = selectors.feed_for_readers(slug=slug)
    except Feed.DoesNotExist:
        raise Http404("No such feed.")
    before = request.GET.get("before") or None
    try:
        page = selectors.entries_page(feed=feed, before=before)
    except selectors.InvalidCursor:
        return HttpResponseBadRequest("The link to older entries is not valid.")
    pinned = None if before else selectors.pinned_entry(feed=feed)
    stream = [entry for entry in page.entries if pinned is None or entry.pk != pinned.pk]
    return render(
        request,
        "feeds/feed_detail.html",
        {
            "feed": feed,
            "pinned": pinned,
            "entries": stream,
            "older_cursor": page.older_cursor,
            "is_first_page": before is None,
        },
    )
