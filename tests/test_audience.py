"""The audience over time: samples taken once per moment, each entry's reach, peak and latest
readers, and the staff-only API and CSV files that give them to the newsroom."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone
from rest_framework.test import APIClient

from feeds import presence, services
from feeds.audience import sampling, stats
from feeds.models import Feed, ReaderSample
from feeds.tokens import issue_token

pytestmark = pytest.mark.django_db(transaction=True)

MOMENT = datetime(2026, 5, 24, 18, 0, tzinfo=UTC)


def sample(at: datetime) -> int:
    return async_to_sync(sampling.sample)(at=at)


def test_a_sample_counts_each_live_feeds_readers_in_this_process(publisher, live_feed):
    other = services.create_feed(by=publisher, title="Practice", slug="practice", status="live")
    for _ in range(3):
        presence.joined(live_feed.slug)
    assert sample(MOMENT) == 2
    counts = dict(ReaderSample.objects.filter(at=MOMENT).values_list("feed__slug", "readers"))
    assert counts == {live_feed.slug: 3, other.slug: 0}


def test_an_ended_feed_is_sampled_only_while_someone_still_reads_it(publisher):
    ended = services.create_feed(by=publisher, title="Yesterday", slug="yesterday", status="ended")
    assert sample(MOMENT) == 0
    presence.joined(ended.slug)
    assert sample(MOMENT + timedelta(seconds=5)) == 1
    assert ReaderSample.objects.get(feed=ended).readers == 1


def test_a_moment_sampled_twice_keeps_its_first_count(live_feed):
    presence.joined(live_feed.slug)
    sample(MOMENT)
    presence.joined(live_feed.slug)
    sample(MOMENT)
    assert list(ReaderSample.objects.values_list("at", "readers")) == [(MOMENT, 1)]


def test_sampling_starts_only_when_switched_on(settings):
    async def start() -> bool:
        sampling.keep_sampling()
        started = sampling.running()
        sampling.reset()
        return started

    assert async_to_sync(start)() is False
    settings.LIVEFEED = {**settings.LIVEFEED, "AUDIENCE_SAMPLE_SECONDS": 5}
    assert async_to_sync(start)() is True


def test_a_sample_stands_for_the_nearest_boundary_of_the_interval():
    moment = sampling.moment_now(5)
    assert moment.timestamp() % 5 == 0
    assert abs(timezone.now() - moment) <= timedelta(seconds=2.5)


def test_reach_is_the_nearest_sample_within_two_intervals():
    samples = [(MOMENT, 10), (MOMENT + timedelta(seconds=5), 20), (MOMENT + timedelta(seconds=60), 90)]
    assert stats.reach_at(samples, MOMENT + timedelta(seconds=4), 5) == 20
    assert stats.reach_at(samples, MOMENT + timedelta(seconds=1), 5) == 10
    assert stats.reach_at(samples, MOMENT - timedelta(seconds=9), 5) == 10
    assert stats.reach_at(samples, MOMENT + timedelta(seconds=30), 5) is None
    assert stats.reach_at([], MOMENT, 5) is None


def _samples(feed: Feed, *counts: int, start: datetime) -> None:
    ReaderSample.objects.bulk_create(
        ReaderSample(feed=feed, at=start + timedelta(seconds=5 * n), readers=count)
        for n, count in enumerate(counts)
    )


def _published(feed: Feed, by, body: str, at: datetime):
    entry = services.create_entry(feed=feed, by=by, body=body)
    type(entry).objects.filter(pk=entry.pk).update(published_at=at)
    return entry


@pytest.fixture
def staff_api(publisher) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {publisher.token}")
    return client


def test_the_api_gives_staff_the_samples_peak_latest_and_each_entrys_reach(staff_api, publisher, live_feed):
    _samples(live_feed, 4, 12, 30, 30, 7, start=MOMENT)
    early = _published(live_feed, publisher, "Green flag", MOMENT + timedelta(seconds=6))
    late = _published(live_feed, publisher, "Long after", MOMENT + timedelta(hours=1))
    services.create_entry(feed=live_feed, by=publisher, body="A draft", status="draft")

    data = staff_api.get(f"/api/feeds/{live_feed.slug}/audience/").json()

    assert data["interval"] == 5
    assert [sample["readers"] for sample in data["samples"]] == [4, 12, 30, 30, 7]
    assert data["peak"] == {"at": "2026-05-24T18:00:10Z", "readers": 30}
    assert data["latest"] == {"at": "2026-05-24T18:00:20Z", "readers": 7}
    assert [(entry["id"], entry["reach"]) for entry in data["entries"]] == [(early.pk, 12), (late.pk, None)]
    # An entry without a headline is named by the start of its text, as in the feeds.
    assert data["entries"][0]["headline"] == "Green flag"


def test_audience_figures_are_refused_to_anonymous_and_non_staff_callers(django_user_model, live_feed):
    assert APIClient().get(f"/api/feeds/{live_feed.slug}/audience/").status_code == 401
    reader = django_user_model.objects.create_user(username="fan", password="x")
    _, token = issue_token(user=reader)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    for path in ("audience/", "audience/readers.csv", "audience/entries.csv"):
        response = client.get(f"/api/feeds/{live_feed.slug}/{path}")
        assert response.status_code == 403
        assert response["Content-Type"] == "application/json"


def test_a_staff_session_reads_the_audience_too_as_the_desk_does(client, publisher, live_feed):
    client.force_login(publisher)
    assert client.get(f"/api/feeds/{live_feed.slug}/audience/").status_code == 200


def test_an_unknown_feed_is_a_404(staff_api):
    assert staff_api.get("/api/feeds/nothing-here/audience/").status_code == 404
    assert staff_api.get("/api/feeds/nothing-here/audience/readers.csv").status_code == 404


def test_readers_csv_has_one_row_per_sample(staff_api, live_feed):
    _samples(live_feed, 3, 8, start=MOMENT)
    response = staff_api.get(f"/api/feeds/{live_feed.slug}/audience/readers.csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="night-race-readers.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [["time", "readers"], ["2026-05-24T18:00:00Z", "3"], ["2026-05-24T18:00:05Z", "8"]]


def test_entries_csv_gives_each_reach_and_never_starts_a_cell_with_a_formula(staff_api, publisher, live_feed):
    _samples(live_feed, 3, 8, start=MOMENT)
    entry = services.create_entry(feed=live_feed, by=publisher, headline="=HYPERLINK(1)", body="x")
    type(entry).objects.filter(pk=entry.pk).update(published_at=MOMENT + timedelta(seconds=5))
    response = staff_api.get(f"/api/feeds/{live_feed.slug}/audience/entries.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["entry_id", "published_at", "headline", "reach"],
        [str(entry.pk), "2026-05-24T18:00:05Z", "'=HYPERLINK(1)", "8"],
    ]
