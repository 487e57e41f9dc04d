"""Counting votes and reactions: once per reader, across every server process, kept in the database.

With `REDIS_URL` a vote costs one Redis call: a script adds the reader to the ballot box's set of
voters and, only if they were not in it, raises the option's counter and queues the ballot for
the database. `persist` writes queued ballots in batches (`tallies` calls it at most once a
second per box). The database is the record: a box Redis does not know (its first vote, or Redis
restarted) is loaded from the database before anything is counted in it, so after a restart the
database wins.

Without Redis (the embedded mode: one server process) each vote is a row inserted at once and the
counts are read from the database.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Count
from django.utils import timezone

from .models import Ballot, Reaction

logger = logging.getLogger(__name__)

POLL = "poll"
REACTIONS = "reactions"
PERSIST_BATCH = 1000
# Longer than a batch ever takes; a process that dies holding the lock delays the writing this long.
PERSIST_LOCK_SECONDS = 30

# KEYS: ready, voters, counts, pending, sealed; ARGV: voter, choice.
# -2: the box is sealed (a closed poll); -1: not loaded yet; 0: already counted; 1: counted now.
_COUNT_SCRIPT = """
if redis.call('EXISTS', KEYS[5]) == 1 then return -2 end
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
redis.call('RPUSH', KEYS[4], ARGV[1] .. ' ' .. ARGV[2])
return 1
"""

# The same count for a vote taken in the event loop (`loop_votes`), with every check that could
# refuse it first, so that a vote it does not count has changed nothing and Django can take it whole.
# KEYS: feed version, entry version, ready, voters, counts, pending, sealed, the address's limit
# window, slot; ARGV: the feed's and the entry's versions when the entry was read ("" for none),
# voter, choice, the address's limit, the window's lifetime, the slot's lifetime.
# 0: not counted here (leave it to Django); 1: counted, and the announcement slot taken; 2: counted.
LOOP_COUNT_SCRIPT = """
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[2] then return 0 end
if redis.call('EXISTS', KEYS[7]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[3]) == 0 then return 0 end
if redis.call('SISMEMBER', KEYS[4], ARGV[3]) == 1 then return 0 end
if tonumber(redis.call('GET', KEYS[8]) or '0') >= tonumber(ARGV[5]) then return 0 end
if redis.call('INCR', KEYS[8]) == 1 then redis.call('EXPIRE', KEYS[8], ARGV[6]) end
redis.call('SADD', KEYS[4], ARGV[3])
redis.call('HINCRBY', KEYS[5], ARGV[4], 1)
redis.call('RPUSH', KEYS[6], ARGV[3] .. ' ' .. ARGV[4])
if redis.call('SET', KEYS[9], '1', 'NX', 'EX', ARGV[7]) then return 1 end
return 2
"""

# KEYS: ready, voters, counts, loaded voters, loaded counts. Installs what was loaded from the
# database, unless another process did so first.
_LOAD_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('DEL', KEYS[4], KEYS[5])
  return 0
end
redis.call('DEL', KEYS[2], KEYS[3])
if redis.call('EXISTS', KEYS[4]) == 1 then redis.call('RENAME', KEYS[4], KEYS[2]) end
if redis.call('EXISTS', KEYS[5]) == 1 then redis.call('RENAME', KEYS[5], KEYS[3]) end
redis.call('SET', KEYS[1], '1')
return 1
"""


@dataclass(frozen=True)
class Box:
    """What is counted together: the ballots of one poll, or the reactions to one entry."""

    kind: str
    entry_id: int

    @property
    def model(self) -> type[Ballot] | type[Reaction]:
        return Ballot if self.kind == POLL else Reaction

    @property
    def field(self) -> str:
        return "choice" if self.kind == POLL else "reaction"

    def key(self, part: str) -> str:
        return f"{settings.REDIS_PREFIX}:participation:{self.kind}:{self.entry_id}:{part}"


def record(box: Box, *, voter: str, choice: str) -> bool | None:
    """Count `voter`'s `choice` unless they are already counted in the box: True if counted now,
    False if they were already, None if the box is sealed."""
    if not settings.REDIS_URL:
        return _record_in_database(box, voter=voter, choice=choice)
    client = redis_client()
    keys = [box.key("ready"), box.key("voters"), box.key("counts"), box.key("pending"), box.key("sealed")]
    for _ in range(3):
        answer = client.eval(_COUNT_SCRIPT, len(keys), *keys, voter, choice)
        if answer == -2:
            return None
        if answer != -1:
            return answer == 1
        load(box)
    raise RuntimeError(f"Could not load ballot box {box} into Redis")


def _record_in_database(box: Box, *, voter: str, choice: str) -> bool:
    value: Any = int(choice) if box.kind == POLL else choice
    try:
        with transaction.atomic():
            box.model.objects.create(entry_id=box.entry_id, voter=voter, **{box.field: value})
    except IntegrityError:
        return False
    return True


def counts(box: Box) -> dict[str, int]:
    """How many readers chose each option (by its index as text) or reaction, now."""
    if settings.REDIS_URL:
        client = redis_client()
        if client.exists(box.key("ready")):
            return {key.decode(): int(value) for key, value in client.hgetall(box.key("counts")).items()}
    return stored_counts(box)


def stored_counts(box: Box) -> dict[str, int]:
    """The counts the database holds (every vote once `persist` has run)."""
    rows = box.model.objects.filter(entry_id=box.entry_id).values(box.field).annotate(n=Count("id"))
    return {str(row[box.field]): row["n"] for row in rows}


def persist(box: Box, *, wait: bool = False) -> int:
    """Write the box's queued ballots to the database; returns how many.

    One process at a time per box (a lock in Redis): two that read the same queue would each
    trim what the other wrote and drop ballots queued in between. A ballot written twice (a crash
    before the queue was trimmed) is kept once. The queue is looked at again after the lock is
    released, so a ballot queued meanwhile is not left behind. With `wait`, returns only once
    the queue is empty in the database.
    """
    if not settings.REDIS_URL:
        return 0
    client = redis_client()
    written = 0
    while client.llen(box.key("pending")):
        if not client.set(box.key("persisting"), "1", nx=True, ex=PERSIST_LOCK_SECONDS):
            if not wait:
                return written  # the holder empties the queue, this ballot included
            time.sleep(0.05)  # closing a poll: its count must include what the holder writes
            continue
        try:
            written += _write_queued(box, client)
        finally:
            client.delete(box.key("persisting"))
    return written


def _write_queued(box: Box, client: Any) -> int:
    written = 0
    while True:
        queued = client.lrange(box.key("pending"), 0, PERSIST_BATCH - 1)
        if not queued:
            return written
        rows: list[tuple[str, Any]] = []
        for item in queued:
            voter, _, choice = item.decode().partition(" ")
            rows.append((voter, int(choice) if box.kind == POLL else choice))
        _insert_once(box, rows)
        client.ltrim(box.key("pending"), len(queued), -1)
        written += len(queued)


def _insert_once(box: Box, rows: list[tuple[str, Any]]) -> None:
    """Insert (voter, choice) rows into the box's table, skipping a voter already stored.

    One statement run over the batch, with no model instance per row: this runs in a server
    process beside its event loop, and `bulk_create` building a thousand instances and their SQL
    held the interpreter lock the loop needed to write changes to readers.
    """
    model = box.model
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    column = {field.name: str(field.column) for field in meta.concrete_fields}
    columns = ", ".join(quote(column[name]) for name in ("entry", "voter", box.field, "created_at"))
    created_at = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [(box.entry_id, voter, choice, created_at) for voter, choice in rows],
        )


def load(box: Box) -> None:
    """Load a box Redis does not hold from the database (its first vote, or after a restart)."""
    client = redis_client()
    loading_voters, loading_counts = box.key("loading-voters"), box.key("loading-counts")
    voters = list(box.model.objects.filter(entry_id=box.entry_id).values_list("voter", flat=True))
    pipe = client.pipeline(transaction=False)
    pipe.delete(loading_voters, loading_counts)
    for start in range(0, len(voters), 5000):
        pipe.sadd(loading_voters, *voters[start : start + 5000])
    stored = stored_counts(box)
    if stored:
        pipe.hset(loading_counts, mapping=stored)
    pipe.execute()
    keys = [box.key("ready"), box.key("voters"), box.key("counts"), loading_voters, loading_counts]
    client.eval(_LOAD_SCRIPT, len(keys), *keys)


SEALED_SECONDS = 7 * 24 * 3600


def seal(box: Box) -> None:
    """Count nothing more in the box, in any process, from now on (a poll being closed).

    The entry's stored result refuses later votes too; the seal covers the ones already past
    that check. It is kept a week, after which the stored result alone is enough.
    """
    if settings.REDIS_URL:
        redis_client().set(box.key("sealed"), "1", ex=SEALED_SECONDS)


def forget(box: Box) -> None:
    """Drop the box's counts from Redis (the database keeps every ballot)."""
    if settings.REDIS_URL:
        redis_client().delete(*(box.key(part) for part in ("ready", "voters", "counts", "pending")))


@functools.cache
def _client_for(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=1)


def redis_client() -> Any:
    """This process's Redis client for counting (one per `REDIS_URL`, so tests may switch)."""
    return _client_for(settings.REDIS_URL)
