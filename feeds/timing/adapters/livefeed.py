"""Livefeed's own timing format, documented in docs/timing.md, for sources we control or adapt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ... import moments, race
from ..snapshot import BadTimingData, RaceSnapshot, load_json, text, whole_number

RUNNING_ORDER_LENGTH = race.RUNNING_ORDER_LENGTH


class LivefeedAdapter:
    name = "livefeed"
    label = "Livefeed timing JSON"

    def parse(self, payload: bytes | str | dict[str, Any]) -> RaceSnapshot:
        data = load_json(payload)
        flag = data.get("flag")
        if flag is None:
            raise BadTimingData("flag", "missing")
        if flag not in race.FLAGS:
            raise BadTimingData("flag", f"must be one of {', '.join(race.FLAGS)}")
        lap = whole_number(data, "lap", required=True)
        laps_total = whole_number(data, "laps_total")
        if laps_total is not None and lap > laps_total:
            raise BadTimingData("lap", f"lap {lap} is past the race distance ({laps_total})")
        session = data.get("session")
        if session is not None and session not in race.SESSIONS:
            raise BadTimingData("session", f"must be one of {', '.join(race.SESSIONS)}")
        order = _running_order(data.get("running_order"))
        leader = text(data, "leader") or (order[0][0] if order else None)
        return RaceSnapshot(
            flag=flag,
            lap=lap,
            laps_total=laps_total,
            stage=_stage(data.get("stage")),
            leader=leader,
            cautions=whole_number(data, "cautions"),
            running_order=[label for _, label in order] if order is not None else None,
            series=text(data, "series"),
            track=text(data, "track"),
            session=session,
            flag_reason=text(data, "flag_reason") or "",
            timestamp=_timestamp(data.get("updated_at")),
        )


def _stage(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadTimingData("stage", "must be a number or text")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip()[:100] or None
    raise BadTimingData("stage", "must be a number or text")


def _running_order(value: Any) -> list[tuple[str, str]] | None:
    """(driver, shown as) pairs, leader first, from a list of names or of {"driver", "number"}."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise BadTimingData("running_order", "must be a list, leader first")
    order = []
    for index, item in enumerate(value[:RUNNING_ORDER_LENGTH]):
        if isinstance(item, str) and item.strip():
            driver, number = item.strip()[:80], None
        elif isinstance(item, dict) and isinstance(item.get("driver"), str) and item["driver"].strip():
            driver, number = item["driver"].strip()[:80], item.get("number")
        else:
            raise BadTimingData(f"running_order[{index}]", "needs a driver name")
        if isinstance(number, (str, int)) and not isinstance(number, bool) and str(number).strip():
            order.append((driver, f"{driver} (#{str(number).strip()[:6]})"))
        else:
            order.append((driver, driver))
    return order


def _timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadTimingData("updated_at", "must be an ISO 8601 date and time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadTimingData("updated_at", "must be an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise BadTimingData("updated_at", "needs a time zone (e.g. Z)")
    if not moments.in_range(moment):
        raise BadTimingData(
            "updated_at", f"must be between the years {moments.EARLIEST_YEAR} and {moments.LATEST_YEAR}"
        )
    return moment


adapter = LivefeedAdapter()
