"""Answers a feed's public URLs gave at its current `seq`, kept by this process and given again
without entering Django.

A feed's live page, widget, read API, events and syndication feeds change only when its `seq`
does. The first request for one of them at a given `seq` runs through Django as usual; its answer
(status, headers, body) is kept under the request's variant (host, scheme, path and query, the
reader's remembered order). Every later request for that variant, and every revalidation of it, is
answered here from memory, in the event loop, with no thread hop, middleware or query: a 200 or,
when the reader's `If-None-Match` (or `If-Modified-Since`) matches, a 304.

An answer is given again only while this process is sure the feed has not changed since: it
watches each feed it keeps answers for on the same hub of readers its WebSocket readers use, so
it hears every change the moment they do, and drops the feed's answers then. Until the watch is
in place (Redis has confirmed the subscription, or the local bus listens) nothing is kept, and
while Redis is away nothing is given again. Only answers Django marked as a feed's public
representation are kept (`mark_answer`), never one that sets a cookie, and never for a request
that carries a session or credentials: drafts, staff views and 404s always go to Django.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .broadcast import hub as hub_module
from .broadcast.local_bus import listen as listen_on_local_bus
from .broadcast.redis_link import redis_channel
from .broadcast.writers import Change

logger = logging.getLogger(__name__)

# Bounds on what one process keeps: the variants of the feeds readers open (orders, themes,
# events cursors) number a few dozen; odd query strings beyond this only evict each other.
MAX_ANSWERS = 512
MAX_ANSWER_BYTES = 2 * 1024 * 1024
# A change lost on its way (a publish that failed, a local-bus datagram dropped) would leave an
# answer stale until the feed's next change; readers' sockets fill such a gap with that change,
# kept answers by being rendered again after this long (one render per variant per period).
MAX_KEPT_SECONDS = 5.0
# How long a request waits for another's rendering of the same variant before rendering its own.
RENDER_WAIT_SECONDS = 5.0
SCOPE_KEY = "livefeed.answer"
# Validators a kept answer is checked against here; a request with any other precondition
# (If-Match, If-Unmodified-Since, If-Range) always goes to Django.
CONDITIONAL_HEADERS = {b"if-none-match", b"if-modified-since"}
OTHER_PRECONDITIONS = {b"if-match", b"if-unmodified-since", b"if-range"}
# Headers a 304 carries over from the answer it stands for (RFC 9110 §15.4.5, as Django keeps them,
# plus the security headers every answer has).
NOT_MODIFIED_DROPS = {b"content-length", b"content-type", b"content-encoding", b"transfer-encoding"}


@dataclass(frozen=True)
class Validators:
    """What Django found the feed at when it rendered an answer: the answer is good while `seq` holds."""

    slug: str
    seq: int
    last_modified: datetime | None


def mark_answer(request: HttpRequest, validators: Validators) -> None:
    """Called by the view wrapper: this response is the feed's public representation at `seq`."""
    scope = getattr(request, "scope", None) or request.META.get("asgi.scope")
    if scope is not None:
        scope[SCOPE_KEY] = validators


@dataclass
class Answer:
    validators: Validators
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes | None
    not_modified_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    kept_at: float = field(default_factory=time.monotonic)


class FeedWatch:
    """This process's ear on one feed: a listener on the hub that only records that it changed."""

    def __init__(self, answers: Answers, slug: str) -> None:
        self.answers = answers
        self.slug = slug
        self.armed_at: int | None = None  # the answers' epoch when the watch started to hold
        self.seq: int | None = None  # the seq the kept answers are at, while nothing changed
        self.kept_at = 0.0  # when the latest of them was kept

    def deliver(self, change: Change) -> None:
        """Called by the hub with every change of the feed, in this process's loop."""
        if self.seq is None or change.seq > self.seq:
            self.answers.forget(self.slug)

    def interrupted(self) -> None:
        """Live delivery had a hole: whatever is kept may be stale."""
        self.armed_at = None
        self.answers.forget(self.slug)


class Answers:
    """The answers kept by this process, by variant, and the watches that keep them true."""

    def __init__(self) -> None:
        self.kept: OrderedDict[tuple[Any, ...], Answer] = OrderedDict()
        self.watches: dict[str, FeedWatch] = {}
        self.starting: set[str] = set()
        # Variants being rendered by one request: the others of the crowd wait for its answer
        # instead of rendering the same page at once.
        self.rendering: dict[tuple[Any, ...], asyncio.Future[bool]] = {}
        # Bumped by every change heard and every watch armed: an answer rendered while it moved
        # may predate a change, so it is not kept.
        self.epoch = 0

    def forget(self, slug: str) -> None:
        self.epoch += 1
        watch = self.watches.get(slug)
        if watch is not None:
            watch.seq = None
        for key in [key for key, answer in self.kept.items() if answer.validators.slug == slug]:
            del self.kept[key]

    def current(self, key: tuple[Any, ...], *, aged: bool = False) -> Answer | None:
        """The kept answer for this variant if the feed has certainly not changed since (with
        `aged`, also one past `MAX_KEPT_SECONDS`, while another request renders it again)."""
        answer = self.kept.get(key)
        if answer is None:
            return None
        watch = self.watches.get(answer.validators.slug)
        if (
            watch is None
            or watch.armed_at is None
            or watch.seq != answer.validators.seq
            or (not aged and time.monotonic() - answer.kept_at > MAX_KEPT_SECONDS)
            or not _link_holds()
        ):
            return None
        return answer

    def known_seq(self, slug: str) -> int | None:
        """The feed's current `seq` if this process is sure of it without asking the database: it
        kept a public answer of the feed at that `seq` within `MAX_KEPT_SECONDS` and has heard no
        change since. None otherwise (and always for a feed readers may not see)."""
        seq = self.watched_seq(slug)
        if seq is None or time.monotonic() - self.watches[slug].kept_at > MAX_KEPT_SECONDS:
            return None
        return seq

    def watched_seq(self, slug: str) -> int | None:
        """The seq this process's kept answers of the feed are at, however old, while it has heard
        no change since and changes reach it; `confirm` can make it sure again."""
        watch = self.watches.get(slug)
        if watch is None or watch.armed_at is None or not _link_holds():
            return None
        return watch.seq

    def confirm(self, slug: str, seq: int, *, since_epoch: int) -> bool:
        """The database, read after `since_epoch`, has the feed at `seq`: if that is still the
        watched seq and nothing was heard meanwhile, `known_seq` gives it for another period."""
        watch = self.watches.get(slug)
        if watch is None or self.epoch != since_epoch or self.watched_seq(slug) != seq:
            return False
        watch.kept_at = time.monotonic()
        return True

    def keep(self, key: tuple[Any, ...], answer: Answer, *, since_epoch: int) -> bool:
        """Keep `answer` if nothing changed and its feed was watched all the while it was rendered."""
        watch = self.watches.get(answer.validators.slug)
        if (
            watch is None
            or watch.armed_at is None
            or watch.armed_at > since_epoch
            or self.epoch != since_epoch
            or len(answer.body) > MAX_ANSWER_BYTES
            or not _link_holds()
        ):
            return False
        if watch.seq is not None and watch.seq != answer.validators.seq:
            self.forget(answer.validators.slug)
            return False
        watch.seq = answer.validators.seq
        watch.kept_at = answer.kept_at
        self.kept[key] = answer
        self.kept.move_to_end(key)
        while len(self.kept) > MAX_ANSWERS:
            self.kept.popitem(last=False)
        return True

    async def watch(self, slug: str) -> None:
        """Start hearing the feed's changes in this process (once); arm the watch when they reach it."""
        watch = self.watches.get(slug)
        if watch is not None:
            if watch.armed_at is None and _subscription_confirmed(slug):
                self.epoch += 1
                watch.armed_at = self.epoch
            return
        if slug in self.starting:
            return
        self.starting.add(slug)
        try:
            watch = FeedWatch(self, slug)
            hub_module.hub.add(slug, watch, asyncio.get_running_loop())
            if settings.REDIS_URL:
                await hub_module.hub.redis_link().join(slug)
            else:
                listen_on_local_bus(hub_module.hub)
            self.watches[slug] = watch
            if _subscription_confirmed(slug):
                self.epoch += 1
                watch.armed_at = self.epoch
        finally:
            self.starting.discard(slug)

    def reset(self) -> None:
        for slug, watch in self.watches.items():
            hub_module.hub.remove(slug, watch)
        self.kept.clear()
        self.watches.clear()
        self.starting.clear()
        self.rendering.clear()
        self.epoch += 1


def _link_holds() -> bool:
    """Whether changes reach this process right now (always, without Redis)."""
    if not settings.REDIS_URL:
        return True
    link = hub_module.hub.link
    return link is not None and link.up and not link.failed


def _subscription_confirmed(slug: str) -> bool:
    if not settings.REDIS_URL:
        return True
    link = hub_module.hub.link
    if link is None or not link.up or link.failed:
        return False
    waiter = link.confirmations.get(redis_channel(slug))
    return waiter is not None and waiter.done()


answers = Answers()


def reset() -> None:
    """Forget every kept answer and watch; for tests, between tests."""
    answers.reset()


# --- The ASGI side ----------------------------------------------------------------------------


def variant_key(scope: dict[str, Any]) -> tuple[Any, ...] | None:
    """What shapes a public answer besides the feed, or None when the request must go to Django
    (not a read, or it carries a session or credentials)."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return None
    host = b""
    forwarded_proto = b""
    cookie = b""
    for name, value in scope["headers"]:
        if name == b"host":
            host = value
        elif name == b"authorization" or name in OTHER_PRECONDITIONS:
            return None
        elif name == b"cookie":
            cookie = value
        elif name == b"x-forwarded-proto":
            forwarded_proto = value
    order = b""
    if cookie:
        for part in cookie.split(b";"):
            name, _, value = part.strip().partition(b"=")
            if name == settings.SESSION_COOKIE_NAME.encode():
                return None
            if name == b"livefeed_order":
                order = value
    return (host, scope.get("scheme"), forwarded_proto, scope["path"], scope.get("query_string", b""), order)


def _header(scope: dict[str, Any], wanted: bytes) -> bytes | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return value
    return None


def _not_modified(scope: dict[str, Any], answer: Answer) -> bool:
    """Conditional GET against the kept answer: If-None-Match first, If-Modified-Since only without it."""
    if_none_match = _header(scope, b"if-none-match")
    if if_none_match is not None:
        if answer.etag is None:
            return False
        if if_none_match.strip() == b"*":
            return True
        ours = answer.etag.removeprefix(b"W/")
        return any(tag.strip().removeprefix(b"W/") == ours for tag in if_none_match.split(b","))
    since = _header(scope, b"if-modified-since")
    last_modified = answer.validators.last_modified
    if since is None or last_modified is None:
        return False
    try:
        asked = parsedate_to_datetime(since.decode("latin-1"))
    except (TypeError, ValueError):
        return False
    if asked.tzinfo is None:
        asked = asked.replace(tzinfo=UTC)
    return int(last_modified.timestamp()) <= asked.timestamp()


class KeptAnswers:
    """ASGI middleware: give a kept answer again, or let Django render it and keep it."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        key = variant_key(scope)
        if key is None:
            await self.application(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RENDER_WAIT_SECONDS
        while True:
            # While someone renders this variant, an aged answer still at the current seq will do;
            # else wait (briefly) for theirs.
            rendering = answers.rendering.get(key)
            answer = answers.current(key, aged=rendering is not None)
            if answer is not None:
                await _send_answer(scope, answer, send)
                return
            if rendering is None:
                break
            try:
                again = await asyncio.wait_for(asyncio.shield(rendering), deadline - loop.time())
            except TimeoutError:
                again = False
            if not again:
                # Theirs cannot be kept (not a public answer, Redis away, a change meanwhile):
                # each request goes to Django, side by side.
                answer = answers.current(key)
                if answer is not None:
                    await _send_answer(scope, answer, send)
                else:
                    await self.application(scope, receive, send)
                return
            # Theirs only started watching the feed: the next rendering is kept. One of the crowd
            # renders it, the others wait for that one instead of all rendering at once.
        rendered: asyncio.Future[bool] = loop.create_future()
        answers.rendering[key] = rendered
        again = False
        try:
            again = await self.render(scope, receive, send, key)
        finally:
            if answers.rendering.get(key) is rendered:
                del answers.rendering[key]
            rendered.set_result(again)

    async def render(self, scope: dict[str, Any], receive: Any, send: Any, key: tuple[Any, ...]) -> bool:
        """Let Django answer, and keep its answer if it may be given again; whether the answer
        is kept now or the next rendering will be (this one started watching the feed).

        A GET is rendered whole even when it is conditional (its validators are left out for
        Django), so the answer can be kept; the 304 is then worked out here, as for a kept one.
        """
        if scope["method"] != "GET":
            await self.application(scope, receive, send)
            return False
        since_epoch = answers.epoch
        unconditional = {
            **scope,
            "headers": [(name, value) for name, value in scope["headers"] if name not in CONDITIONAL_HEADERS],
        }
        messages: list[dict[str, Any]] = []

        async def capture(message: dict[str, Any]) -> None:
            messages.append(message)

        await self.application(unconditional, receive, capture)
        start = next((message for message in messages if message["type"] == "http.response.start"), None)
        if start is not None and start.get("status") == 200:
            body = b"".join(
                message.get("body", b"") for message in messages if message["type"] == "http.response.body"
            )
            answer, again = await _keep(unconditional, key, start, body, since_epoch)
            if answer is not None:
                await _send_answer(scope, answer, send)
                return again
        for message in messages:
            await send(message)
        return False


async def _keep(
    scope: dict[str, Any], key: tuple[Any, ...], start: dict[str, Any], body: bytes, since_epoch: int
) -> tuple[Answer | None, bool]:
    """The answer to give for a 200 Django marked as a feed's public answer, kept if it may be
    given again (the first one for a feed only starts watching it), None for any other answer;
    and whether it was kept or the next rendering will be."""
    validators = scope.get(SCOPE_KEY)
    if validators is None or start.get("status") != 200 or scope["method"] != "GET":
        return None, False
    headers = list(start.get("headers", []))
    if any(name.lower() == b"set-cookie" for name, _ in headers):
        return None, False
    answer = Answer(
        validators=validators,
        status=200,
        headers=headers,
        body=body,
        etag=next((value for name, value in headers if name.lower() == b"etag"), None),
        not_modified_headers=[
            (name, value) for name, value in headers if name.lower() not in NOT_MODIFIED_DROPS
        ],
    )
    watch = answers.watches.get(validators.slug)
    if watch is None or watch.armed_at is None:
        # Heard from now on; this answer may predate a change, the next one is kept.
        await answers.watch(validators.slug)
        watch = answers.watches.get(validators.slug)
        return answer, watch is not None and watch.armed_at is not None
    return answer, answers.keep(key, answer, since_epoch=since_epoch)


async def _send_answer(scope: dict[str, Any], answer: Answer, send: Any) -> None:
    if _not_modified(scope, answer):
        await send({"type": "http.response.start", "status": 304, "headers": answer.not_modified_headers})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else answer.body})
