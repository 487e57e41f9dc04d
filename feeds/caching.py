"""HTTP caching for what thousands of readers open at the same moment.

Every public representation of a feed changes exactly when its `seq` does (or when a new release
renders it differently), so `seq` and the release make a strong validator: a revalidation costs
one indexed query in Django, and none once this process keeps the answer (`feeds.answers`). A
short max-age with `stale-while-revalidate` lets a CDN absorb a crowd while readers' sockets carry
what changed since.

`Last-Modified` has a one-second resolution, so it is only sent once the second of the last change
is over, and it names the end of that second: a copy dated within the second (a second change, or
a cache revalidating with its copy's `Date`, as RFC 9110 lets it) could predate the change, and
must not pass as unchanged to a client revalidating with `If-Modified-Since` alone. The ETag
always changes.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache, wraps
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.handlers.exception import response_for_exception
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_cache_control, patch_vary_headers
from django.utils.http import parse_http_date_safe
from django.views.decorators.http import condition

from .answers import Validators, mark_answer
from .models import Entry, Feed

# What a release renders with: a change to any of these changes every ETag.
RELEASE_SOURCES = ("feeds", "livefeed", "templates")
RELEASE_SUFFIXES = {".py", ".html", ".txt", ".xml", ".json"}


@cache
def release() -> str:
    """A short id of the code, templates and static files this process renders with.

    `LIVEFEED_RELEASE` (a build or commit id) when set; otherwise a digest of the sources and of
    the collected static files' manifest, the same in every process of one release.
    """
    configured = os.environ.get("LIVEFEED_RELEASE", "").strip()
    if configured:
        return zlib.crc32(configured.encode()).to_bytes(4).hex()
    digest = hashlib.sha256()
    base = Path(settings.BASE_DIR)
    paths = [
        path
        for folder in RELEASE_SOURCES
        for path in (base / folder).rglob("*")
        if path.suffix in RELEASE_SUFFIXES and path.is_file()
    ]
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.is_file():
        paths.append(manifest)
    for path in sorted(paths):
        digest.update(str(path.relative_to(base) if path.is_relative_to(base) else path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


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


def _last_change(request: HttpRequest, slug: str) -> datetime | None:
    """When a reader-visible change last happened to the feed or one of its entries."""
    cached = getattr(request, "_livefeed_last_change", None)
    if cached is None or cached[0] != slug:
        feed = _feed(request, slug)
        latest = None
        if feed is not None:
            latest = Entry.objects.filter(feed=feed, seq__isnull=False).aggregate(latest=Max("updated_at"))[
                "latest"
            ]
            latest = max(filter(None, [feed.updated_at, latest]))
        cached = request._livefeed_last_change = (slug, latest)
    return cached[1]


def feed_last_modified(request: HttpRequest, slug: str, **kwargs: Any) -> datetime | None:
    """`Last-Modified`: the end of the last change's second, once it is over (else none: see the
    module's note)."""
    latest = _last_change(request, slug)
    if latest is None:
        return None
    second = int(latest.timestamp())
    if second >= int(timezone.now().timestamp()):
        return None
    return datetime.fromtimestamp(second + 1, tz=UTC)


def carries_cookie(request: HttpRequest, cookies: tuple[str, ...]) -> bool:
    """Whether the request carries one of the cookies that shape the answer."""
    return any(name in request.COOKIES for name in cookies)


def public_cache(
    view: Callable[..., HttpResponse], *, cookies: tuple[str, ...] = ()
) -> Callable[..., HttpResponse]:
    """Cache-Control for public, live representations of a feed (which may vary by `cookies`).

    Without those cookies the answer is the same for everyone: public, and no `Vary: Cookie`, so a
    CDN keeps one copy. With one, it is that reader's own (private, varying on Cookie).
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Http404 as exc:
            # Rendered here, as Django would, so the 404 can be marked uncacheable too.
            response = response_for_exception(request, exc)
        if request.method not in ("GET", "HEAD"):
            return response
        personal = carries_cookie(request, cookies)
        if personal:
            patch_vary_headers(response, ["Cookie"])
        if response.cookies:
            # An answer that sets a cookie belongs to one reader only.
            patch_cache_control(response, private=True, no_cache=True)
        elif response.status_code in (200, 304):
            patch_cache_control(
                response,
                max_age=settings.LIVEFEED["CACHE_MAX_AGE"],
                stale_while_revalidate=settings.LIVEFEED["CACHE_STALE_WHILE_REVALIDATE"],
                **({"private": True} if personal else {"public": True}),
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
    in the ETag and the answer varies on them. A 200 is marked as the feed's answer at its `seq`,
    which this process may then give again without rendering (`feeds.answers`).
    """

    def etag(request: HttpRequest, slug: str, **kwargs: Any) -> str | None:
        feed = _feed(request, slug)
        if feed is None:
            return None
        return f'"{feed.pk}.{feed.seq}.{release()}.{_variant(request, cookies)}"'

    conditional = public_cache(
        condition(etag_func=etag, last_modified_func=feed_last_modified)(view), cookies=cookies
    )

    @wraps(view)
    def wrapper(request: HttpRequest, slug: str, **kwargs: Any) -> HttpResponse:
        response = conditional(request, slug=slug, **kwargs)
        feed = _feed(request, slug)
        if feed is not None and response.status_code == 200 and not response.cookies:
            sent = parse_http_date_safe(response.get("Last-Modified", ""))
            last_modified = datetime.fromtimestamp(sent, tz=UTC) if sent is not None else None
            mark_answer(request, Validators(slug, feed.seq, last_modified))
        return response

    return wrapper
