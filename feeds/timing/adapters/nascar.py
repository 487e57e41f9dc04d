"""The shape of NASCAR's public live feed (`https://cf.nascar.com/live/feeds/live-feed.json`).

NASCAR does not publish a specification; the field names and codes below are the ones the feed
carries over a race weekend and that open-source clients read (see docs/timing.md for sources).
The feed serves whichever session is on (practice, qualifying, race) and, between sessions, the
last one's final data, so the snapshot says which session it is and whether it has finished.

Only `lap_number` is required. Any other field that cannot be read is left out and named in
`RaceSnapshot.dropped`; the rest of the snapshot still applies.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from ... import moments, race
from ..snapshot import RaceSnapshot, load_json, whole_number

# flag_state → Livefeed's flag. 8 (warm-up, before the start) and 9 (not active) show no flag,
# except that 9 on the last lap with none to go is a finished race (see `_flag`).
FLAG_STATES = {1: "green", 2: "yellow", 3: "red", 4: "checkered", 5: "white", 8: "none", 9: "none"}
NOT_ACTIVE = 9
RUN_TYPES = {1: "practice", 2: "qualifying", 3: "race"}
SERIES = {
    1: "NASCAR Cup Series",
    2: "NASCAR Xfinity Series",
    3: "NASCAR Craftsman Truck Series",
    999: "ARCA Menards Series",
}
# Markers the feed adds to names: "(i)" ineligible for points, "(P)" playoff driver, "#" and "*"
# rookie or other notes, e.g. "* Tyler Reddick (P)", "Chase Elliott(i)", "Noah Gragson #".
NAME_TAGS = re.compile(r"\s*\([A-Za-z]{1,2}\)")
NAME_MARKS = " *#"


class NascarAdapter:
    name = "nascar"
    label = "NASCAR live feed JSON"
    # The feed sits behind a CDN that turns away requests that do not look like they come from a
    # browser on nascar.com; open-source clients send a browser User-Agent and this Referer.
    request_headers = {
        "User-Agent": "Mozilla/5.0 (compatible; Livefeed timing)",
        "Referer": "https://www.nascar.com/",
    }

    def parse(self, payload: bytes | str | dict[str, Any]) -> RaceSnapshot:
        data = load_json(payload)
        read = _Reader(data)
        lap = whole_number(data, "lap_number", required=True)
        session = read.code("run_type", RUN_TYPES)
        racing = session in (None, "race")
        laps_total = laps_to_go = None
        if racing:
            laps_total = read.number("laps_in_race") or None
            laps_to_go = read.number("laps_to_go")
            if laps_total is not None and lap > laps_total:
                # Overtime: the feed raises laps_in_race as the race runs past its distance,
                # sometimes a poll after the lap itself.
                laps_total, laps_to_go = lap, 0
        flag = _flag(read, lap=lap, laps_total=laps_total, laps_to_go=laps_to_go, racing=racing)
        finished = flag == "checkered"
        order = read.running_order()
        stage = stage_laps_left = None
        cleared: tuple[str, ...] = ()
        if racing and "stage" in data:
            unreadable = len(read.dropped)
            if not finished:
                stage, stage_laps_left = read.stage(lap=lap, laps_total=laps_total)
            if stage is None and len(read.dropped) == unreadable:
                cleared = ("stage", "stage_laps_left")  # over, or a race without stages: not shown
        return RaceSnapshot(
            flag=flag,
            lap=lap,
            laps_total=laps_total,
            laps_to_go=laps_to_go,
            stage=stage,
            stage_laps_left=stage_laps_left,
            cleared=cleared,
            # In practice and qualifying the order is by speed: the first car is the fastest, not a leader.
            leader=order[0][0] if order and racing else None,
            cautions=read.number("number_of_caution_segments") if racing else None,
            lead_changes=read.number("number_of_lead_changes") if racing else None,
            leaders=read.number("number_of_leaders") if racing else None,
            running_order=[label for _, label in order] if order is not None else None,
            series=SERIES.get(data.get("series_id")) if isinstance(data.get("series_id"), int) else None,
            track=read.text("track_name"),
            session=session,
            session_name=read.text("run_name"),
            session_key=_session_key(data),
            timestamp=read.moment("time_of_day_os"),
            dropped=tuple(read.dropped),
        )


def clean_name(name: str) -> str:
    """ "Chase Briscoe" from "Chase Briscoe (P)", "* Tyler Reddick (P)" or "Chase Briscoe #"."""
    return NAME_TAGS.sub("", name).strip(NAME_MARKS).strip()


def _flag(
    read: _Reader, *, lap: int, laps_total: int | None, laps_to_go: int | None, racing: bool
) -> str | None:
    """The flag; a race the feed calls "not active" on its last lap with none to go has finished."""
    code = read.code("flag_state", FLAG_STATES, why_unknown="the flag is left as it was", required=True)
    if code is None:
        return None
    finished = racing and laps_total and lap >= laps_total and not laps_to_go
    if read.data.get("flag_state") == NOT_ACTIVE and finished:
        return "checkered"
    return FLAG_STATES[read.data["flag_state"]]


def _session_key(data: dict[str, Any]) -> str | None:
    """ "5575/11/3": the event (race_id), the run in it (run_id) and its kind (run_type)."""
    parts = [data.get(name) for name in ("race_id", "run_id", "run_type")]
    if all(part is None for part in parts):
        return None
    return "/".join(
        "" if isinstance(part, bool) or not isinstance(part, (int, str)) else str(part) for part in parts
    )


class _Reader:
    """Reads fields one by one; a field that cannot be read is noted in `dropped` and read as None."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.dropped: list[str] = []

    def drop(self, name: str, why: str) -> None:
        self.dropped.append(f"{name}: {why}")

    def number(
        self, name: str, *, within: dict[str, Any] | None = None, label: str | None = None
    ) -> int | None:
        value = (self.data if within is None else within).get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.drop(label or name, f"{value!r} is not a whole number, 0 or more")
            return None
        return value

    def code(
        self, name: str, codes: dict[int, str], *, why_unknown: str = "not used", required: bool = False
    ) -> str | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.drop(name, "missing")
            return None
        if isinstance(value, bool) or value not in codes:
            self.drop(name, f"unknown code {value!r}, {why_unknown}")
            return None
        return codes[value]

    def text(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            self.drop(name, "not text")
            return None
        return value.strip()[: race.MAX_TEXT] or None

    def moment(self, name: str) -> datetime | None:
        value = self.data.get(name)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            self.drop(name, f"{str(value)[:40]!r} is not an ISO 8601 time with an offset")
            return None
        if not moments.in_range(moment):
            self.drop(name, f"{str(value)[:40]!r} is outside the years Livefeed takes")
            return None
        return moment

    def stage(self, *, lap: int, laps_total: int | None) -> tuple[str | None, int | None]:
        """("2 (ends lap 185)", laps left in it); nothing for a race run as one stage, or past its end."""
        value = self.data.get("stage")
        if value is None:
            return None, None
        if not isinstance(value, dict):
            self.drop("stage", "not an object with stage_num")
            return None, None
        number = self.number("stage_num", within=value, label="stage.stage_num")
        finish = self.number("finish_at_lap", within=value, label="stage.finish_at_lap")
        if not number or not finish or lap > finish:
            return None, None
        if number == 1 and laps_total and finish >= laps_total:
            return None, None  # one stage over the whole distance: a race without stages
        return f"{number} (ends lap {finish})", finish - lap

    def running_order(self) -> list[tuple[str, str]] | None:
        """(driver, shown as) pairs for the first ten by `running_position`; unreadable cars are skipped."""
        value = self.data.get("vehicles")
        if value is None:
            return None
        if not isinstance(value, list):
            self.drop("vehicles", "not a list")
            return None
        cars, skipped = [], []
        for index, vehicle in enumerate(value):
            car = _car(vehicle)
            if car is None:
                skipped.append(str(index))
            else:
                cars.append(car)
        if skipped:
            cars_text = f"car{'s' if len(skipped) > 1 else ''} {', '.join(skipped[:5])}"
            self.drop("vehicles", f"{cars_text} without a position or name")
        cars.sort(key=lambda car: car[0])
        return [(name, label) for _, name, label in cars[: race.RUNNING_ORDER_LENGTH]]


def _car(vehicle: Any) -> tuple[int, str, str] | None:
    if not isinstance(vehicle, dict):
        return None
    position, driver = vehicle.get("running_position"), vehicle.get("driver")
    if isinstance(position, bool) or not isinstance(position, int):
        return None
    name = driver.get("full_name") if isinstance(driver, dict) else None
    name = clean_name(name)[:80] if isinstance(name, str) else ""
    if not name:
        return None
    number = vehicle.get("vehicle_number")
    shown = str(number).strip()[:6] if isinstance(number, (str, int)) and not isinstance(number, bool) else ""
    return position, name, f"{name} (#{shown})" if shown else name


adapter = NascarAdapter()
