"""Recorded timing snapshots played into a feed through ingest, at their own pace or faster.

A newsroom rehearses a race day with it (`manage.py replaytiming`), and tests drive a whole
weekend through the same path a polled source takes. A recording is a file holding one snapshot
(an empty file is an idle answer), a `.jsonl` file with one snapshot per line, or a folder of such
files played in name order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from . import ingest, registry
from .models import TimingSource
from .snapshot import BadTimingData, is_idle

SUFFIXES = (".json", ".jsonl", ".ndjson")


@dataclass(frozen=True)
class Recording:
    """One recorded answer of a source: where it came from, its body and, if it says, its time."""

    name: str
    body: bytes
    moment: datetime | None = None


def load_recordings(path: Path, *, format: str) -> list[Recording]:
    """The recordings at `path` (a file or a folder), in play order; ValueError if there are none."""
    if path.is_dir():
        files = sorted(item for item in path.iterdir() if item.is_file() and item.suffix in SUFFIXES)
    elif path.is_file():
        files = [path]
    else:
        raise ValueError(f"{path} is neither a file nor a folder")
    adapter = registry.adapter_for(format)
    recordings = []
    for file in files:
        data = file.read_bytes()
        if file.suffix == ".json":
            bodies = [(file.name, data)]
        else:
            lines = [line for line in data.splitlines() if line.strip()]
            bodies = [(f"{file.name}:{number}", line) for number, line in enumerate(lines, start=1)]
        for name, body in bodies:
            recordings.append(Recording(name=name, body=body, moment=_moment(adapter, body)))
    if not recordings:
        raise ValueError(f"no recordings ({', '.join(SUFFIXES)} files) in {path}")
    return recordings


def delays(recordings: list[Recording], *, speed: float, interval: float, max_wait: float) -> list[float]:
    """Seconds to wait before each recording: the gap between the snapshots' own times divided by
    `speed` (`interval` when a time is unknown), at most `max_wait`; no waiting at speed 0."""
    waits, last_moment = [], None
    for index, recording in enumerate(recordings):
        if index == 0 or speed <= 0:
            waits.append(0.0)
        elif recording.moment and last_moment and recording.moment >= last_moment:
            waits.append(min((recording.moment - last_moment).total_seconds() / speed, max_wait))
        else:
            waits.append(min(interval / speed, max_wait))
        last_moment = recording.moment or last_moment
    return waits


def replay(
    *,
    source: TimingSource,
    recordings: list[Recording],
    speed: float = 1.0,
    interval: float = 5.0,
    max_wait: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[Recording, ingest.Outcome], None] | None = None,
) -> list[ingest.Outcome]:
    """Apply each recording to the source's feed in turn, as if the source had just answered it."""
    outcomes = []
    for recording, wait in zip(
        recordings, delays(recordings, speed=speed, interval=interval, max_wait=max_wait), strict=True
    ):
        if wait > 0:
            sleep(wait)
        outcome = ingest.ingest(source=source, payload=recording.body)
        outcomes.append(outcome)
        if report is not None:
            report(recording, outcome)
    return outcomes


def _moment(adapter: object, body: bytes) -> datetime | None:
    if is_idle(body):
        return None
    try:
        return adapter.parse(body).timestamp  # type: ignore[attr-defined]
    except BadTimingData:
        return None
