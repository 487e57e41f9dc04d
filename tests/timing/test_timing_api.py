"""`POST /api/feeds/<slug>/timing/`: an Editor's token pushes a snapshot in the source's format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from feeds.models import Entry, Feed
from feeds.timing.models import TimingSource

pytestmark = pytest.mark.django_db

NASCAR = (Path(__file__).parent.parent / "fixtures" / "timing" / "nascar_caution.json").read_bytes()


@pytest.fixture
def source(live_feed, publisher) -> TimingSource:
    return TimingSource.objects.create(
        feed=live_feed, author=publisher, format="nascar", post_flag_changes="published"
    )


def push(user, feed, body: bytes | str, content_type: str = "application/json"):
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {user.token}")
    return client.post(f"/api/feeds/{feed.slug}/timing/", data=body, content_type=content_type)


def nothing_written(feed) -> bool:
    stored = Feed.objects.get(pk=feed.pk)
    return stored.race == {} and stored.seq == feed.seq and not Entry.objects.filter(feed=feed).exists()


def test_a_push_in_the_sources_format_updates_the_race_and_posts_the_flag(publisher, live_feed, source):
    response = push(publisher, live_feed, NASCAR)
    assert response.status_code == 200
    data = response.json()
    assert data["result"] == "applied" and data["race"]["flag"] == "yellow" and data["race"]["lap"] == 57
    [entry] = Entry.objects.filter(feed=live_feed)
    assert data["posted"] == [entry.pk] and entry.is_visible_to_readers
    assert entry.headline == "Caution on lap 57, 128 to go in the stage"
    assert push(publisher, live_feed, NASCAR).json()["result"] == "unchanged"


def test_a_push_needs_a_token(live_feed, source):
    assert push(None, live_feed, NASCAR).status_code in (401, 403)
    assert nothing_written(live_feed)


def test_a_bad_token_is_refused(live_feed, source, publisher):
    publisher.token = "not-a-token"
    assert push(publisher, live_feed, NASCAR).status_code == 401
    assert nothing_written(live_feed)


def test_a_contributor_may_not_push(make_member, live_feed, source):
    response = push(make_member("Contributor", "casey"), live_feed, NASCAR)
    assert response.status_code == 403
    assert nothing_written(live_feed)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"", "body"),
        (b"not json", "body"),
        (json.dumps({"flag_state": 1, "lap_number": "three"}), "lap_number"),
        (json.dumps({"flag_state": 1}), "lap_number"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_problem_and_writes_nothing(publisher, live_feed, source, body, field):
    response = push(publisher, live_feed, body)
    assert response.status_code == 400 and field in response.json()
    assert nothing_written(live_feed)
    assert not TimingSource.objects.get(pk=source.pk).healthy


def test_a_push_with_an_unreadable_field_applies_the_rest_and_names_what_it_left_out(
    publisher, live_feed, source
):
    body = {
        "flag_state": 6,
        "lap_number": 3,
        "vehicles": [{"running_position": 1}, {"running_position": 2, "driver": {"full_name": "Ty Gibbs"}}],
    }
    response = push(publisher, live_feed, json.dumps(body))
    assert response.status_code == 200
    data = response.json()
    assert data["result"] == "applied" and data["race"] == {
        "lap": 3,
        "leader": "Ty Gibbs",
        "running_order": ["Ty Gibbs"],
    }
    assert (
        "flag_state: unknown code 6" in data["reason"]
        and "vehicles: car 0 without a position or name" in data["reason"]
    )
    stored = TimingSource.objects.get(pk=source.pk)
    assert not stored.healthy and "flag_state: unknown code 6" in stored.health_text()


def test_a_stale_push_is_a_409_and_changes_nothing(publisher, live_feed, source):
    push(publisher, live_feed, NASCAR)
    older = json.loads(NASCAR)
    older.update(lap_number=50, flag_state=1)
    seq = Feed.objects.get(pk=live_feed.pk).seq
    response = push(publisher, live_feed, json.dumps(older))
    assert response.status_code == 409 and "behind the last applied lap 57" in response.json()["reason"]
    assert (
        Feed.objects.get(pk=live_feed.pk).seq == seq
        and Feed.objects.get(pk=live_feed.pk).race["flag"] == "yellow"
    )


def test_a_feed_without_a_timing_source_answers_404(publisher, live_feed):
    response = push(publisher, live_feed, NASCAR)
    assert response.status_code == 404 and "no timing source" in response.json()["detail"]


def test_a_retried_push_with_one_idempotency_key_posts_the_flag_once(publisher, live_feed, source):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {publisher.token}")
    url = f"/api/feeds/{live_feed.slug}/timing/"
    answers = [
        client.post(url, data=NASCAR, content_type="application/json", HTTP_IDEMPOTENCY_KEY="push-1")
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 200] and answers[0].json() == answers[1].json()
    assert answers[1]["Idempotent-Replayed"] == "true"
    assert Entry.objects.filter(feed=live_feed).count() == 1


def test_a_malformed_push_with_an_idempotency_key_still_marks_the_source_unhealthy(
    publisher, live_feed, source
):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {publisher.token}")
    response = client.post(
        f"/api/feeds/{live_feed.slug}/timing/",
        data=b"not json",
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="push-2",
    )
    assert response.status_code == 400
    assert not TimingSource.objects.get(pk=source.pk).healthy


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_a_keyed_push_sent_as_a_form_is_answered_and_replayed(publisher, live_feed, source, content_type):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {publisher.token}")
    url = f"/api/feeds/{live_feed.slug}/timing/"
    answers = [
        client.post(url, data=NASCAR, content_type=content_type, HTTP_IDEMPOTENCY_KEY="form-push")
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 200] and answers[0].json() == answers[1].json()
    assert answers[1]["Idempotent-Replayed"] == "true"
    assert Entry.objects.filter(feed=live_feed).count() == 1


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+00:06", "9999-12-31T23:59:00-01:00", "1899-12-31T23:00:00Z"]
)
def test_a_livefeed_push_timed_outside_the_years_kept_is_a_400_not_a_crash(publisher, live_feed, moment):
    """Year 1 at +00:06 is valid RFC 3339 but before year 1 in UTC: storing it crashed the push."""
    TimingSource.objects.create(
        feed=live_feed, author=publisher, format="livefeed", post_flag_changes="published"
    )
    response = push(publisher, live_feed, json.dumps({"flag": "green", "lap": 4, "updated_at": moment}))
    assert response.status_code == 400 and "updated_at" in response.json()
    assert nothing_written(live_feed)
