"""Concurrent writers never share a `seq`: the rule the whole catch-up design rests on."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from feeds import services
from feeds.models import Entry, Feed

WRITERS = 8
ENTRIES_EACH = 10


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_get_distinct_gapless_seqs(publisher, live_feed):
    start = live_feed.seq
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            feed = Feed.objects.get(pk=live_feed.pk)
            barrier.wait()
            for n in range(ENTRIES_EACH):
                services.create_entry(feed=feed, by=publisher, body=f"writer {writer} entry {n}")
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs = sorted(Entry.objects.filter(feed=live_feed).values_list("seq", flat=True))
    assert seqs == list(range(start + 1, start + 1 + WRITERS * ENTRIES_EACH))
    assert Feed.objects.get(pk=live_feed.pk).seq == seqs[-1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_postgres_run_really_uses_postgres():
    assert connection.vendor == "postgresql"
