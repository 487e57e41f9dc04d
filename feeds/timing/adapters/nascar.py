"""The shape of NASCAR's public live-feed JSON (`live_feed.json`, polled by many fan sites).

NASCAR does not publish a specification; the field names and the `flag_state` codes below are
the ones that feed carries and that open-source clients read (see docs/timing.md for sources).
"""

from __future__ import annotations

from typing import Any

from ... import race
from ..snapshot import BadTimingData, RaceSnapshot, load_json, whole_number

# flag_state → Livefeed's flag. 8 (warm-up, before the start) and 9 (not active) show no flag.
FLAG_STATES = {1: "green", 2: "yellow", 3: "red", 4: "checkered", 5: "white", 8: "none", 9: "none"}
SERIES = {1: "NASCAR Cup Series", 2: "NASCAR Xfinity Series", 3: "NASCAR Craftsman Truck Series"}


class NascarAdapter:
    name = "nascar"
    label = "NASCAR live feed JSON"

    def parse(self, payload: bytes | str | dict[str, Any]) -> RaceSnapshot:
        data = load_json(payload)
        code = data.get("flag_state")
        if code is None:
            raise BadTimingData("flag_state", "missing")
        if isinstance(code, bool) or code not in FLAG_STATES:
            raise BadTimingData("flag_state", f"unknown code {code!r} (known: {', '.join(map(str, FLAG_STATES))})")
        lap = whole_number(data, "lap_number", required=True)
        laps_total = whole_number(data, "laps_in_race")
        if laps_total and lap > laps_total:
            raise BadTimingData("lap_number", f"lap {lap} is past laps_in_race ({laps_total})")
        order = _running_order(data.get("vehicles"))
        series_id = data.get("series_id")
        return RaceSnapshot(
            flag=FLAG_STATES[code],
            lap=lap,
            laps_total=laps_total or None,
            stage=_stage(data.get("stage")),
            leader=order[0][0] if order else None,
            cautions=whole_number(data, "number_of_caution_segments"),
            running_order=[label for _, label in order] if order is not None else None,
            series=SERIES.get(series_id) if isinstance(series_id, int) else None,
            track=_text(data.get("track_name")),
            extra={"caution_laps": whole_number(data, "number_of_caution_laps")},
        )


def _stage(value: Any) -> str | None:
    """"2 (ends lap 185)" from {"stage_num": 2, "finish_at_lap": 185, "laps_in_stage": 95}."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadTimingData("stage", "must be an object with stage_num")
    number = whole_number(value, "stage_num", label="stage.stage_num")
    if not number:
        return None
    finish = whole_number(value, "finish_at_lap", label="stage.finish_at_lap")
    whole_number(value, "laps_in_stage", label="stage.laps_in_stage")
    return f"{number} (ends lap {finish})" if finish else str(number)


def _running_order(value: Any) -> list[tuple[str, str]] | None:
    """(driver, shown as) pairs for the first ten by `running_position`."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise BadTimingData("vehicles", "must be a list")
    cars = []
    for index, vehicle in enumerate(value):
        if not isinstance(vehicle, dict):
            raise BadTimingData(f"vehicles[{index}]", "must be an object")
        position = whole_number(vehicle, "running_position", required=True, label=f"vehicles[{index}].running_position")
        driver = vehicle.get("driver")
        name = _text(driver.get("full_name")) if isinstance(driver, dict) else None
        if not name:
            raise BadTimingData(f"vehicles[{index}].driver.full_name", "missing")
        number = vehicle.get("vehicle_number")
        label = f"{name} (#{str(number).strip()[:6]})" if isinstance(number, (str, int)) and str(number).strip() else name
        cars.append((position, name[:80], label))
    cars.sort(key=lambda car: car[0])
    return [(name, label) for _, name, label in cars[: race.RUNNING_ORDER_LENGTH]]


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip()[:80] or None


adapter = NascarAdapter()
