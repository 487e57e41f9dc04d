"""`replaytiming` plays recorded snapshots through real ingest: a whole NASCAR weekend (practice,
qualifying, race, finish, next week's leftover, next week's race) and what readers see at each step."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from feeds.models import Entry, Feed
from feeds.rendering import render_race_status
from feeds.timing import replay
from feeds.timing.models import TimingSource
from tests.fixtures.nascar_weekend import write_weekend

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(live_feed, publisher) -> TimingSource:
    return TimingSource.objects.create(
        feed=live_feed,
        author=publisher,
        format="nascar",
        post_flag_changes="published",
        post_lead_changes="published",
    )


def replaytiming(*args: str, **options) -> str:
    out = StringIO()
    call_command("replaytiming", *args, stdout=out, **options)
    return out.getvalue()


def readers_see(feed) -> str:
    text = re.sub(r"<[^>]+>", " ", render_race_status(Feed.objects.get(pk=feed.pk).race))
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def published(feed) -> list[str]:
    entries = Entry.objects.filter(feed=feed, status="published").order_by("id")
    return list(entries.values_list("headline", flat=True))


# (recording, what ingest does, the status bar starts with, it shows, it does not show, posts it adds)
WEEKEND = [
    (
        "00_last_week_finished",
        "applied",
        "Checkered flag · Lap 367 of 367",
        ["Winner Chase Briscoe", "Darlington"],
        ["Not started", "(P)"],
        ["Checkered flag: Chase Briscoe wins the Cook Out Southern 500"],
    ),
    ("01_idle", "idle", "Checkered flag · Lap 367 of 367", ["Winner Chase Briscoe"], [], []),
    (
        "02_practice",
        "applied",
        "Green flag · Lap 16 Series",
        ["Session Final Practice", "Joey Logano (#22)"],
        ["999", "Leader", "Stage", "Cautions", "Lead changes", "Darlington", "Winner"],
        ["Final Practice: green flag"],
    ),
    (
        "03_practice_end",
        "applied",
        "Checkered flag · Lap 31 Series",
        ["Session Final Practice"],
        ["Winner", "Leader"],
        ["Final Practice: checkered flag"],
    ),
    ("04_idle", "idle", "Checkered flag · Lap 31 Series", ["Session Final Practice"], [], []),
    (
        "05_qualifying",
        "applied",
        "Green flag · Lap 1 Series",
        ["Session Qualifying"],
        ["Final Practice", "Leader", "999"],
        ["Qualifying: green flag"],
    ),
    (
        "06_race_lap_233",
        "applied",
        "Green flag · Lap 233 of 260, 27 to go",
        [
            "Session Ambetter Health 400 (race)",
            "Stage 3 (ends lap 260), 27 laps left",
            "Leader Brad Keselowski",
            "Cautions 5",
            "Lead changes 19 among 13 drivers",
        ],
        ["Qualifying"],
        ["Green flag on lap 233"],
    ),
    (
        "07_lead_change",
        "applied",
        "Green flag · Lap 234 of 260, 26 to go",
        ["Leader Tyler Reddick", "Lead changes 20 among 13"],
        [],
        ["Tyler Reddick takes the lead on lap 234, 26 to go (lead change 20)"],
    ),
    (
        "08_caution",
        "applied",
        "Caution · Lap 258 of 260, 2 to go",
        ["2 laps left", "Cautions 6"],
        [],
        ["Caution on lap 258, 2 to go in the stage"],
    ),
    (
        "09_overtime_restart",
        "applied",
        "Green flag · Lap 261 of 261",
        ["Leader Tyler Reddick"],
        ["Stage"],
        ["Restart on lap 261"],
    ),
    ("10_white", "applied", "White flag · Lap 262 of 263, 1 to go", [], ["Stage"], ["White flag: final lap"]),
    (
        "11_checkered",
        "applied",
        "Checkered flag · Lap 263 of 263",
        ["Winner Tyler Reddick"],
        ["Leader", "to go"],
        ["Checkered flag: Tyler Reddick wins the Ambetter Health 400"],
    ),
    (
        "12_finished",
        "unchanged",
        "Checkered flag · Lap 263 of 263",
        ["Winner Tyler Reddick"],
        ["Not started"],
        [],
    ),
    (
        "13_next_week_leftover",
        "unchanged",
        "Checkered flag · Lap 263 of 263",
        ["Winner Tyler Reddick"],
        ["Not started"],
        [],
    ),
    (
        "14_next_week_race_lap_233",
        "applied",
        "Green flag · Lap 233 of 260, 27 to go",
        ["Leader Brad Keselowski"],
        ["Winner"],
        ["Green flag on lap 233"],
    ),
]


def test_a_replayed_weekend_shows_readers_each_session_as_it_is(source, live_feed, tmp_path):
    paths = {path.stem: path for path in write_weekend(tmp_path)}
    assert list(paths) == [step[0] for step in WEEKEND]
    posts: list[str] = []
    for name, kind, starts, shows, hides, new_posts in WEEKEND:
        output = replaytiming(str(paths[name]), live_feed.slug, speed=0)
        assert f"{name}.json: {kind}" in output, output
        bar = readers_see(live_feed)
        assert bar.startswith(starts), (name, bar)
        for text in shows:
            assert text in bar, (name, text, bar)
        for text in hides:
            assert text not in bar, (name, text, bar)
        posts += new_posts
        assert published(live_feed) == posts, name
        stored = TimingSource.objects.get(pk=source.pk)
        assert stored.healthy and stored.failures == 0, (name, stored.last_error)


def test_a_whole_weekend_folder_plays_in_name_order_in_one_command(source, live_feed, tmp_path):
    write_weekend(tmp_path)
    output = replaytiming(str(tmp_path), live_feed.slug, speed=0)
    assert "Playing 15 snapshots into night-race" in output
    assert "Done: 11 applied, 2 idle, 2 unchanged." in output
    assert "posted (published): Checkered flag: Tyler Reddick wins the Ambetter Health 400" in output
    assert readers_see(live_feed).startswith("Green flag · Lap 233 of 260, 27 to go")
    assert len(published(live_feed)) == 11


def test_a_jsonl_recording_is_one_snapshot_per_line(source, live_feed, tmp_path):
    recording = tmp_path / "race.jsonl"
    recording.write_text('{"flag_state": 1, "lap_number": 1}\n\n{"flag_state": 2, "lap_number": 2}\nnull\n')
    output = replaytiming(str(recording), live_feed.slug, speed=0)
    assert (
        "race.jsonl:1: applied" in output
        and "race.jsonl:2: applied" in output
        and "race.jsonl:3: idle" in output
    )
    assert Feed.objects.get(pk=live_feed.pk).race == {"flag": "yellow", "lap": 2}


def test_replay_waits_the_snapshots_own_gaps_divided_by_the_speed(source, tmp_path):
    paths = write_weekend(tmp_path)
    recordings = replay.load_recordings(paths[6].parent, format="nascar")
    waits: list[float] = []
    replay.replay(source=source, recordings=recordings[6:9], speed=10, max_wait=600, sleep=waits.append)
    # 06 → 07 is 30 s of race time and 07 → 08 is 12 min 8 s; at ten times the speed:
    assert waits == [3.0, 72.8]


def test_delays_use_the_interval_without_times_cap_long_gaps_and_skip_waiting_at_speed_zero():
    start = datetime(2025, 9, 7, 22, 0, tzinfo=UTC)
    recordings = [
        replay.Recording("a", b"", start),
        replay.Recording("idle", b""),
        replay.Recording("b", b"", start + timedelta(seconds=20)),
        replay.Recording("next day", b"", start + timedelta(days=1)),
        replay.Recording("older", b"", start),
    ]
    assert replay.delays(recordings, speed=1, interval=5, max_wait=60) == [0, 5, 20, 60, 5]
    assert replay.delays(recordings, speed=2, interval=5, max_wait=60) == [0, 2.5, 10, 60, 2.5]
    assert replay.delays(recordings, speed=0, interval=5, max_wait=60) == [0, 0, 0, 0, 0]


def test_replay_names_what_is_missing(live_feed, tmp_path):
    with pytest.raises(CommandError, match="no timing source"):
        replaytiming(str(tmp_path), live_feed.slug)
    with pytest.raises(CommandError, match="No feed with the slug"):
        replaytiming(str(tmp_path), "no-such-feed")


def test_replay_refuses_an_empty_folder_or_a_switched_off_source(source, live_feed, tmp_path):
    with pytest.raises(CommandError, match="no recordings"):
        replaytiming(str(tmp_path), live_feed.slug)
    with pytest.raises(CommandError, match="neither a file nor a folder"):
        replaytiming(str(tmp_path / "missing.json"), live_feed.slug)
    source.enabled = False
    source.save()
    with pytest.raises(CommandError, match="switched off"):
        replaytiming(str(tmp_path), live_feed.slug)
