"""Timing snapshots drive the race status: applied once and in order, flags posted by themselves,
bad or stale data leaving the last good status in place."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from feeds import selectors
from feeds.models import Entry, Feed
from feeds.timing import ingest
from feeds.timing.health import render_health
from feeds.timing.models import TimingSource

pytestmark = pytest.mark.django_db

NASCAR = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "timing" / "nascar_caution.json").read_text()
)


@pytest.fixture
def source(live_feed, publisher) -> TimingSource:
    return TimingSource.objects.create(feed=live_feed, author=publisher, format="livefeed")


def snap(flag: str, lap: int, **more) -> dict:
    return {"flag": flag, "lap": lap, "laps_total": 200, **more}


def feed_race(feed) -> dict:
    return Feed.objects.get(pk=feed.pk).race


def posts(feed) -> list[Entry]:
    return list(Entry.objects.filter(feed=feed).order_by("id"))


def test_a_snapshot_becomes_the_race_status_readers_see(source, live_feed):
    seq = live_feed.seq
    outcome = ingest.ingest(
        source=source, payload=json.dumps(snap("green", 12, leader="Kyle Larson", cautions=1))
    )
    assert outcome.kind == "applied"
    feed = Feed.objects.get(pk=live_feed.pk)
    assert feed.race == {
        "flag": "green",
        "lap": 12,
        "laps_total": 200,
        "leader": "Kyle Larson",
        "cautions": 1,
    }
    assert "Lap 12 of 200" in feed.race_html
    changes = selectors.changes_after(feed=feed, after=seq)
    assert changes[0]["type"] == "feed.updated" and changes[0]["feed_data"]["race"]["lap"] == 12


def test_a_nascar_snapshot_sets_stage_cautions_and_running_order(source, live_feed):
    source.format = "nascar"
    source.save()
    assert ingest.ingest(source=source, payload=json.dumps(NASCAR)).kind == "applied"
    race = feed_race(live_feed)
    assert race["flag"] == "yellow" and race["stage"] == "2 (ends lap 185)" and race["cautions"] == 3
    assert race["leader"] == "Kyle Larson" and len(race["running_order"]) == 10


def test_a_new_flag_posts_a_race_status_draft_by_default(source, live_feed):
    ingest.ingest(source=source, payload=snap("green", 56))
    outcome = ingest.ingest(source=source, payload=snap("yellow", 57, flag_reason="debris, Turn 3"))
    caution = outcome.posts[0]
    assert caution.kind == "race_status" and caution.headline == "Caution on lap 57 (debris, Turn 3)"
    assert caution.status == "draft" and not caution.is_visible_to_readers
    assert caution.author == source.author and caution.details["flag"] == "yellow"
    assert [e.headline for e in posts(live_feed)] == [
        "Green flag on lap 56",
        "Caution on lap 57 (debris, Turn 3)",
    ]


def test_flag_posts_can_be_published_at_once(source, live_feed):
    source.post_flag_changes = "published"
    source.save()
    ingest.ingest(source=source, payload=snap("yellow", 57))
    ingest.ingest(source=source, payload=snap("green", 62))
    ingest.ingest(source=source, payload=snap("checkered", 200, leader="Kyle Larson"))
    entries = posts(live_feed)
    assert [e.headline for e in entries] == [
        "Caution on lap 57",
        "Restart on lap 62",
        "Checkered flag: Kyle Larson wins",
    ]
    assert all(e.is_visible_to_readers for e in entries) and entries[-1].key_event


def test_flag_posts_can_be_off(source, live_feed):
    source.post_flag_changes = "off"
    source.save()
    ingest.ingest(source=source, payload=snap("yellow", 57))
    assert feed_race(live_feed)["flag"] == "yellow" and posts(live_feed) == []


def test_the_same_flag_twice_posts_once(source, live_feed):
    ingest.ingest(source=source, payload=snap("yellow", 57))
    ingest.ingest(source=source, payload=snap("yellow", 57))
    ingest.ingest(source=source, payload=snap("yellow", 58))
    assert [e.headline for e in posts(live_feed)] == ["Caution on lap 57"]
    assert feed_race(live_feed)["lap"] == 58


def test_a_lap_going_backwards_is_stale_and_changes_nothing(source, live_feed):
    ingest.ingest(source=source, payload=snap("yellow", 57))
    seq = Feed.objects.get(pk=live_feed.pk).seq
    outcome = ingest.ingest(source=source, payload=snap("green", 56))
    assert outcome.kind == "stale" and "lap 56 is behind the last applied lap 57" in outcome.reason
    assert feed_race(live_feed)["flag"] == "yellow" and Feed.objects.get(pk=live_feed.pk).seq == seq
    assert [e.headline for e in posts(live_feed)] == ["Caution on lap 57"]


def test_a_flapping_flag_posts_each_real_change_once(source, live_feed):
    for payload in (
        snap("yellow", 57, updated_at="2026-11-28T19:42:07Z"),
        snap("green", 57, updated_at="2026-11-28T19:42:01Z"),  # older than the last applied: stale
        snap("yellow", 57, updated_at="2026-11-28T19:42:09Z"),  # a repeat
        snap("green", 61, updated_at="2026-11-28T19:45:00Z"),
    ):
        ingest.ingest(source=source, payload=payload)
    assert [e.headline for e in posts(live_feed)] == ["Caution on lap 57", "Restart on lap 61"]


def test_lead_changes_are_not_posted_by_default(source, live_feed):
    ingest.ingest(source=source, payload=snap("green", 87, leader="Denny Hamlin"))
    ingest.ingest(source=source, payload=snap("green", 88, leader="Kyle Larson"))
    assert feed_race(live_feed)["leader"] == "Kyle Larson"
    assert [e.headline for e in posts(live_feed)] == ["Green flag on lap 87"]


def test_lead_changes_are_posted_when_asked(source, live_feed):
    source.post_lead_changes = "published"
    source.save()
    ingest.ingest(source=source, payload=snap("green", 87, leader="Denny Hamlin"))
    outcome = ingest.ingest(source=source, payload=snap("green", 88, leader="Kyle Larson"))
    assert [e.headline for e in outcome.posts] == ["Kyle Larson takes the lead on lap 88"]
    assert outcome.posts[0].is_visible_to_readers
    ingest.ingest(source=source, payload=snap("green", 89, leader="Kyle Larson"))
    assert len(posts(live_feed)) == 2


def test_malformed_data_keeps_the_last_good_status_logs_once_and_marks_the_source_unhealthy(
    source, live_feed, caplog
):
    ingest.ingest(source=source, payload=snap("green", 12))
    assert TimingSource.objects.get(pk=source.pk).healthy
    caplog.set_level(logging.WARNING, logger="feeds.timing.ingest")
    for _ in range(3):
        outcome = ingest.ingest(source=source, payload=b'{"flag": "green", "lap": "thirteen"}')
    assert outcome.kind == "bad" and outcome.failing
    assert feed_race(live_feed) == {"flag": "green", "lap": 12, "laps_total": 200}
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert lines == [
        f"Timing source {source.pk} (feed {live_feed.slug}) ignored a response: malformed data: lap: must be a whole number, 0 or more"
    ]
    stored = TimingSource.objects.get(pk=source.pk)
    assert not stored.healthy and stored.failures == 3 and "lap" in stored.last_error
    panel = render_health(stored)
    assert 'data-healthy="false"' in panel and "malformed data: lap: must be a whole number" in panel
    ingest.ingest(source=source, payload=snap("green", 13))
    stored = TimingSource.objects.get(pk=source.pk)
    assert stored.healthy and stored.failures == 0 and stored.last_error == ""


def test_data_the_race_status_refuses_is_bad_data_and_writes_nothing(source, live_feed):
    # An editor set the distance to 10 laps; a snapshot on lap 12 without a distance contradicts it.
    Feed.objects.filter(pk=live_feed.pk).update(race={"laps_total": 10})
    outcome = ingest.ingest(source=source, payload={"flag": "green", "lap": 12})
    assert outcome.kind == "bad" and "lap" in outcome.reason
    assert feed_race(live_feed) == {"laps_total": 10} and posts(live_feed) == []


def test_data_unchanged_for_too_long_under_green_is_reported_stale(source, live_feed):
    source.stale_after_seconds = 60
    source.save()
    start = timezone.now()
    ingest.ingest(source=source, payload=snap("green", 12), now=start)
    assert (
        ingest.ingest(source=source, payload=snap("green", 12), now=start + timedelta(seconds=30)).kind
        == "unchanged"
    )
    outcome = ingest.ingest(source=source, payload=snap("green", 12), now=start + timedelta(seconds=90))
    assert outcome.kind == "stale" and "unchanged for 90 s" in outcome.reason
    assert not TimingSource.objects.get(pk=source.pk).healthy
    assert (
        ingest.ingest(source=source, payload=snap("green", 13), now=start + timedelta(seconds=95)).kind
        == "applied"
    )


def test_a_long_red_flag_is_not_stale(source, live_feed):
    source.stale_after_seconds = 60
    source.save()
    start = timezone.now()
    ingest.ingest(source=source, payload=snap("red", 120), now=start)
    assert (
        ingest.ingest(source=source, payload=snap("red", 120), now=start + timedelta(minutes=20)).kind
        == "unchanged"
    )


def test_the_author_must_be_allowed_to_run_the_feed_and_to_publish_if_asked(make_member, live_feed):
    contributor, editor = make_member("Contributor", "casey"), make_member("Editor", "eve")
    with pytest.raises(ValidationError) as error:
        TimingSource(feed=live_feed, author=contributor).full_clean()
    assert "author" in error.value.message_dict
    TimingSource(feed=live_feed, author=editor, post_flag_changes="published").full_clean()


def test_an_author_who_lost_the_role_stops_updates_without_writing(make_member, live_feed):
    editor = make_member("Editor", "eve")
    source = TimingSource.objects.create(feed=live_feed, author=editor, post_flag_changes="published")
    editor.groups.clear()
    outcome = ingest.ingest(source=source, payload=snap("yellow", 57))
    assert outcome.kind == "refused" and "may not change the race status" in outcome.reason
    assert feed_race(live_feed) == {} and posts(live_feed) == []


def test_a_failing_post_rolls_back_the_status_change(make_member, live_feed):
    from django.contrib.auth.models import Permission

    editor = make_member("Editor", "eve")
    source = TimingSource.objects.create(feed=live_feed, author=editor, post_flag_changes="published")
    editor.groups.first().permissions.remove(Permission.objects.get(codename="publish_entry"))
    outcome = ingest.ingest(source=source, payload=snap("yellow", 57))
    assert outcome.kind == "refused"
    assert feed_race(live_feed) == {} and posts(live_feed) == []


def test_a_switched_off_source_is_ignored(source, live_feed):
    source.enabled = False
    source.save()
    assert ingest.ingest(source=source, payload=snap("green", 1)).kind == "refused"
    assert feed_race(live_feed) == {}


def test_a_finished_race_stays_finished_when_the_source_goes_inactive(source, live_feed):
    source.format = "nascar"
    source.save()
    ingest.ingest(source=source, payload={"flag_state": 4, "lap_number": 200, "laps_in_race": 200})
    ingest.ingest(source=source, payload={"flag_state": 9, "lap_number": 200, "laps_in_race": 200})
    assert feed_race(live_feed)["flag"] == "checkered"


def test_an_author_who_may_not_publish_posts_flag_drafts_without_key_events(make_member, live_feed):
    from django.contrib.auth.models import Permission

    editor = make_member("Editor", "eve")
    editor.groups.first().permissions.remove(Permission.objects.get(codename="publish_entry"))
    source = TimingSource.objects.create(feed=live_feed, author=editor, post_flag_changes="draft")
    [red] = ingest.ingest(source=source, payload=snap("red", 120)).posts
    assert red.status == "draft" and not red.key_event and feed_race(live_feed)["flag"] == "red"


def test_forgetting_the_last_lap_lets_a_new_session_start_from_lap_one(source, live_feed):
    ingest.ingest(source=source, payload=snap("checkered", 200))
    assert ingest.ingest(source=source, payload=snap("green", 1)).kind == "stale"
    ingest.reset(source=source)
    assert ingest.ingest(source=source, payload=snap("green", 1)).kind == "applied"
    assert feed_race(live_feed)["lap"] == 1


def test_a_polled_source_long_past_its_next_poll_is_unhealthy(source):
    ingest.ingest(source=source, payload=snap("green", 1))
    source.url = "https://timing.example.com/live.json"
    source.next_poll_at = timezone.now() - timedelta(minutes=5)
    assert not source.healthy and "is the background worker running?" in source.health_text()
    source.next_poll_at = timezone.now()
    assert source.healthy
