"""Writers lock a feed's row before any of its entries, so pinning one entry while another pinned
entry is edited cannot deadlock on PostgreSQL (which would fail one of the two writes)."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from feeds import services
from feeds.models import Entry

ROUNDS = 15


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_pin_and_edit_never_deadlock(publisher, live_feed):
    pinned = services.create_entry(feed=live_feed, by=publisher, body="pinned", pinned=True)
    other = services.create_entry(feed=live_feed, by=publisher, body="other")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def pin_other() -> None:
        for n in range(ROUNDS):
            barrier.wait(timeout=30)
            services.update_entry(entry=Entry.objects.get(pk=other.pk), by=publisher, pinned=n % 2 == 0)

    def edit_pinned() -> None:
        for n in range(ROUNDS):
            barrier.wait(timeout=30)
            entry = Entry.objects.get(pk=pinned.pk)
            services.update_entry(entry=entry, by=publisher, body=f"edit {n}", pinned=True)

    def run(work) -> None:
        try:
            work()
        except BaseException as exc:  # reported below
            errors.append(exc)
            barrier.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(work,)) for work in (pin_other, edit_pinned)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Entry.objects.filter(feed=live_feed, pinned=True).count() == 1
