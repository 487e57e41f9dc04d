"""Timing adapters read their documented formats into a race snapshot, and name what is wrong."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feeds.timing import registry
from feeds.timing.adapters import livefeed, nascar
from feeds.timing.snapshot import BadTimingData

FIXTURES = Path(__file__).parent.parent / "fixtures" / "timing"
DOCS = Path(__file__).parent.parent.parent / "docs" / "timing.md"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def bad(adapter, payload) -> BadTimingData:
    with pytest.raises(BadTimingData) as error:
        adapter.parse(payload)
    return error.value


# --- Livefeed's own format ---------------------------------------------------------------------


def test_livefeed_format_reads_every_field():
    snapshot = livefeed.adapter.parse(json.dumps(fixture("livefeed_caution.json")).encode())
    assert snapshot.flag == "yellow" and snapshot.flag_reason == "debris, Turn 3"
    assert (snapshot.lap, snapshot.laps_total, snapshot.stage, snapshot.cautions) == (57, 200, "2", 3)
    assert snapshot.leader == "Kyle Larson"
    assert snapshot.running_order == ["Kyle Larson (#5)", "Denny Hamlin (#11)", "Chase Elliott (#9)"]
    assert (snapshot.series, snapshot.track, snapshot.session) == (
        "Harbor City Cup",
        "Harbor City Speedway",
        "race",
    )
    assert snapshot.timestamp == datetime(2026, 11, 28, 19, 42, 7, tzinfo=UTC)


def test_the_documented_example_parses():
    example = re.search(r"```json\n(.*?)```", DOCS.read_text(), re.S).group(1)
    snapshot = livefeed.adapter.parse(example)
    assert snapshot.flag == "yellow" and snapshot.lap == 57


def test_livefeed_running_order_may_be_plain_names_and_is_cut_to_ten():
    snapshot = livefeed.adapter.parse(
        {"flag": "green", "lap": 3, "running_order": [f"Driver {i}" for i in range(12)]}
    )
    assert snapshot.running_order == [f"Driver {i}" for i in range(10)] and snapshot.leader == "Driver 0"


def test_an_explicit_leader_wins_over_the_running_order():
    assert (
        livefeed.adapter.parse({"flag": "green", "lap": 3, "leader": "A", "running_order": ["B"]}).leader
        == "A"
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        ({"lap": 4}, "flag"),
        ({"flag": "purple", "lap": 4}, "flag"),
        ({"flag": "green"}, "lap"),
        ({"flag": "green", "lap": "4"}, "lap"),
        ({"flag": "green", "lap": -1}, "lap"),
        ({"flag": "green", "lap": True}, "lap"),
        ({"flag": "green", "lap": 201, "laps_total": 200}, "lap"),
        ({"flag": "green", "lap": 4, "session": "warmup"}, "session"),
        ({"flag": "green", "lap": 4, "running_order": "Larson"}, "running_order"),
        ({"flag": "green", "lap": 4, "running_order": [{"number": 5}]}, "running_order[0]"),
        ({"flag": "green", "lap": 4, "updated_at": "yesterday"}, "updated_at"),
        ({"flag": "green", "lap": 4, "updated_at": "2026-11-28T19:42:07"}, "updated_at"),
        ({"flag": "green", "lap": 4, "updated_at": "0001-01-01T00:00:00+00:06"}, "updated_at"),
    ],
)
def test_livefeed_format_names_the_bad_field(payload, field):
    assert bad(livefeed.adapter, payload).field == field


# --- NASCAR's live feed ------------------------------------------------------------------------


def test_nascar_feed_reads_flag_lap_stage_cautions_and_running_order():
    snapshot = nascar.adapter.parse(json.dumps(fixture("nascar_caution.json")))
    assert snapshot.flag == "yellow"
    assert (snapshot.lap, snapshot.laps_total) == (57, 200)
    assert snapshot.stage == "2 (ends lap 185)"
    assert snapshot.cautions == 3
    assert snapshot.series == "NASCAR Cup Series" and snapshot.track == "Harbor City Speedway"
    # Sorted by running_position whatever the list order, cut to ten.
    assert snapshot.leader == "Kyle Larson"
    assert snapshot.running_order[:3] == ["Kyle Larson (#5)", "Denny Hamlin (#11)", "Chase Elliott (#9)"]
    assert len(snapshot.running_order) == 10 and snapshot.running_order[-1] == "Bubba Wallace (#23)"


@pytest.mark.parametrize(
    ("code", "flag"),
    [(1, "green"), (2, "yellow"), (3, "red"), (4, "checkered"), (5, "white"), (8, "none"), (9, "none")],
)
def test_nascar_flag_state_codes(code, flag):
    data = fixture("nascar_caution.json")
    data["flag_state"] = code
    assert nascar.adapter.parse(data).flag == flag


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("lap_number"), "lap_number"),
        (lambda d: d.update(lap_number="57"), "lap_number"),
        (lambda d: d.update(lap_number=-1), "lap_number"),
    ],
)
def test_nascar_feed_without_a_readable_lap_is_refused(change, field):
    data = copy.deepcopy(fixture("nascar_caution.json"))
    change(data)
    assert bad(nascar.adapter, data).field == field


@pytest.mark.parametrize(
    ("change", "left_out", "still"),
    [
        (lambda d: d.pop("flag_state"), "flag_state: missing", {"flag": None, "lap": 57}),
        (lambda d: d.update(flag_state=7), "flag_state: unknown code 7", {"flag": None, "lap": 57}),
        (lambda d: d.update(flag_state=True), "flag_state: unknown code True", {"flag": None, "cautions": 3}),
        (lambda d: d.update(stage=2), "stage: not an object", {"stage": None, "flag": "yellow"}),
        (
            lambda d: d["stage"].update(finish_at_lap="185"),
            "stage.finish_at_lap",
            {"stage": None, "cautions": 3},
        ),
        (lambda d: d.update(vehicles={}), "vehicles: not a list", {"running_order": None, "flag": "yellow"}),
        (
            lambda d: d["vehicles"][9].pop("running_position"),
            "vehicles: car 9 without",
            {"leader": "Denny Hamlin"},
        ),
        (
            lambda d: d["vehicles"][1]["driver"].pop("full_name"),
            "vehicles: car 1 without",
            {"leader": "Kyle Larson"},
        ),
        (
            lambda d: d.update(number_of_caution_segments=-2),
            "number_of_caution_segments: -2",
            {"cautions": None, "lap": 57},
        ),
        (
            lambda d: d.update(time_of_day_os="2026-11-28T19:42:07"),
            "time_of_day_os",
            {"timestamp": None, "lap": 57},
        ),
        (lambda d: d.update(run_type=7), "run_type: unknown code 7", {"session": None, "cautions": 3}),
    ],
)
def test_nascar_feed_leaves_out_an_unreadable_field_and_keeps_the_rest(change, left_out, still):
    data = copy.deepcopy(fixture("nascar_caution.json"))
    change(data)
    snapshot = nascar.adapter.parse(data)
    assert any(note.startswith(left_out) for note in snapshot.dropped), snapshot.dropped
    assert {name: getattr(snapshot, name) for name in still} == still


@pytest.mark.parametrize("code", [0, 6, 10])
def test_unknown_flag_codes_from_consumers_tables_keep_lap_and_running_order(code):
    data = fixture("nascar_caution.json")
    data["flag_state"] = code
    snapshot = nascar.adapter.parse(data)
    assert snapshot.flag is None and snapshot.lap == 57 and snapshot.leader == "Kyle Larson"
    assert snapshot.dropped == (f"flag_state: unknown code {code}, the flag is left as it was",)


def test_a_clean_snapshot_leaves_nothing_out():
    assert nascar.adapter.parse(fixture("nascar_caution.json")).dropped == ()


def test_a_partial_nascar_feed_keeps_what_it_has():
    snapshot = nascar.adapter.parse({"flag_state": 1, "lap_number": 0})
    assert snapshot.race_changes() == {"flag": "green", "lap": 0}


def test_the_registry_lists_both_formats():
    assert set(registry.ADAPTERS) == {"livefeed", "nascar"}
    assert registry.adapter_for("nascar") is nascar.adapter
