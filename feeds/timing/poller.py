"""Polling a timing source from the background worker (`manage.py db_worker`).

Each source has one chain of tasks: every run fetches the URL once, applies it, and queues the
next run (after the interval, or after an exponential backoff while the source fails). Starting
a chain raises the source's `generation`; a run whose generation is no longer the source's stops
without queueing, so saving a source (or restarting it) replaces its chain instead of adding one.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx2
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_tasks import task

from .. import outbound
from . import ingest, registry
from .models import TimingSource

logger = logging.getLogger(__name__)

REQUEST_TIMEOUT = 5.0


def start(*, source: TimingSource) -> None:
    """(Re)start polling a source: a new chain with a new generation; the old one stops."""
    with transaction.atomic():
        TimingSource.objects.filter(pk=source.pk).update(generation=F("generation") + 1, failures=0)
        source.refresh_from_db(fields=["generation", "failures", "enabled", "url"])
        if not source.is_polled:
            TimingSource.objects.filter(pk=source.pk).update(next_poll_at=None)
            return
        _queue(source, generation=source.generation, delay=0)


def next_delay(*, interval: float, failures: int, cap: float) -> float:
    """Seconds until the next poll: the interval, doubled for each failure in a row, at most `cap`."""
    if failures <= 0:
        return interval
    return min(interval * 2 ** min(failures, 30), max(cap, interval))


def request_headers(source: TimingSource) -> dict[str, str]:
    """What a poll sends: JSON wanted, plus any headers the source's format needs (a CDN's checks)."""
    try:
        extra = getattr(registry.adapter_for(source.format), "request_headers", {})
    except KeyError:
        extra = {}
    return {"Accept": "application/json", **extra}


def poll_once(*, source: TimingSource) -> ingest.Outcome:
    """Fetch the source's URL once and apply what it answers."""
    try:
        response = outbound.request(
            "GET", source.url, timeout=REQUEST_TIMEOUT, headers=request_headers(source)
        )
    except outbound.RefusedURL as error:
        return ingest.record_failure(source=source, kind="unreachable", reason=f"refused URL: {error}")
    except outbound.ResponseTooLarge:
        return ingest.record_failure(
            source=source, kind="bad", reason=f"response larger than {outbound.MAX_RESPONSE_BYTES} bytes"
        )
    except httpx2.HTTPError as error:
        return ingest.record_failure(
            source=source, kind="unreachable", reason=f"request failed: {type(error).__name__}: {error}"
        )
    if response.status_code != 200:
        return ingest.record_failure(
            source=source, kind="unreachable", reason=f"the source answered HTTP {response.status_code}"
        )
    return ingest.ingest(source=source, payload=response.content)


@task()
def poll_timing_source(*, source_id: int, generation: int) -> str:
    """One link of a source's polling chain; queues the next link unless the chain was replaced."""
    try:
        source = TimingSource.objects.select_related("feed", "author").get(pk=source_id)
    except TimingSource.DoesNotExist:
        return "gone"
    if source.generation != generation or not source.is_polled:
        return "replaced"
    try:
        outcome = poll_once(source=source)
    finally:
        # Queue the next run even if this one failed in an unexpected way, so the chain survives.
        source.refresh_from_db(
            fields=["failures", "generation", "enabled", "url", "interval_seconds", "max_backoff_seconds"]
        )
        if source.generation == generation and source.is_polled:
            delay = next_delay(
                interval=source.interval_seconds, failures=source.failures, cap=source.max_backoff_seconds
            )
            _queue(source, generation=generation, delay=delay)
    return outcome.kind


def _queue(source: TimingSource, *, generation: int, delay: float) -> None:
    due = timezone.now() + timedelta(seconds=delay)
    TimingSource.objects.filter(pk=source.pk, generation=generation).update(next_poll_at=due)
    poll_timing_source.using(run_after=due).enqueue(source_id=source.pk, generation=generation)
