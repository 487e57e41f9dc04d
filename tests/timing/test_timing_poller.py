"""Polling a timing source: one request per run through the outbound guard, one chain per source,
exponential backoff while the source fails. The source is a local HTTP server started here."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from feeds.models import Feed
from feeds.timing import poller
from feeds.timing.models import TimingSource
from tests.fixtures.servers import free_port
from tests.fixtures.timing_server import Response, timing_server

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def allow_private():
    """The timing server runs on this machine's loopback, which production refuses."""
    with override_settings(LIVEFEED={**settings.LIVEFEED, "OUTBOUND_ALLOW_PRIVATE": True}):
        yield


@pytest.fixture
def source(live_feed, publisher) -> TimingSource:
    return TimingSource.objects.create(
        feed=live_feed, author=publisher, url="http://127.0.0.1:9/x", interval_seconds=5
    )


def queued() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(status="READY").order_by("run_after"))


@pytest.mark.parametrize(
    ("failures", "delay"), [(0, 5), (1, 10), (2, 20), (3, 40), (4, 60), (10, 60), (1000, 60)]
)
def test_backoff_doubles_from_the_interval_and_is_capped(failures, delay):
    assert poller.next_delay(interval=5, failures=failures, cap=60) == delay


def test_a_poll_applies_what_the_source_serves(source, live_feed):
    with timing_server([Response({"flag": "green", "lap": 3})]) as server:
        source.url = server.url
        assert poller.poll_once(source=source).kind == "applied"
        assert server.hits == [1]
    assert Feed.objects.get(pk=live_feed.pk).race == {"flag": "green", "lap": 3}


def test_a_nascar_poll_sends_the_headers_the_feeds_cdn_expects(source):
    source.format = "nascar"
    with timing_server([Response({"flag_state": 1, "lap_number": 3})]) as server:
        source.url = server.url
        assert poller.poll_once(source=source).kind == "applied"
    assert server.last_headers["Referer"] == "https://www.nascar.com/"
    assert server.last_headers["User-Agent"].startswith("Mozilla/5.0")
    assert server.last_headers["Accept"] == "application/json"


@pytest.mark.parametrize("body", [b"", b"null"])
def test_an_empty_answer_between_sessions_is_idle_and_does_not_back_off(source, live_feed, body):
    source.format = "nascar"
    source.save()
    with timing_server(
        [Response({"flag_state": 1, "lap_number": 3}), Response(body)], advance_on_request=True
    ) as server:
        source.url = server.url
        poller.poll_once(source=source)
        outcome = poller.poll_once(source=source)
    assert outcome.kind == "idle" and not outcome.failing
    stored = TimingSource.objects.get(pk=source.pk)
    assert stored.failures == 0 and stored.healthy
    assert poller.next_delay(interval=5, failures=stored.failures, cap=60) == 5
    assert Feed.objects.get(pk=live_feed.pk).race == {"flag": "green", "lap": 3}


@pytest.mark.parametrize(
    "response",
    [Response("oops", status=500), Response("{", status=200), Response({"flag": "green"}, status=200)],
)
def test_a_failing_source_counts_failures_and_keeps_the_status(source, live_feed, response):
    with timing_server([Response({"flag": "yellow", "lap": 3}), response], advance_on_request=True) as server:
        source.url = server.url
        poller.poll_once(source=source)
        outcome = poller.poll_once(source=source)
    assert outcome.failing
    stored = TimingSource.objects.get(pk=source.pk)
    assert stored.failures == 1 and not stored.healthy and stored.last_error
    assert Feed.objects.get(pk=live_feed.pk).race["flag"] == "yellow"


def test_an_unreachable_source_is_a_failure_not_a_crash(source):
    source.url = f"http://127.0.0.1:{free_port()}/live_feed.json"
    outcome = poller.poll_once(source=source)
    assert outcome.kind == "unreachable" and "request failed" in outcome.reason


def test_a_private_address_is_refused_when_the_operator_has_not_allowed_it(source):
    with timing_server([Response({"flag": "green", "lap": 3})]) as server:
        with override_settings(LIVEFEED={**settings.LIVEFEED, "OUTBOUND_ALLOW_PRIVATE": False}):
            source.url = server.url
            outcome = poller.poll_once(source=source)
            with pytest.raises(ValidationError) as error:
                TimingSource(feed=source.feed, author=source.author, url=server.url).full_clean()
        assert server.hits == [0]
    assert outcome.kind == "unreachable" and "LIVEFEED_OUTBOUND_ALLOW_PRIVATE" in outcome.reason
    assert "url" in error.value.message_dict


def test_starting_a_source_queues_one_run_now_and_each_run_queues_the_next(source):
    with timing_server([Response({"flag": "green", "lap": 3})]) as server:
        source.url = server.url
        source.save()
        poller.start(source=source)
        [first] = queued()
        assert first.args_kwargs["kwargs"] == {"source_id": source.pk, "generation": 1}
        before = timezone.now()
        assert poller.poll_timing_source.call(source_id=source.pk, generation=1) == "applied"
    following = [task for task in queued() if task.pk != first.pk]
    assert len(following) == 1
    assert before + timedelta(seconds=4) < following[0].run_after <= timezone.now() + timedelta(seconds=5)


def test_a_failing_source_is_polled_later_and_later(source):
    with timing_server([Response("down", status=503)]) as server:
        source.url = server.url
        source.max_backoff_seconds = 15
        source.save()
        poller.start(source=source)
        for delay in (10, 15, 15):
            DBTaskResult.objects.all().delete()
            started = timezone.now()
            poller.poll_timing_source.call(source_id=source.pk, generation=1)
            finished = timezone.now()
            # Counted from the failed poll, some moment within the call, however long it took.
            wait = timedelta(seconds=delay)
            assert started + wait <= queued()[0].run_after <= finished + wait


def test_a_replaced_chain_stops_without_queueing(source):
    with timing_server([Response({"flag": "green", "lap": 3})]) as server:
        source.url = server.url
        source.save()
        poller.start(source=source)
        poller.start(source=source)  # saved again in the admin: generation 2 takes over
        DBTaskResult.objects.all().delete()
        assert poller.poll_timing_source.call(source_id=source.pk, generation=1) == "replaced"
        assert queued() == [] and server.hits == [0]


def test_a_source_without_url_or_switched_off_is_not_polled(source):
    source.url = ""
    source.save()
    poller.start(source=source)
    assert queued() == []
