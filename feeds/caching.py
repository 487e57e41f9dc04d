"""HTTP caching for what thousands of readers open at the same moment.

Every public representation of a feed changes exactly when its `seq` does, so the feed's `seq`
makes a strong validator: a revalidation costs one indexed query and answers 304. A short
max-age with `stale-while-revalidate` lets a CDN absorb a crowd while readers' sockets carry
what changed since.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.handlers.exception import response_for_exception
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers, patch_cache_control, patch_vary_headers
from django.views.decorators.http import condition

from .models import Entry, Feed


def _feed(request: HttpRequest, slug: str) -> Feed | None:
    """The feed's validators, read once per request (the ETag and Last-Modified both need them)."""
    cached = getattr(request, "_livefeed_validators", None)
    if cached is None or cached[0] != slug:
        feed = Feed.objects.visible_to_readers().filter(slug=slug).only("pk", "seq", "updated_at").first()
        cached = request._livefeed_validators = (slug, feed)
    return cached[1]


def _variant(request: HttpRequest, cookies: tuple[str, ...]) -> str:
    """What besides the feed shapes the answer: the path and query, and the named cookies."""
    parts = [request.get_full_path(), *(request.COOKIES.get(name, "") for name in cookies)]
    return f"{zlib.crc32(chr(0).join(parts).encode()):x}"


def feed_last_modified(request: HttpRequest, slug: str, **kwargs: Any) -> datetime | None:
    """When a reader-visible change last happened to the feed or one of its entries."""
    feed = _feed(request, slug)
    if feed is None:
        return None
    latest = Entry.objects.filter(feed=feed, seq__isnull=False).aggregate(latest=Max("updated_at"))["latest"]
    return max(filter(None, [feed.updated_at, latest]))


def public_cache(
    view: Callable[..., HttpResponse], *, cookies: tuple[str, ...] = ()
) -> Callable[..., HttpResponse]:
    """Cache-Control for public, live representations of a feed (which may vary by `cookies`)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Http404 as exc:
            # Rendered here, as Django would, so the 404 can be marked uncacheable too.
            response = response_for_exception(request, exc)
        if request.method not in ("GET", "HEAD"):
            return response
        if cookies:
            patch_vary_headers(response, ["Cookie"])
        if response.cookies:
            # An answer that sets a cookie belongs to one reader only.
            patch_cache_control(response, private=True, no_cache=True)
        elif response.status_code in (200, 304):
            patch_cache_control(
                response,
                public=True,
                max_age=settings.LIVEFEED["CACHE_MAX_AGE"],
                stale_while_revalidate=settings.LIVEFEED["CACHE_STALE_WHILE_REVALIDATE"],
            )
        else:
            # A draft feed answers 404 like an unknown one; neither may linger in a cache.
            add_never_cache_headers(response)
        patch_vary_headers(response, ["Accept-Encoding"])
        return response

    return wrapper


def cached_feed_view(
    view: Callable[..., HttpResponse], *, cookies: tuple[str, ...] = ()
) -> Callable[..., HttpResponse]:
    """Conditional GET (ETag, Last-Modified, 304) plus public caching, for a view taking `slug`.

    `cookies` names the cookies the view reads (a reader's remembered order, say): they take part
    in the ETag and the answer varies on them.
    """

    def etag(request: HttpRequest, slug: str, **kwargs: Any) -> str | None:
        feed = _feed(request, slug)
        if feed is None:
            return None
        return f"{feed.pk}.{feed.seq}.{_variant(request, cookies)}"

    conditional = condition(etag_func=etag, last_modified_func=feed_last_modified)(view)
    return public_cache(conditional, cookies=cookies)
