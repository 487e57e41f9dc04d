"""Telling readers the counts: at most one message per ballot box per second, across processes.

A vote never sends a message itself. The first vote in a box after a quiet spell takes the box's
announcement slot (a Redis key, so one process in the whole site holds it; a set in this process
without Redis) and sets a timer; when it fires, the slot is freed, the counts as they are then go
to every reader in one message and queued ballots are written to the database. Votes arriving
meanwhile only change the counts that message will carry. A gate (another key, closed for a
second by each message) keeps two messages of a box a second apart even when timers run late.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings

from feeds.broadcast import broadcast_transient

from . import tally
from .tally import Box
from .timers import timers

logger = logging.getLogger(__name__)

TALLY_EVENT = "participation.tally"
# The slot outlives the timer, so a process that dies holding it delays the box, never silences it.
SLOT_SECONDS = 3

_local_slots: set[Box] = set()
_local_gates: dict[Box, float] = {}
_local_lock = threading.Lock()


def interval() -> float:
    """Seconds between two count messages of one box."""
    return float(settings.LIVEFEED["PARTICIPATION_TALLY_SECONDS"])


def counted(box: Box, *, feed_slug: str) -> None:
    """A vote was counted in `box`: make sure readers hear the new counts within `interval()`."""
    if _take_slot(box):
        announce_later(box, feed_slug=feed_slug)


def announce_later(box: Box, *, feed_slug: str) -> None:
    """The box's announcement slot was taken for this vote: tell readers in `interval()`."""
    timers.once(box, interval(), lambda: announce(box, feed_slug=feed_slug))


def _take_slot(box: Box) -> bool:
    if settings.REDIS_URL:
        try:
            return bool(tally.redis_client().set(box.key("slot"), "1", nx=True, ex=SLOT_SECONDS))
        except Exception:
            logger.warning("Could not take the announcement slot of %s", box, exc_info=True)
            return False
    with _local_lock:
        if box in _local_slots:
            return False
        _local_slots.add(box)
        return True


def _free_slot(box: Box) -> None:
    if settings.REDIS_URL:
        tally.redis_client().delete(box.key("slot"))
    else:
        with _local_lock:
            _local_slots.discard(box)


def announce(box: Box, *, feed_slug: str) -> None:
    """Send the box's counts to every reader, then write its queued ballots to the database.

    A box announced less than `interval()` ago anywhere (the gate) waits for the rest of it. The
    slot is freed before the counts are read: a vote counted after that takes it again and is in
    the next message.
    """
    wait = _pass_gate(box)
    if wait > 0:
        timers.once(box, wait, lambda: announce(box, feed_slug=feed_slug))
        return
    _free_slot(box)
    # The ballots first: written while the message went out, this thread's work fought the
    # loop writing it to every reader for the interpreter lock, and made that three times slower.
    try:
        tally.persist(box)
    except Exception:
        logger.exception("Could not write the queued ballots of %s; the next announcement tries again", box)
    broadcast_transient(feed_slug=feed_slug, message=tally_message(box, feed_slug=feed_slug))
    # Closed again from the moment the message left, so a late one still starts a full second.
    _close_gate(box)


def _close_gate(box: Box) -> None:
    if settings.REDIS_URL:
        tally.redis_client().set(box.key("gate"), "1", px=int(interval() * 1000))
    else:
        with _local_lock:
            _local_gates[box] = time.monotonic()


def _pass_gate(box: Box) -> float:
    """0 if the box may be announced now (and closes the gate for `interval()`), else seconds to wait."""
    if settings.REDIS_URL:
        client = tally.redis_client()
        if client.set(box.key("gate"), "1", nx=True, px=int(interval() * 1000)):
            return 0.0
        return max(client.pttl(box.key("gate")), 1) / 1000
    now = time.monotonic()
    with _local_lock:
        last = _local_gates.get(box)
        if last is not None and now - last < interval():
            return interval() - (now - last)
        _local_gates[box] = now
    return 0.0


def announce_final(box: Box, *, feed_slug: str, counts: dict[str, int]) -> None:
    """Send a closed poll's final counts and drop its live counts from Redis."""
    _free_slot(box)
    tally.forget(box)
    message = tally_message(box, feed_slug=feed_slug, counts=counts)
    message["closed"] = True
    broadcast_transient(feed_slug=feed_slug, message=message)


def tally_message(box: Box, *, feed_slug: str, counts: dict[str, int] | None = None) -> dict[str, Any]:
    """What readers receive: the box's counts now and when (no `seq`: the next tally replaces it)."""
    return {
        "type": TALLY_EVENT,
        "feed": feed_slug,
        "entry": box.entry_id,
        "box": box.kind,
        "counts": tally.counts(box) if counts is None else counts,
        # When the server sent it (seconds since the epoch), so a client can say how fresh it is.
        "sent_at": round(time.time(), 3),
    }


def reset() -> None:
    """Forget this process's slots and waiting announcements (tests)."""
    with _local_lock:
        _local_slots.clear()
        _local_gates.clear()
    timers.reset()
