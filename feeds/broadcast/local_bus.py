"""Carrying changes between the processes of one machine in the embedded mode, where there is no Redis.

`make run` starts two processes (the server and the background worker), and management commands
or `manage.py shell` add more; each change must reach the readers and desks of every server
process, not only of the process that made it. Each process that serves readers or a desk binds a
Unix datagram socket in the bus directory (one per database, so every process sharing the SQLite
file shares it); a process that publishes, whichever it is, sends the change to every socket there
but its own. A server hands what arrives to its hub and its channel-layer group exactly as the
Redis link does, so from there on there is one delivery path.

Why a socket rather than each server polling the `seq` of the feeds its readers follow: polling
adds its period to every delivery and costs a query per feed per period even when nothing
happens, and the desk must also hear drafts and timing health, which advance no `seq`; a second
mechanism would be needed for them. The socket carries exactly what Redis carries, within a few
milliseconds, with nothing to install.

What keeps it correct:
- Sending never blocks or raises into the caller: messages go through a thread of this process,
  in order. A full receiver queue (Linux holds about ten datagrams per socket) is retried for up
  to `RETRY_SECONDS`; a command that ends right after its change waits (at exit, at most
  `FLUSH_SECONDS`) until it is sent.
- A socket that refuses (its process died without removing it) is stale and is removed.
- A change too big for one datagram goes as its `seq` alone: readers fill the gap from the
  database, as they do for any lost message. A desk message too big asks the desks of the feed to
  reconnect, which makes them reload their list.
- Only committed changes are sent (callers send after commit), and a server binds its socket
  before its reader reads the database, so a change is either in the reader's catch-up or arrives.
"""

from __future__ import annotations

import asyncio
import atexit
import errno
import hashlib
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Protocol

from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connections

from .writers import Change

logger = logging.getLogger(__name__)

# Under Linux's default limit for a Unix datagram (212,960 bytes); larger messages use the fallback.
MAX_DATAGRAM_BYTES = 200_000
RETRY_SECONDS = 1.0
FLUSH_SECONDS = 5.0
MAX_QUEUED = 10_000
SOCKET_SUFFIX = ".sock"


class Readers(Protocol):
    """What the listener hands changes to: the process's hub of readers."""

    def fan_out(self, feed_slug: str, change: Change) -> None: ...


def bus_directory() -> Path:
    """Where this site's local processes keep their sockets: `LIVEFEED_BUS_DIR`, or else one
    directory per database, next to a SQLite file (`<file>-bus`) or in `var/` for another database."""
    configured = settings.LIVEFEED.get("BUS_DIR")
    if configured:
        return Path(configured)
    database = connections["default"].settings_dict
    name = str(database.get("NAME") or "")
    if (
        database["ENGINE"].endswith("sqlite3")
        and name
        and name != ":memory:"
        and not name.startswith("file:")
    ):
        return Path(f"{os.path.abspath(name)}-bus")
    identity = "|".join(str(database.get(key) or "") for key in ("ENGINE", "HOST", "PORT", "NAME"))
    return Path(settings.VAR_DIR) / f"bus-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"


def active() -> bool:
    """Whether changes travel over the local bus: only without Redis, which carries them otherwise."""
    return not settings.REDIS_URL


# --- Sending ----------------------------------------------------------------------------------


def send_change(*, feed_slug: str, seq: int, text: str) -> None:
    """Hand a committed change to the other local processes' readers; never raises."""
    if active():
        _send(f"change {feed_slug} {seq} {text}".encode(), fallback=f"change {feed_slug} {seq}".encode())


def send_to_group(*, group: str, event: dict[str, Any], fallback: dict[str, Any]) -> None:
    """Hand a channel-layer event to the group's members in the other local processes; never raises.

    `fallback` is sent instead when `event` is too big for one datagram.
    """
    if active():
        _send(
            f"group {group} {json.dumps(event)}".encode(),
            fallback=f"group {group} {json.dumps(fallback)}".encode(),
        )


def _send(message: bytes, *, fallback: bytes) -> None:
    try:
        sender.put(bus_directory(), message, fallback)
    except Exception:
        logger.exception("Could not queue a message for the local processes")


class Sender:
    """This process's sending thread: messages leave in order, and the caller never waits."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.queue: deque[tuple[Path, bytes, bytes]] = deque()
        self.unfinished = 0
        self.socket: socket.socket | None = None
        self.warned: set[str] = set()
        os.register_at_fork(after_in_child=self.forget)

    def put(self, directory: Path, message: bytes, fallback: bytes) -> None:
        with self.condition:
            if self.socket is None:
                self.start()
            if len(self.queue) >= MAX_QUEUED:
                logger.warning(
                    "Dropping a message for the local processes: %d waiting already", len(self.queue)
                )
                return
            self.queue.append((directory, message, fallback))
            self.unfinished += 1
            self.condition.notify_all()

    def start(self) -> None:
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.setblocking(False)
        threading.Thread(target=self.run, args=(self.socket,), name="livefeed-local-bus", daemon=True).start()
        atexit.register(self.flush, FLUSH_SECONDS)

    def forget(self) -> None:
        """In a forked child: the parent's thread is not there; start afresh on the next message."""
        self.condition = threading.Condition()
        self.queue = deque()
        self.unfinished = 0
        self.socket = None

    def flush(self, timeout: float) -> bool:
        """Wait until every queued message is sent (or given up); False if `timeout` passed first."""
        with self.condition:
            return self.condition.wait_for(lambda: self.unfinished == 0, timeout=timeout)

    def run(self, sock: socket.socket) -> None:
        while True:
            with self.condition:
                self.condition.wait_for(lambda: bool(self.queue))
                directory, message, fallback = self.queue.popleft()
            try:
                self.deliver(sock, directory, message, fallback)
            except Exception:
                logger.exception("Could not send a message to the local processes")
            finally:
                with self.condition:
                    self.unfinished -= 1
                    self.condition.notify_all()

    def deliver(self, sock: socket.socket, directory: Path, message: bytes, fallback: bytes) -> None:
        """Send to every socket in `directory` but this process's own, retrying full queues."""
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            return  # no process has listened yet
        own = listener.path.name if listener is not None else None
        waiting = [directory / name for name in names if name.endswith(SOCKET_SUFFIX) and name != own]
        data = message if len(message) <= MAX_DATAGRAM_BYTES else fallback
        deadline = time.monotonic() + RETRY_SECONDS
        while waiting:
            waiting = [path for path in waiting if not self.send_one(sock, path, data, fallback)]
            if waiting:
                if time.monotonic() > deadline:
                    logger.warning(
                        "%d local processes did not take a message within %.0f s; their readers catch up "
                        "with the next change",
                        len(waiting),
                        RETRY_SECONDS,
                    )
                    return
                time.sleep(0.002)

    def send_one(self, sock: socket.socket, path: Path, data: bytes, fallback: bytes) -> bool:
        """Send `data` to one socket; False when its queue is full and it should be tried again."""
        try:
            sock.sendto(data, os.fsencode(path))
        except BlockingIOError:
            return False
        except ConnectionRefusedError:
            # Nobody reads it: the process that bound it ended without removing it.
            path.unlink(missing_ok=True)
        except FileNotFoundError:
            pass  # removed since we listed the directory
        except OSError as error:
            if error.errno == errno.EMSGSIZE and data != fallback:
                return self.send_one(sock, path, fallback, fallback)
            if str(path) not in self.warned:
                self.warned.add(str(path))
                logger.error("Could not send to the local process at %s: %s", path, error)
        return True


sender = Sender()


# --- Listening --------------------------------------------------------------------------------


class BusListener:
    """This process's socket on the bus, read in the event loop its readers live in."""

    def __init__(self, directory: Path, loop: asyncio.AbstractEventLoop, readers: Readers) -> None:
        self.loop = loop
        self.readers = readers
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = directory / f"{os.getpid()}-{secrets.token_hex(3)}{SOCKET_SUFFIX}"
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self.socket.bind(os.fsencode(self.path))
        except OSError:
            self.socket.close()
            raise
        self.socket.setblocking(False)
        self.buffer = bytearray(MAX_DATAGRAM_BYTES + 1)
        self.closed = False
        loop.add_reader(self.socket.fileno(), self.read)

    def read(self) -> None:
        """Called by the loop when datagrams wait: take them all."""
        while not self.closed:
            try:
                size = self.socket.recv_into(self.buffer)
            except BlockingIOError:
                return
            except OSError:
                logger.exception("Could not read from the local bus")
                return
            try:
                self.handle(bytes(self.buffer[:size]))
            except Exception:
                logger.exception(
                    "Ignoring a malformed message from the local bus: %r", bytes(self.buffer[:80])
                )

    def handle(self, data: bytes) -> None:
        kind, _, rest = data.partition(b" ")
        if kind == b"change":
            feed_slug, _, rest = rest.partition(b" ")
            seq, _, text = rest.partition(b" ")
            # Without its text the change was too big to relay: the readers fill from the database.
            change = Change(int(seq), text.decode()) if text else Change(int(seq), None)
            self.readers.fan_out(feed_slug.decode(), change)
        elif kind == b"group":
            group, _, event = rest.partition(b" ")
            self.loop.create_task(_group_send(group.decode(), json.loads(event)))
        else:
            raise ValueError(f"unknown message kind {kind[:20]!r}")

    def close(self) -> None:
        """Stop listening and remove the socket, from any thread."""
        if self.closed:
            return
        self.closed = True
        self.path.unlink(missing_ok=True)
        if self.loop.is_closed() or not self.loop.is_running():
            self._detach()
        else:
            self.loop.call_soon_threadsafe(self._detach)

    def _detach(self) -> None:
        try:
            if not self.loop.is_closed():
                self.loop.remove_reader(self.socket.fileno())
        finally:
            self.socket.close()


async def _group_send(group: str, event: dict[str, Any]) -> None:
    try:
        await get_channel_layer().group_send(group, event)
    except Exception:
        logger.exception("Could not relay a message to %s", group)


listener: BusListener | None = None
_listener_lock = threading.Lock()


def listen(readers: Readers) -> None:
    """Receive the other local processes' changes in the running loop, from now on (idempotent).

    Called when a reader or a desk subscribes, so any process serving them listens, under any ASGI
    server, and a process that serves none (the worker, a command) never binds a socket.
    """
    global listener
    if not active():
        return
    loop = asyncio.get_running_loop()
    with _listener_lock:
        if listener is not None and listener.loop is loop and not listener.closed:
            return
        if listener is not None:
            atexit.unregister(listener.close)
            listener.close()
        directory = bus_directory()
        try:
            listener = BusListener(directory, loop, readers)
        except OSError as error:
            listener = None
            logger.error(
                "Cannot listen on the local bus in %s (%s): changes made by other processes reach this "
                "process's readers only with the next change. Set LIVEFEED_BUS_DIR to a short, writable path.",
                directory,
                error,
            )
            return
        # A clean stop removes the socket; after a crash the next sender removes it.
        atexit.register(listener.close)


def reset() -> None:
    """Stop listening (removing the socket) and forget the listener; for tests, between tests."""
    global listener
    with _listener_lock:
        if listener is not None:
            atexit.unregister(listener.close)
            listener.close()
        listener = None
