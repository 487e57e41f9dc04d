"""Django's HTTP requests under the ASGI server, each run whole in a thread of a pool.

Under Django's own ASGI handler every sync view and sync middleware of a process runs on one
thread, so one slow call (a download, an image rendition, a publish while Redis is down) stalls
every other request of the process; and a sync middleware calls back into the event loop with
`async_to_sync`, which hangs for ever once the loop has stopped (a SIGTERM under load never
ended the process). Here a request's whole middleware chain and view run in one pool thread,
synchronously, as under a WSGI server: one hop from the loop per request, no call back into it,
several requests at once. The response comes back to the loop through a queue the thread never
waits on, except to bound what a streaming response holds in memory.

The requests a crowd makes (a feed's pages and API answers, static files, the health check) are
answered before they get here (`feeds.answers`, `livefeed.static_files`, `feeds.health`).
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import queue
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.core.handlers.wsgi import WSGIHandler

logger = logging.getLogger(__name__)

# Threads serving Django's requests in one process; each keeps its own database connection.
DEFAULT_THREADS = 16
# A request body above this is spooled to a temporary file instead of memory.
SPOOL_BYTES = 1024 * 1024
# Chunks of a streaming response waiting for the loop before the thread waits for it.
MAX_CHUNKS_IN_FLIGHT = 16
DONE = object()


_serving = threading.local()


def serving_loop() -> asyncio.AbstractEventLoop | None:
    """The server's event loop that handed this thread its current request; None elsewhere.

    Work a request leaves for later (a message to the desk) is handed to it without waiting, so
    the request never waits on the loop, which may be busy writing a change to every reader.
    """
    loop = getattr(_serving, "loop", None)
    return loop if loop is not None and loop.is_running() else None


def thread_count() -> int:
    return max(1, int(os.environ.get("LIVEFEED_HTTP_THREADS", DEFAULT_THREADS)))


class ThreadPool:
    """Daemon threads taking jobs from one queue: a stopping process never waits for them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()
        os.register_at_fork(after_in_child=self.forget)

    def submit(self, job: Callable[[], None]) -> None:
        with self.lock:
            if len(self.threads) < self.size:
                thread = threading.Thread(
                    target=self.run, name=f"livefeed-http-{len(self.threads)}", daemon=True
                )
                self.threads.append(thread)
                thread.start()
        self.jobs.put(job)

    def run(self) -> None:
        while True:
            job = self.jobs.get()
            try:
                job()
            except Exception:
                logger.exception("A request thread failed outside Django's handling")

    def forget(self) -> None:
        """In a forked child the parent's threads are not there: start afresh."""
        self.jobs = queue.SimpleQueue()
        self.threads = []
        self.lock = threading.Lock()


def environ_for(scope: dict[str, Any], body: Any) -> dict[str, Any]:
    """The WSGI environ of an ASGI HTTP scope (PEP 3333's rules for the path and headers)."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode().decode("latin-1"),
        "PATH_INFO": scope["path"].encode().decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] if server[1] is not None else 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0] or "",
        "REMOTE_PORT": str(client[1] or 0),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "asgi.scope": scope,
    }
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_TYPE" or name == "CONTENT_LENGTH":
            key = name
        else:
            key = f"HTTP_{name}"
        if key in environ:
            environ[key] += ("; " if key == "HTTP_COOKIE" else ",") + value
        else:
            environ[key] = value
    return environ


async def read_body(receive: Any) -> tuple[Any, bool]:
    """The whole request body, spooled to disk past `SPOOL_BYTES`; False if the client left."""
    body = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            body.close()
            return io.BytesIO(), False
        body.write(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body.seek(0)
    return body, True


class ThreadedDjango:
    """ASGI application: Django's WSGI handler, each request in a thread of this process's pool."""

    def __init__(self, handler: Callable[..., Iterable[bytes]] | None = None, *, threads: int | None = None):
        self.handler = handler or WSGIHandler()
        self.pool = ThreadPool(threads or thread_count())

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                pass
            return
        body, connected = await read_body(receive)
        scope = _with_length(scope, body)
        if not connected:
            return
        loop = asyncio.get_running_loop()
        messages: asyncio.Queue[Any] = asyncio.Queue()
        room = threading.Semaphore(MAX_CHUNKS_IN_FLIGHT)
        self.pool.submit(lambda: self.respond(environ_for(scope, body), loop, messages, room))
        try:
            while True:
                message = await messages.get()
                if message is DONE:
                    return
                if isinstance(message, BaseException):
                    raise message
                room.release()
                await send(message)
        finally:
            body.close()

    def respond(
        self,
        environ: dict[str, Any],
        loop: asyncio.AbstractEventLoop,
        messages: asyncio.Queue[Any],
        room: threading.Semaphore,
    ) -> None:
        """In a pool thread: run Django and hand its answer to the loop, part by part."""

        def hand_over(message: Any) -> bool:
            if message is not DONE and not isinstance(message, BaseException):
                # A streaming answer waits for the loop once it has this many parts in flight;
                # a stopped loop never takes them, so give up rather than wait for ever.
                while not room.acquire(timeout=1.0):
                    if loop.is_closed() or not loop.is_running():
                        return False
            try:
                loop.call_soon_threadsafe(messages.put_nowait, message)
            except RuntimeError:  # the loop is closed: the server is gone
                return False
            return True

        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [status, headers]
            return None  # no write(): Django returns its body as an iterable

        result: Iterable[bytes] | None = None
        _serving.loop = loop
        try:
            result = self.handler(environ, start_response)
            status, headers = started
            first = True
            for chunk in result:
                if first:
                    first = False
                    if not hand_over(_start_message(status, headers)):
                        return
                if chunk and not hand_over({"type": "http.response.body", "body": chunk, "more_body": True}):
                    return
            if first and not hand_over(_start_message(status, headers)):
                return
            hand_over({"type": "http.response.body", "body": b"", "more_body": False})
            hand_over(DONE)
        except BaseException as error:
            hand_over(error)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                try:
                    close()  # Django's request_finished: database connections are tidied here
                except Exception:
                    logger.exception("Closing a response failed")
            _serving.loop = None


def _with_length(scope: dict[str, Any], body: Any) -> dict[str, Any]:
    """A body sent in chunks has no Content-Length, which Django needs to read it: add it."""
    size = body.seek(0, io.SEEK_END)
    body.seek(0)
    if size and not any(name == b"content-length" for name, _ in scope.get("headers", [])):
        scope = {**scope, "headers": [*scope.get("headers", []), (b"content-length", str(size).encode())]}
    return scope


def _start_message(status: str, headers: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "type": "http.response.start",
        "status": int(status.split(" ", 1)[0]),
        "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers],
    }
