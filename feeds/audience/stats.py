"""Reading a feed's audience back: readers over time, peak and latest count, each entry's reach.

The desk's chart, the API and the CSV files all read through `audience_of`, so they agree.
"""

from __future__ import annotations

import bisect
import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..events import timestamp
from ..models import Entry, Feed, ReaderSample
from ..syndication import entry_title
from .sampling import interval_seconds


@dataclass(frozen=True)
class EntryReach:
    """A published entry and the readers connected when it was published (None: no sample near)."""

    id: int
    headline: str
    published_at: datetime
    reach: int | None


@dataclass(frozen=True)
class Audience:
    """A feed's readers over its life, oldest sample first."""

    feed: Feed
    interval: int
    samples: list[tuple[datetime, int]]
    entries: list[EntryReach]

    @property
    def peak(self) -> tuple[datetime, int] | None:
        """The first sample with the most readers."""
        return max(self.samples, key=lambda sample: sample[1], default=None)

    @property
    def latest(self) -> tuple[datetime, int] | None:
        return self.samples[-1] if self.samples else None


def audience_of(*, feed: Feed) -> Audience:
    """The feed's samples and the reach of each entry readers can see, oldest first."""
    step = interval_seconds()
    samples = list(ReaderSample.objects.filter(feed=feed).order_by("at").values_list("at", "readers"))
    published = (
        Entry.objects.visible_to_readers()
        .filter(feed=feed, published_at__isnull=False)
        .order_by("published_at", "id")
        .only("id", "headline", "html", "published_at")
    )
    entries = [
        EntryReach(
            id=entry.pk,
            headline=entry_title(entry),
            published_at=entry.published_at,
            reach=reach_at(samples, entry.published_at, step),
        )
        for entry in published
    ]
    return Audience(feed=feed, interval=step, samples=samples, entries=entries)


def reach_at(samples: list[tuple[datetime, int]], moment: datetime, step: int) -> int | None:
    """Readers in the sample nearest `moment`, if one was taken within two intervals of it."""
    times = [at for at, _ in samples]
    index = bisect.bisect_left(times, moment)
    near = [samples[i] for i in (index - 1, index) if 0 <= i < len(samples)]
    if not near:
        return None
    at, readers = min(near, key=lambda sample: abs(sample[0] - moment))
    return readers if abs(at - moment) <= timedelta(seconds=2 * step) else None


def audience_payload(audience: Audience) -> dict[str, Any]:
    """The API's and the desk chart's JSON (`AudienceSchema`)."""
    peak, latest = audience.peak, audience.latest
    return {
        "feed": audience.feed.slug,
        "interval": audience.interval,
        "peak": {"at": timestamp(peak[0]), "readers": peak[1]} if peak else None,
        "latest": {"at": timestamp(latest[0]), "readers": latest[1]} if latest else None,
        "samples": [{"at": timestamp(at), "readers": readers} for at, readers in audience.samples],
        "entries": [
            {
                "id": entry.id,
                "headline": entry.headline,
                "published_at": timestamp(entry.published_at),
                "reach": entry.reach,
            }
            for entry in audience.entries
        ],
    }


def readers_csv(audience: Audience) -> str:
    """One row per sample: time (UTC, ISO 8601) and readers."""
    return csv_table(["time", "readers"], ([timestamp(at), readers] for at, readers in audience.samples))


def entries_csv(audience: Audience) -> str:
    """One row per published entry: id, time, headline and reach (empty when no sample was near)."""
    return csv_table(
        ["entry_id", "published_at", "headline", "reach"],
        (
            [entry.id, timestamp(entry.published_at), _spreadsheet_safe(entry.headline), entry.reach]
            for entry in audience.entries
        ),
    )


def _spreadsheet_safe(text: str) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheets (CSV injection).
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_table(header: list[str], rows: Any) -> str:
    """Rows as CSV text with a header line (None written as an empty cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return buffer.getvalue()
