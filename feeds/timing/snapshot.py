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
    """The state of a session at one moment, in Livefeed's terms (the fields of `Feed.race`).

    A field left `None` is not carried (or could not be read) and keeps its current value.
    """

    flag: str | None
    lap: int
    laps_total: int | None = None
    stage: str | None = None
    leader: str | None = None
    cautions: int | None = None
    running_order: list[str] | None = None
    series: str | None = None
    track: str | None = None
    session: str | None = None
    session_name: str | None = None
    laps_to_go: int | None = None
    stage_laps_left: int | None = None
    lead_changes: int | None = None
    leaders: int | None = None
    flag_reason: str = ""
    # Which session (event, run and kind) the snapshot belongs to, when the source says so; a new
    # one starts again from lap 0, so the lap order is only checked within a session.
    session_key: str | None = None
    # The source's own time for the snapshot, when it gives one; orders snapshots with the lap.
    timestamp: datetime | None = None
    # Race fields the source says are over (a stage past its end): cleared, not left as they were.
    cleared: tuple[str, ...] = ()
    # "field: why" for each field that could not be read and was left out; the rest still applies.
    dropped: tuple[str, ...] = field(default=(), compare=False)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def race_changes(self) -> dict[str, Any]:
        """The race status fields this snapshot sets (None for those it clears); fields it does not
        carry are left alone."""
        carried = {name: getattr(self, name) for name in RACE_FIELDS if getattr(self, name) is not None}
        return {**dict.fromkeys(self.cleared), **carried}

    def fingerprint(self) -> str:
        """A stable text of everything the snapshot says, to tell a repeat from a change."""
        data = asdict(self)
        for name in ("extra", "dropped", "timestamp"):  # a new timestamp on the same facts is still a repeat
            data.pop(name)
        return json.dumps(data, sort_keys=True, default=str)


RACE_FIELDS = (
    "flag",
    "lap",
    "laps_total",
    "stage",
    "leader",
    "cautions",
    "running_order",
    "series",
    "track",
    "session",
    "session_name",
    "laps_to_go",
    "stage_laps_left",
    "lead_changes",
    "leaders",
)


def session_of(fingerprint: str) -> str | None:
    """The session key a stored fingerprint was taken in (None for none, or an older fingerprint)."""
    try:
        data = json.loads(fingerprint) if fingerprint else {}
    except ValueError:
        return None
    return data.get("session_key") if isinstance(data, dict) else None


def is_idle(payload: bytes | str | dict[str, Any] | None) -> bool:
    """An empty or `null` answer: the source is up but no session is running (not an error)."""
    if payload is None:
        return True
    if isinstance(payload, dict):
        return False
    body = payload.strip()
    return body in (b"", "", b"null", "null")


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


def whole_number(
    data: dict[str, Any], name: str, *, required: bool = False, label: str | None = None
) -> int | None:
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
