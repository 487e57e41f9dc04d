"""Apply a timing source's payload to its feed's race status, once, in order.

Polled and pushed payloads both come through `ingest`. A snapshot is applied through
`services.update_race_status` as the source's author; a new flag (and, if asked, a new leader)
is posted through `services.create_entry`. Anything wrong (malformed, stale, refused) leaves
the race status as it was, is logged in one line and marks the source unhealthy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .. import roles, services
from ..models import Entry, Feed
from . import health, registry
from .models import TimingSource
from .snapshot import BadTimingData, RaceSnapshot

logger = logging.getLogger(__name__)

# How a flag reads in an automatic post; {lap} and {leader} are filled in.
FLAG_HEADLINES = {
    "yellow": "Caution on lap {lap}",
    "red": "Red flag on lap {lap}",
    "white": "White flag: final lap",
    "checkered": "Checkered flag",
}
# Outcome kinds that mean the source itself is failing (the poller backs off on these).
FAILING = {"bad", "unreachable"}


@dataclass
class Outcome:
    """What one payload did: `applied`, `unchanged`, or rejected as `stale`, `bad`, `refused`,
    `unreachable`; `reason` says why in words."""

    kind: str
    reason: str = ""
    posts: list[Entry] = field(default_factory=list)

    @property
    def failing(self) -> bool:
        return self.kind in FAILING


class _Rejected(Exception):
    def __init__(self, kind: str, reason: str) -> None:
        self.kind, self.reason = kind, reason
        super().__init__(reason)


def ingest(*, source: TimingSource, payload: bytes | str | dict[str, Any], now: datetime | None = None) -> Outcome:
    """Read `payload` in the source's format and apply it; never raises for bad data."""
    now = now or timezone.now()
    try:
        snapshot = registry.adapter_for(source.format).parse(payload)
    except KeyError:
        return record_failure(source=source, kind="bad", reason=f"unknown format {source.format!r}", now=now)
    except BadTimingData as error:
        return record_failure(source=source, kind="bad", reason=f"malformed data: {error}", now=now)
    return apply_snapshot(source=source, snapshot=snapshot, now=now)


def apply_snapshot(*, source: TimingSource, snapshot: RaceSnapshot, now: datetime | None = None) -> Outcome:
    """Apply a parsed snapshot unless it is stale or a repeat; post a new flag or leader."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            locked = TimingSource.objects.select_for_update().select_related("author").get(pk=source.pk)
            if not locked.enabled:
                raise _Rejected("refused", "the source is switched off")
            _check_order(locked, snapshot)
            feed = locked.feed = Feed.objects.select_for_update().get(pk=locked.feed_id)
            was_healthy = locked.healthy
            fingerprint = snapshot.fingerprint()
            if fingerprint == locked.last_fingerprint:
                _check_not_frozen(locked, feed, now)
                _remember(locked, snapshot, fingerprint=fingerprint, now=now, changed=False)
                if not was_healthy:
                    health.tell_desk(locked)
                return Outcome("unchanged")
            previous = dict(feed.race)
            changes = snapshot.race_changes()
            if changes.get("flag") == "none" and previous.get("flag") == "checkered":
                changes.pop("flag")  # a source that goes quiet after the finish leaves the race finished
            services.update_race_status(feed=feed, by=locked.author, changes=changes)
            posts = _announce(locked, feed, previous=previous, snapshot=snapshot)
            _remember(locked, snapshot, fingerprint=fingerprint, now=now, changed=True)
            health.tell_desk(locked)
    except _Rejected as rejected:
        return record_failure(source=source, kind=rejected.kind, reason=rejected.reason, now=now)
    except ValidationError as error:
        fields = error.message_dict if hasattr(error, "error_dict") else {"race": error.messages}
        reason = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())
        return record_failure(source=source, kind="bad", reason=f"refused by the race status ({reason})", now=now)
    except PermissionDenied as error:
        return record_failure(source=source, kind="refused", reason=f"{source.author}: {error}", now=now)
    _copy_state(locked, into=source)
    return Outcome("applied", posts=posts)


def record_failure(*, source: TimingSource, kind: str, reason: str, now: datetime | None = None) -> Outcome:
    """Keep the last good status, note why this response was not used, log it once."""
    now = now or timezone.now()
    reason = reason[:300]
    with transaction.atomic():
        locked = TimingSource.objects.select_for_update().select_related("feed").get(pk=source.pk)
        repeated = locked.last_error == reason
        locked.last_error, locked.last_error_at = reason, now
        update = ["last_error", "last_error_at"]
        if kind in FAILING:
            locked.failures = F("failures") + 1
            update.append("failures")
        locked.save(update_fields=update)
        if kind in FAILING:
            locked.refresh_from_db(fields=["failures"])
        if not repeated:
            health.tell_desk(locked)
    # One line per new reason; a source repeating the same fault is not logged every poll.
    log = logger.debug if repeated else logger.warning
    log("Timing source %s (feed %s) ignored a response: %s", source.pk, locked.feed.slug, reason)
    _copy_state(locked, into=source)
    return Outcome(kind, reason)


def reset(*, source: TimingSource) -> None:
    """Forget what the source last said (a new session starts again from lap 0)."""
    TimingSource.objects.filter(pk=source.pk).update(
        last_timestamp=None, last_lap=None, last_fingerprint="", last_change_at=None, last_error="", failures=0
    )


def _check_order(source: TimingSource, snapshot: RaceSnapshot) -> None:
    """Refuse a snapshot older than the last one applied: by its own time, or by its lap."""
    if snapshot.timestamp and source.last_timestamp and snapshot.timestamp < source.last_timestamp:
        raise _Rejected(
            "stale", f"stale data: timestamp {snapshot.timestamp.isoformat()} is older than the last applied "
            f"({source.last_timestamp.isoformat()})",
        )
    if source.last_lap is not None and snapshot.lap < source.last_lap:
        raise _Rejected("stale", f"stale data: lap {snapshot.lap} is behind the last applied lap {source.last_lap}")


def _check_not_frozen(source: TimingSource, feed: Feed, now: datetime) -> None:
    """Under a racing flag the data moves every lap; the same data for too long means it is stuck."""
    if not source.stale_after_seconds or source.last_change_at is None:
        return
    if feed.race.get("flag") not in ("green", "yellow", "white"):
        return
    still = (now - source.last_change_at).total_seconds()
    if still > source.stale_after_seconds:
        raise _Rejected("stale", f"stale data: unchanged for {int(still)} s under a {feed.race['flag']} flag")


def _remember(source: TimingSource, snapshot: RaceSnapshot, *, fingerprint: str, now: datetime, changed: bool) -> None:
    if snapshot.timestamp and (source.last_timestamp is None or snapshot.timestamp > source.last_timestamp):
        source.last_timestamp = snapshot.timestamp
    source.last_lap = max(snapshot.lap, source.last_lap or 0)
    source.last_fingerprint = fingerprint
    source.last_ok_at = now
    if changed or source.last_change_at is None:
        source.last_change_at = now
    source.last_error = ""
    source.failures = 0
    source.save(update_fields=[
        "last_timestamp", "last_lap", "last_fingerprint", "last_ok_at", "last_change_at", "last_error", "failures",
    ])


def _announce(source: TimingSource, feed: Feed, *, previous: dict[str, Any], snapshot: RaceSnapshot) -> list[Entry]:
    """Post the new flag and, when asked, the new leader; the same flag twice posts nothing."""
    state, posts = feed.race, []
    flag = state.get("flag")
    if source.post_flag_changes != TimingSource.Post.OFF and flag and flag != "none" and flag != previous.get("flag"):
        posts.append(services.create_entry(
            feed=feed,
            by=source.author,
            kind=Entry.Kind.RACE_STATUS,
            headline=flag_headline(previous=previous, state=state, reason=snapshot.flag_reason),
            details=state,
            status=source.post_flag_changes,
            key_event=flag in ("red", "checkered") and roles.can_publish(source.author),
        ))
    leader = state.get("leader")
    if (
        source.post_lead_changes != TimingSource.Post.OFF
        and leader and previous.get("leader") and leader != previous["leader"]
        and flag != "checkered"
    ):
        posts.append(services.create_entry(
            feed=feed,
            by=source.author,
            headline=f"{leader} takes the lead on lap {state.get('lap', 0)}",
            status=source.post_lead_changes,
        ))
    return posts


def flag_headline(*, previous: dict[str, Any], state: dict[str, Any], reason: str = "") -> str:
    """"Caution on lap 57 (debris, Turn 3)", "Restart on lap 62", "Checkered flag: Larson wins"."""
    flag, lap = state["flag"], state.get("lap", 0)
    if flag == "green":
        before = previous.get("flag")
        if before == "yellow":
            text = f"Restart on lap {lap}"
        elif before == "red":
            text = f"Racing resumes on lap {lap}"
        elif lap <= 1:
            text = "Green flag: the race is under way"
        else:
            text = f"Green flag on lap {lap}"
    elif flag == "checkered" and state.get("leader"):
        text = f"Checkered flag: {state['leader']} wins"
    else:
        text = FLAG_HEADLINES.get(flag, flag.capitalize()).format(lap=lap)
    if reason:
        text = f"{text} ({reason})"
    return text[:200]


def _copy_state(locked: TimingSource, *, into: TimingSource) -> None:
    for name in ("last_timestamp", "last_lap", "last_fingerprint", "last_ok_at", "last_change_at",
                 "last_error", "last_error_at", "failures"):
        setattr(into, name, getattr(locked, name))
