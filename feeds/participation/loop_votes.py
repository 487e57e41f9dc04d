"""Votes and reactions counted in the event loop, without entering Django, where Redis counts them.

A crowd voting at once sends thousands of the same small request. Through Django each one costs a
thread hop, the middleware chain, a language lookup, the address's limit and three Redis calls:
about 4 ms of CPU, so 500 votes a second take a small server's cores from the readers waiting for
entries. Here the common case costs one Redis script, in the loop.

A vote is counted here only after Django has answered 200 to a vote in the same poll (a reaction
to the same entry) for a request of the same shape (host, scheme, `Accept`, `Content-Type`): that
answer is given again, with the reader's cookie when the browser sent none, and the entry is taken
as Django last read it, at a feed version the script checks is still the current one. Every check
that could refuse the vote runs first, in Python (route, origin, body, a closed poll, the option)
and in the script (the feed unchanged, the box open and loaded, the reader not yet counted, the
address within its limit); a vote that fails any of them has changed nothing and goes to Django
whole, which answers it as it always did. Without Redis (one process) every vote goes to Django.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIRequest
from django.urls import Resolver404, resolve

from livefeed.django_threads import environ_for

from . import api, limits, readers, services, tallies, tally
from .tally import Box

logger = logging.getLogger(__name__)

# What each route counts: its view (for its limit), the body's one field, the ballot box's kind.
ROUTES = {
    "api:entry-vote": (api.VoteView, "option", tally.POLL),
    "api:entry-reaction": (api.ReactionView, "reaction", tally.REACTIONS),
}
MAX_BODY = 1024
MAX_LEARNED = 4096
# The request headers an answer may depend on, besides the route.
SHAPE_HEADERS = (b"host", b"x-forwarded-proto", b"x-forwarded-host", b"accept", b"content-type")


@dataclass(frozen=True)
class Route:
    view_name: str
    slug: str
    entry_id: int


# (route, scheme, shape headers) -> Django's 200 answer there: headers (without its cookie and
# length) and body.
_learned: dict[tuple[Any, ...], tuple[list[tuple[bytes, bytes]], bytes]] = {}
counted_here = 0  # votes and reactions this process counted in the loop (tests, operators)


def reset() -> None:
    """Forget every learned answer (tests)."""
    global counted_here
    _learned.clear()
    _teaching.clear()
    counted_here = 0


# How long a vote waits for Django's answer to another of its shape before going to Django itself.
TEACHING_WAIT_SECONDS = 2.0
# Per event loop, per shape: Django's answer in progress to the first vote the loop could not count.
_teaching: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], asyncio.Future[None]]] = (
    weakref.WeakKeyDictionary()
)


def _ready(shape: tuple[Any, ...], route: Route) -> bool:
    """Whether the loop has what it needs to count a vote of this shape: Django's answer to one,
    and the entry as Django read it."""
    return (
        shape in _learned and services.kept_entry(feed_slug=route.slug, entry_id=route.entry_id) is not None
    )


def route_of(scope: dict[str, Any]) -> Route | None:
    """The vote or reaction route a request is for, if this process counts votes in Redis."""
    if (
        scope["type"] != "http"
        or scope["method"] != "POST"
        or not settings.REDIS_URL
        or scope.get("root_path")
        or not scope["path"].endswith(("/vote/", "/reaction/"))
    ):
        return None
    try:
        match = resolve(scope["path"])
    except Resolver404:
        return None
    if match.view_name not in ROUTES:
        return None
    return Route(match.view_name, match.kwargs["slug"], match.kwargs["entry_id"])


def shape_of(scope: dict[str, Any], route: Route) -> tuple[Any, ...]:
    headers = dict.fromkeys(SHAPE_HEADERS, b"")
    for name, value in scope["headers"]:
        if name in headers:
            headers[name] = value
    return (route, scope.get("scheme"), *headers.values())


class LoopVotes:
    """ASGI middleware: count a vote here when Django would only repeat its last answer."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        route = route_of(scope)
        if route is None:
            await self.application(scope, receive, send)
            return
        received, body, complete = await _read_body(receive)
        shape = shape_of(scope, route)
        # A crowd's first votes on a new poll all went to Django at once: a dozen requests in
        # threads fighting the loop for the interpreter lock held back every reader's next change
        # by a tenth of a second or more. Now the first goes to Django, which leaves what the loop
        # needs, and the others wait for its answer.
        loop = asyncio.get_running_loop()
        teaching: asyncio.Future[None] | None = None
        if complete and not _ready(shape, route):
            in_progress = _teaching.setdefault(loop, {})
            if shape in in_progress:
                await asyncio.wait([in_progress[shape]], timeout=TEACHING_WAIT_SECONDS)
            else:
                teaching = in_progress[shape] = loop.create_future()
        try:
            await self._answer(scope, receive, send, route, shape, received, body, complete)
        finally:
            if teaching is not None:
                _teaching[loop].pop(shape, None)
                teaching.set_result(None)

    async def _answer(
        self,
        scope: dict[str, Any],
        receive: Any,
        send: Any,
        route: Route,
        shape: tuple[Any, ...],
        received: list[dict[str, Any]],
        body: bytes,
        complete: bool,
    ) -> None:
        """Count the vote here and repeat Django's answer, or hand the request to Django."""
        learned = _learned.get(shape)
        if learned is not None and complete:
            try:
                headers = await _count(scope, route, body, learned[0])
            except Exception:
                logger.warning("A vote could not be counted in the loop; Django takes it", exc_info=True)
                headers = None
            if headers is not None:
                headers.append((b"content-length", str(len(learned[1])).encode()))
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": learned[1]})
                return
        await self.application(scope, _replaying(received, receive), _learning(send, shape))


async def _read_body(receive: Any) -> tuple[list[dict[str, Any]], bytes, bool]:
    """The request's messages read so far and its body, whole (True) unless larger than
    `MAX_BODY` or the client left."""
    received: list[dict[str, Any]] = []
    size = 0
    while size <= MAX_BODY:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request":
            return received, b"", False
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            return received, b"".join(m.get("body", b"") for m in received), size <= MAX_BODY
    return received, b"", False


def _replaying(received: list[dict[str, Any]], receive: Any) -> Any:
    pending = list(received)

    async def replayed() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _learning(send: Any, shape: tuple[Any, ...]) -> Any:
    """`send`, noting Django's answer: a 200 is what a vote of this shape is answered with."""
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def noting(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body" and start.get("status") == 200:
            chunks.append(message.get("body", b""))
            body = b"".join(chunks)
            if not message.get("more_body", False) and len(body) <= MAX_BODY:
                if len(_learned) >= MAX_LEARNED:
                    _learned.clear()
                _learned[shape] = (
                    [
                        (name, value)
                        for name, value in start.get("headers", [])
                        if name.lower() not in (b"set-cookie", b"content-length")
                    ],
                    body,
                )
        await send(message)

    return noting


async def _count(
    scope: dict[str, Any], route: Route, body: bytes, learned_headers: list[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]] | None:
    """Count the vote if every check passes; the answer's headers, or None to leave it to Django."""
    view, field, box_kind = ROUTES[route.view_name]
    try:
        sent = json.loads(body)
    except ValueError:
        return None
    if not isinstance(sent, dict) or list(sent) != [field]:
        return None
    value = sent[field]
    kept = services.kept_entry(feed_slug=route.slug, entry_id=route.entry_id)
    if kept is None:
        return None
    versions, entry = kept
    if entry is None:
        return None
    if box_kind == tally.POLL:
        if type(value) is not int or services.vote_refusal(entry, value) is not None:
            return None
    elif type(value) is not str or services.reaction_refusal(entry, value) is not None:
        return None
    request = WSGIRequest(environ_for(scope, io.BytesIO(body)))
    origin = request.headers.get("Origin")
    if origin and urlsplit(origin).netloc != request.get_host():
        return None
    token = readers.reader_token(request)
    new_reader = token is None
    if token is None:
        token = readers.new_reader_token()
    limit = limits.rate(view.rate_setting)
    window, _ = limits.window_key(
        scope=view.scope, address=limits.client_address(request), limit=limit, now=time.time()
    )
    box = Box(box_kind, route.entry_id)
    keys = [
        services.feed_version_key(route.slug),
        services.entry_version_key(route.entry_id),
        box.key("ready"),
        box.key("voters"),
        box.key("counts"),
        box.key("pending"),
        box.key("sealed"),
        cache.make_key(window),
        box.key("slot"),
    ]
    args = [
        versions.feed or b"",
        versions.entry or b"",
        readers.voter_id(token),
        str(value),
        limit.count,
        limit.seconds + 1,
        tallies.SLOT_SECONDS,
    ]
    outcome = await _script()(keys=keys, args=args)
    if outcome == 0:
        return None
    global counted_here
    counted_here += 1
    if outcome == 1:
        tallies.announce_later(box, feed_slug=route.slug)
    headers = list(learned_headers)
    if new_reader:
        headers.append((b"set-cookie", readers.cookie_header(request, token)))
    return headers


_scripts: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
# Each vote holds a connection for one script call: a few serve a crowd, and a burst that found
# none free would otherwise open dozens at once, in the loop, just as the crowd arrives.
MAX_REDIS_CONNECTIONS = 16


def _script() -> Any:
    """The counting script on this loop's own Redis client (an asyncio client serves one loop)."""
    import redis.asyncio

    loop = asyncio.get_running_loop()
    per_url = _scripts.setdefault(loop, {})
    script = per_url.get(settings.REDIS_URL)
    if script is None:
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            settings.REDIS_URL,
            max_connections=MAX_REDIS_CONNECTIONS,
            timeout=2,  # then Django counts the vote
            socket_timeout=2,
            socket_connect_timeout=1,
        )
        client = redis.asyncio.Redis(connection_pool=pool)
        script = per_url[settings.REDIS_URL] = client.register_script(tally.LOOP_COUNT_SCRIPT)
    return script
