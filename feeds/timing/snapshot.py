"""What every timing adapter produces, and the one error it raises."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol


class BadTimingData(ValueError):
    """The payload cannot be read as a race snapshot; `field` names the part that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class RaceSnapshot:
    """The state of a race at one moment, in Livefeed's terms (the fields of `Feed.race`)."""

    flag: str
    lap: int
    laps_total: int | None = None
    stage: str | None = None
    leader: str | None = None
    cautions: int | None = None
    running_order: list[str] | None = None
    series: str | None = None
    track: str | None = None
    session: str | None = None
    flag_reason: str = ""
    # The source's own time for the snapshot, when it gives one; orders snapshots with the lap.
    timestamp: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def race_changes(self) -> dict[str, Any]:
        """The race status fields this snapshot sets; fields it does not carry are left alone."""
        names = ("flag", "lap", "laps_total", "stage", "leader", "cautions", "running_order", "series", "track", "session")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}

    def fingerprint(self) -> str:
        """A stable text of everything the snapshot says, to tell a repeat from a change."""
        data = asdict(self)
        data.pop("extra")
        data.pop("timestamp")  # a new timestamp on the same facts is still a repeat
        return json.dumps(data, sort_keys=True)


class TimingAdapter(Protocol):
    """One source format. Adding a series means adding a module with one of these."""

    name: str
    label: str

    def parse(self, payload: bytes | str | dict[str, Any]) -> RaceSnapshot:
        """Read one payload; raises BadTimingData naming the field that is missing or wrong."""
        ...


def load_json(payload: bytes | str | dict[str, Any]) -> dict[str, Any]:
    """The payload as a JSON object, whether it arrived as bytes, text or already decoded."""
    if isinstance(payload, dict):
        return payload
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadTimingData("body", f"not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise BadTimingData("body", "expected a JSON object")
    return data


def whole_number(data: dict[str, Any], name: str, *, required: bool = False, label: str | None = None) -> int | None:
    """A non-negative integer field; booleans and fractions are refused."""
    label = label or name
    value = data.get(name)
    if value is None:
        if required:
            raise BadTimingData(label, "missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadTimingData(label, "must be a whole number, 0 or more")
    return value


def text(data: dict[str, Any], name: str, *, label: str | None = None) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadTimingData(label or name, "must be text")
    return value.strip()[:100] or None
