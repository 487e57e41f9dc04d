"""Real NASCAR live-feed payloads (tests/fixtures/timing/nascar/, sources in its README) read as
readers should see them: practice as practice, a finished race as finished with its winner,
clean driver names, and each snapshot applied through ingest."""

from __future__ import annotations

import copy
import html
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeds import race
from feeds.models import Entry, Feed
from feeds.rendering import render_race_status
from feeds.timing import ingest
from feeds.timing.adapters import nascar
from feeds.timing.models import TimingSource

PAYLOADS = Path(__file__).parent.parent / "fixtures" / "timing" / "nascar"


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def bar_text(state: dict) -> str:
    """The status bar as a reader reads it."""
    text = re.sub(r"<[^>]+>", " ", render_race_status(state))
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def shown(data: dict) -> str:
    return bar_text(race.clean_race({}, nascar.adapter.parse(data).race_changes()))


# What each payload showed before these changes is in docs/timing.md ("Real payloads").
STATUS_BARS = {
    "cup_2025_darlington_finished": (
        "Checkered flag · Lap 367 of 367 Series NASCAR Cup Series Track Darlington Raceway "
        "Session Cook Out Southern 500 (race) Winner Chase Briscoe Cautions 7 Lead changes 24 among 10 drivers "
        "Chase Briscoe (#19) Tyler Reddick (#45) Erik Jones (#43)"
    ),
    "cup_2023_cota_practice": (
        "Green flag · Lap 0 Series NASCAR Cup Series Track Circuit of the Americas Session Final Practice "
        "Joey Logano (#22) Corey LaJoie (#7) Chris Buescher (#17)"
    ),
    "cup_2023_atlanta_lap233": (
        "Green flag · Lap 233 of 260, 27 to go Series NASCAR Cup Series Track Atlanta Motor Speedway "
        "Session Ambetter Health 400 (race) Stage 3 (ends lap 260), 27 laps left Leader Brad Keselowski "
        "Cautions 5 Lead changes 19 among 13 drivers Brad Keselowski (#6) Tyler Reddick (#45) Christopher Bell (#20)"
    ),
    "xfinity_2026_chicagoland_finished": (
        "Checkered flag · Lap 201 of 201 Series NASCAR Xfinity Series Track Chicagoland Speedway "
        "Session Cuervo 300 (race) Winner Brandon Jones Cautions 7 Lead changes 16 among 6 drivers "
        "Brandon Jones (#20) Chase Elliott (#88) Jesse Love (#2) Brent Crews (#19)"
    ),
    "series999_2019_bristol_finished": (
        "Checkered flag · Lap 150 of 150 Series ARCA Menards Series Track Bristol Motor Speedway "
        "Session Zombie Auto 150 (race) Winner Sam Mayer Cautions 4 Lead changes 6 among 2 drivers "
        "Sam Mayer (#21) Chase Cabre (#4) Brandon McReynolds (#74)"
    ),
}


@pytest.mark.parametrize("name", sorted(STATUS_BARS))
def test_each_real_payload_reads_as_the_session_it_is(name):
    snapshot = nascar.adapter.parse((PAYLOADS / f"{name}.json").read_bytes())
    assert snapshot.dropped == ()
    assert bar_text(race.clean_race({}, snapshot.race_changes())) == STATUS_BARS[name]


@pytest.mark.parametrize(
    "name",
    ["cup_2025_darlington_finished", "xfinity_2026_chicagoland_finished", "series999_2019_bristol_finished"],
)
def test_not_active_on_the_last_lap_with_none_to_go_is_a_finished_race(name):
    snapshot = nascar.adapter.parse(payload(name))
    assert snapshot.flag == "checkered" and snapshot.lap == snapshot.laps_total
    assert snapshot.stage is None  # a finished race has no stage running


def test_not_active_before_the_start_is_not_started():
    data = payload("cup_2023_atlanta_lap233")
    data.update(flag_state=9, lap_number=0, laps_to_go=260)
    assert nascar.adapter.parse(data).flag == "none"


def test_practice_has_no_distance_stage_cautions_or_leader_and_is_not_refused():
    snapshot = nascar.adapter.parse(payload("cup_2023_cota_practice"))  # number_of_caution_laps is -1
    assert snapshot.session == "practice" and snapshot.session_name == "Final Practice"
    assert (snapshot.laps_total, snapshot.laps_to_go, snapshot.stage, snapshot.cautions, snapshot.leader) == (
        None,
    ) * 5
    assert (snapshot.lead_changes, snapshot.leaders) == (None, None)
    assert snapshot.running_order[0] == "Joey Logano (#22)"


def test_practice_lap_16_is_not_lap_16_of_999():
    data = payload("cup_2023_cota_practice")
    data["lap_number"] = 16
    text = shown(data)
    assert "Lap 16 " in text and "999" not in text and "Leader" not in text and "Stage" not in text


def test_qualifying_is_shown_as_qualifying():
    data = payload("cup_2023_cota_practice")
    data.update(run_type=2, run_name="Qualifying")
    snapshot = nascar.adapter.parse(data)
    assert snapshot.session == "qualifying" and snapshot.leader is None
    assert "Session Qualifying" in shown(data)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Chase Elliott(i)", "Chase Elliott"),
        ("* Tyler Reddick (P)", "Tyler Reddick"),
        ("Noah Gragson #", "Noah Gragson"),
        ("Sam Mayer *", "Sam Mayer"),
        ("Ricky Stenhouse Jr.", "Ricky Stenhouse Jr."),
        ("John Hunter Nemechek", "John Hunter Nemechek"),
    ],
)
def test_driver_name_markers_are_removed(raw, clean):
    assert nascar.clean_name(raw) == clean


def test_the_snapshot_time_is_read_with_its_offset():
    snapshot = nascar.adapter.parse(payload("cup_2025_darlington_finished"))
    assert snapshot.timestamp == datetime(2025, 9, 3, 18, 22, 40, 269126, tzinfo=UTC)
    assert (
        nascar.adapter.parse(payload("series999_2019_bristol_finished")).timestamp is None
    )  # older feeds lack it


def test_the_session_key_is_event_run_and_kind():
    assert nascar.adapter.parse(payload("cup_2025_darlington_finished")).session_key == "5575/11/3"
    assert nascar.adapter.parse(payload("cup_2023_cota_practice")).session_key == "5273/0/1"


def test_a_race_without_stages_shows_none():
    data = payload("series999_2019_bristol_finished")
    data.update(flag_state=1, lap_number=100, laps_to_go=50)
    snapshot = nascar.adapter.parse(data)
    assert snapshot.stage is None and snapshot.laps_to_go == 50


def test_a_stage_past_its_end_is_not_shown():
    data = payload("cup_2023_atlanta_lap233")
    data["stage"] = {"stage_num": 2, "finish_at_lap": 160, "laps_in_stage": 80}
    assert nascar.adapter.parse(data).stage is None
    assert nascar.adapter.parse(data).race_changes()["stage"] is None  # cleared, not left showing
    data["lap_number"] = 150
    snapshot = nascar.adapter.parse(data)
    assert (snapshot.stage, snapshot.stage_laps_left, snapshot.cleared) == ("2 (ends lap 160)", 10, ())


def test_a_lap_past_the_distance_is_overtime_not_an_error():
    data = payload("cup_2023_atlanta_lap233")
    data.update(lap_number=261, laps_to_go=0)
    snapshot = nascar.adapter.parse(data)
    assert (snapshot.lap, snapshot.laps_total, snapshot.dropped) == (261, 261, ())


# --- through ingest ---------------------------------------------------------------------------


@pytest.fixture
def source(live_feed, publisher) -> TimingSource:
    return TimingSource.objects.create(
        feed=live_feed,
        author=publisher,
        format="nascar",
        post_flag_changes="published",
        post_lead_changes="published",
    )


def readers_see(feed) -> str:
    return bar_text(Feed.objects.get(pk=feed.pk).race)


def headlines(feed) -> list[str]:
    return list(Entry.objects.filter(feed=feed).order_by("id").values_list("headline", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(STATUS_BARS))
def test_each_real_payload_applies_through_ingest(source, live_feed, name):
    outcome = ingest.ingest(source=source, payload=(PAYLOADS / f"{name}.json").read_bytes())
    assert outcome.kind == "applied" and outcome.reason == ""
    assert readers_see(live_feed) == STATUS_BARS[name]
    assert TimingSource.objects.get(pk=source.pk).healthy


@pytest.mark.django_db
def test_a_source_linked_after_the_finish_posts_the_result(source, live_feed):
    ingest.ingest(source=source, payload=payload("cup_2025_darlington_finished"))
    [post] = Entry.objects.filter(feed=live_feed)
    assert post.headline == "Checkered flag: Chase Briscoe wins the Cook Out Southern 500" and post.key_event


@pytest.mark.django_db
def test_next_weeks_race_at_a_lower_lap_is_a_new_session_not_stale(source, live_feed):
    ingest.ingest(source=source, payload=payload("cup_2025_darlington_finished"))  # lap 367
    outcome = ingest.ingest(source=source, payload=payload("xfinity_2026_chicagoland_finished"))  # lap 201
    assert outcome.kind == "applied"
    assert readers_see(live_feed) == STATUS_BARS["xfinity_2026_chicagoland_finished"]
    assert TimingSource.objects.get(pk=source.pk).last_lap == 201


@pytest.mark.django_db
def test_within_a_session_a_lap_going_back_is_still_stale(source, live_feed):
    data = payload("cup_2023_atlanta_lap233")
    ingest.ingest(source=source, payload=data)
    data.update(lap_number=230, time_of_day_os="2023-03-19T18:00:30-04:00")
    outcome = ingest.ingest(source=source, payload=data)
    assert outcome.kind == "stale" and "lap 230 is behind the last applied lap 233" in outcome.reason


@pytest.mark.django_db
def test_an_older_session_served_again_after_a_newer_one_is_stale_by_its_time(source, live_feed):
    ingest.ingest(source=source, payload=payload("cup_2025_darlington_finished"))
    outcome = ingest.ingest(source=source, payload=payload("cup_2023_atlanta_lap233"))
    assert outcome.kind == "stale" and "older than the last applied" in outcome.reason
    assert "Darlington" in readers_see(live_feed)


@pytest.mark.django_db
def test_a_new_session_clears_what_the_last_one_set(source, live_feed):
    ingest.ingest(source=source, payload=payload("cup_2023_atlanta_lap233"))
    practice = payload("cup_2023_cota_practice")
    ingest.ingest(source=source, payload=practice)
    state = Feed.objects.get(pk=live_feed.pk).race
    assert state["session"] == "practice" and state["session_name"] == "Final Practice"
    for gone in (
        "laps_total",
        "laps_to_go",
        "stage",
        "stage_laps_left",
        "leader",
        "cautions",
        "lead_changes",
        "leaders",
    ):
        assert gone not in state


@pytest.mark.django_db
def test_practice_never_posts_lead_changes(source, live_feed):
    practice = payload("cup_2023_cota_practice")
    ingest.ingest(source=source, payload=practice)
    practice = copy.deepcopy(practice)
    practice["vehicles"][0]["running_position"], practice["vehicles"][1]["running_position"] = 2, 1
    practice.update(lap_number=3, time_of_day_os="2023-03-24T13:45:00-05:00")
    ingest.ingest(source=source, payload=practice)
    assert Feed.objects.get(pk=live_feed.pk).race["running_order"][0] == "Corey LaJoie (#7)"
    assert headlines(live_feed) == ["Final Practice: green flag"]


@pytest.mark.django_db
def test_a_quiet_practice_under_green_is_not_reported_stale(source, live_feed):
    source.stale_after_seconds = 60
    source.save()
    start = datetime(2025, 9, 5, 18, 0, tzinfo=UTC)
    practice = payload("cup_2023_cota_practice")
    ingest.ingest(source=source, payload=practice, now=start)
    outcome = ingest.ingest(source=source, payload=practice, now=start + timedelta(minutes=10))
    assert outcome.kind == "unchanged" and TimingSource.objects.get(pk=source.pk).healthy


@pytest.mark.django_db
def test_a_lead_change_post_names_the_lap_laps_to_go_and_the_count(source, live_feed):
    race_data = payload("cup_2023_atlanta_lap233")
    ingest.ingest(source=source, payload=race_data)
    race_data = copy.deepcopy(race_data)
    race_data["vehicles"][0]["running_position"], race_data["vehicles"][1]["running_position"] = 2, 1
    race_data.update(
        lap_number=234, laps_to_go=26, number_of_lead_changes=20, time_of_day_os="2023-03-19T18:00:53-04:00"
    )
    outcome = ingest.ingest(source=source, payload=race_data)
    assert [post.headline for post in outcome.posts] == [
        "Tyler Reddick takes the lead on lap 234, 26 to go (lead change 20)"
    ]


@pytest.mark.django_db
def test_overtime_past_the_old_distance_is_applied(source, live_feed):
    data = payload("cup_2023_atlanta_lap233")
    data.update(lap_number=260, laps_to_go=0, time_of_day_os="2023-03-19T18:15:00-04:00")
    ingest.ingest(source=source, payload=data)
    data.update(lap_number=261, time_of_day_os="2023-03-19T18:15:30-04:00")  # laps_in_race not raised yet
    assert ingest.ingest(source=source, payload=data).kind == "applied"
    data.update(lap_number=262, laps_in_race=262, time_of_day_os="2023-03-19T18:16:00-04:00")
    assert ingest.ingest(source=source, payload=data).kind == "applied"
    assert "Lap 262 of 262" in readers_see(live_feed)


@pytest.mark.django_db
@pytest.mark.parametrize("body", [b"", b"  \n", b"null"])
def test_an_empty_answer_is_no_session_not_a_failure(source, live_feed, body):
    ingest.ingest(source=source, payload=payload("cup_2025_darlington_finished"))
    before = Feed.objects.get(pk=live_feed.pk)
    outcome = ingest.ingest(source=source, payload=body)
    assert outcome.kind == "idle" and not outcome.failing
    stored = TimingSource.objects.get(pk=source.pk)
    assert stored.healthy and stored.failures == 0
    after = Feed.objects.get(pk=live_feed.pk)
    assert after.race == before.race and after.seq == before.seq


@pytest.mark.django_db
def test_an_unknown_flag_code_applies_lap_and_order_and_is_reported_on_the_source(source, live_feed, caplog):
    data = payload("cup_2023_atlanta_lap233")
    ingest.ingest(source=source, payload=data)
    data = copy.deepcopy(data)
    data.update(flag_state=6, lap_number=235, time_of_day_os="2023-03-19T18:01:30-04:00")
    data["vehicles"][0]["running_position"], data["vehicles"][1]["running_position"] = 2, 1
    outcome = ingest.ingest(source=source, payload=data)
    assert outcome.kind == "applied" and "flag_state: unknown code 6" in outcome.reason
    state = Feed.objects.get(pk=live_feed.pk).race
    assert state["flag"] == "green" and state["lap"] == 235 and state["leader"] == "Tyler Reddick"
    stored = TimingSource.objects.get(pk=source.pk)
    assert not stored.healthy and "left out flag_state: unknown code 6" in stored.health_text()
    assert any("left out flag_state" in record.getMessage() for record in caplog.records)
    data.update(flag_state=1, lap_number=236, time_of_day_os="2023-03-19T18:02:00-04:00")
    ingest.ingest(source=source, payload=data)
    assert TimingSource.objects.get(pk=source.pk).healthy
