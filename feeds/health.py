"""The health check a proxy or supervisor polls: can this process reach the database and Redis?

`GET /healthz` answers 200 when both answer (Redis only when configured) and 503 naming what
failed, so a load balancer stops sending readers to a process that could not serve them.

Under the server it is answered in the event loop (`HealthCheck`): the checks run in a thread of
their own, at most once per `FRESH_SECONDS`, and every request in between shares the last result,
so a crowd of pollers costs one database query per period and never waits behind other requests.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from typing import Any

from django.db import connection, connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .broadcast.hub import subscription_state
from .broadcast.publishing import redis_ping

logger = logging.getLogger(__name__)


def database_answers() -> bool:
    """Whether a trivial query succeeds on the default database."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.warning("Health check: the database does not answer", exc_info=True)
        return False


def health_report() -> tuple[int, dict[str, str]]:
    """The status code and each check's result: 200 when all pass, 503 otherwise."""
    database = database_answers()
    redis = redis_ping()
    checks = {
        "database": "ok" if database else "unavailable",
        "redis": "not configured" if redis is None else ("ok" if redis else "unavailable"),
        "subscription": subscription_state(),
    }
    healthy = database and redis is not False
    return (200 if healthy else 503), {"status": "ok" if healthy else "unavailable", **checks}


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """200 with each check's result when all pass, 503 otherwise."""
    status, report = health_report()
    return JsonResponse(report, status=status)


# A result this recent answers every request; older, the checks run again.
FRESH_SECONDS = 0.5
NEVER_CACHE = b"max-age=0, no-cache, no-store, must-revalidate, private"


class HealthCheck:
    """ASGI middleware: answer `GET /healthz` in the loop from checks run apart from requests."""

    path = "/healthz"

    def __init__(self, application: Any) -> None:
        self.application = application
        self.result: tuple[int, bytes] | None = None
        self.checked_at = 0.0
        self.running: asyncio.Future[tuple[int, bytes]] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] not in ("GET", "HEAD"):
            await self.application(scope, receive, send)
            return
        status, body = await self.latest()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", NEVER_CACHE),
            (b"x-content-type-options", b"nosniff"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    async def latest(self) -> tuple[int, bytes]:
        if self.result is not None and time.monotonic() - self.checked_at < FRESH_SECONDS:
            return self.result
        if self.running is None or self.running.done():
            loop = asyncio.get_running_loop()
            self.running = loop.create_future()
            # A daemon thread: a database that hangs never holds up a stopping process.
            threading.Thread(target=self.check, args=(loop, self.running), daemon=True).start()
        return await asyncio.shield(self.running)

    def check(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[tuple[int, bytes]]) -> None:
        try:
            status, report = health_report()
            result = (status, json.dumps(report).encode())
        except Exception:
            logger.exception("Health check failed")
            result = (503, b'{"status": "unavailable"}')
        finally:
            connections.close_all()  # this thread ends here, and its connections with it

        def settle() -> None:
            self.result, self.checked_at = result, time.monotonic()
            if not future.done():
                future.set_result(result)

        try:
            loop.call_soon_threadsafe(settle)
        except RuntimeError:
            pass  # the loop is gone: the process is stopping
