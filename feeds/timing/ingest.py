"""Apply a timing source's payload to its feed's race status, once, in order.

Polled and pushed payloads both come through `ingest`. A snapshot is applied through
`services.update_race_status` as the source's author; a new flag (and, if asked, a new leader)
is posted through `services.create_entry`. Anything wrong (malformed, stale, refused) leaves
the race status as it was, is logged in one line and marks the source unhealthy; a snapshot with
a few unreadable fields applies the rest and reports the fields it left out the same way.

A snapshot from a new session (the source's session key changed: next practice, qualifying,
next week's race) starts afresh: the lap may go back to 0 and what the last session set is cleared.
An empty answer means no session is running: nothing changes and the source stays healthy.
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

from .. import race, roles, services
from ..models import Entry, Feed
from . import health, registry
from .models import TimingSource
from .snapshot import BadTimingData, RaceSnapshot, is_idle, session_of

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
    """What one payload did: `applied`, `unchanged`, `idle` (no session running), or rejected as
    `stale`, `bad`, `refused`, `unreachable`; `reason` says why in words (for `applied`, the
    fields left out, if any)."""

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


def ingest(
    *, source: TimingSource, payload: bytes | str | dict[str, Any], now: datetime | None = None
) -> Outcome:
    """Read `payload` in the source's format and apply it; never raises for bad data."""
    now = now or timezone.now()
    if is_idle(payload):
        return record_idle(source=source, now=now)
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
            new_session = snapshot.session_key is not None and snapshot.session_key != session_of(
                locked.last_fingerprint
            )
            _check_order(locked, snapshot, new_session=new_session)
            feed = locked.feed = Feed.objects.select_for_update().get(pk=locked.feed_id)
            was_healthy, had_error = locked.healthy, locked.last_error
            fingerprint = snapshot.fingerprint()
            if fingerprint == locked.last_fingerprint:
                _check_not_frozen(locked, feed, now)
                _remember(
                    locked, snapshot, fingerprint=fingerprint, now=now, changed=False, new_session=False
                )
                if not was_healthy or locked.last_error != had_error:
                    health.tell_desk(locked)
                return Outcome("unchanged", locked.last_error)
            previous = dict(feed.race)
            changes = snapshot.race_changes()
            if new_session:
                # Whatever the last session set and this one does not carry is cleared.
                changes = {**{name: None for name in race.FIELDS if name in previous}, **changes}
            elif changes.get("flag") == "none" and previous.get("flag") == "checkered":
                changes.pop("flag")  # a source that goes quiet after the finish leaves the race finished
            services.update_race_status(feed=feed, by=locked.author, changes=changes)
            posts = _announce(locked, feed, previous={} if new_session else previous, snapshot=snapshot)
            _remember(
                locked, snapshot, fingerprint=fingerprint, now=now, changed=True, new_session=new_session
            )
            health.tell_desk(locked)
    except _Rejected as rejected:
        return record_failure(source=source, kind=rejected.kind, reason=rejected.reason, now=now)
    except ValidationError as error:
        fields = error.message_dict if hasattr(error, "error_dict") else {"race": error.messages}
        reason = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())
        return record_failure(
            source=source, kind="bad", reason=f"refused by the race status ({reason})", now=now
        )
    except PermissionDenied as error:
        return record_failure(source=source, kind="refused", reason=f"{source.author}: {error}", now=now)
    _copy_state(locked, into=source)
    if locked.last_error and locked.last_error != had_error:
        logger.warning("Timing source %s (feed %s) left out: %s", source.pk, feed.slug, locked.last_error)
    return Outcome("applied", locked.last_error, posts=posts)


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


def record_idle(*, source: TimingSource, now: datetime | None = None) -> Outcome:
    """An empty answer between sessions: the source is up, nothing is running; the status stays."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = TimingSource.objects.select_for_update().select_related("feed").get(pk=source.pk)
        was_healthy = locked.healthy
        locked.last_ok_at, locked.last_error, locked.failures = now, "", 0
        locked.save(update_fields=["last_ok_at", "last_error", "failures"])
        if not was_healthy:
            health.tell_desk(locked)
    _copy_state(locked, into=source)
    return Outcome("idle", "no session: the source answered with an empty body")


def reset(*, source: TimingSource) -> None:
    """Forget what the source last said (a new session starts again from lap 0)."""
    TimingSource.objects.filter(pk=source.pk).update(
        last_timestamp=None,
        last_lap=None,
        last_fingerprint="",
        last_change_at=None,
        last_error="",
        failures=0,
    )


def _check_order(source: TimingSource, snapshot: RaceSnapshot, *, new_session: bool) -> None:
    """Refuse a snapshot older than the last one applied: by its own time, or by its lap within
    a session (each session counts its laps from 0)."""
    if snapshot.timestamp and source.last_timestamp and snapshot.timestamp < source.last_timestamp:
        raise _Rejected(
            "stale",
            f"stale data: timestamp {snapshot.timestamp.isoformat()} is older than the last applied "
            f"({source.last_timestamp.isoformat()})",
        )
    if not new_session and source.last_lap is not None and snapshot.lap < source.last_lap:
        raise _Rejected(
            "stale", f"stale data: lap {snapshot.lap} is behind the last applied lap {source.last_lap}"
        )


def _check_not_frozen(source: TimingSource, feed: Feed, now: datetime) -> None:
    """Under a racing flag in a race the data moves every lap; the same data for too long means it
    is stuck. (In practice and qualifying cars may sit in the garage under green for minutes.)"""
    if not source.stale_after_seconds or source.last_change_at is None:
        return
    if feed.race.get("flag") not in ("green", "yellow", "white") or not race.is_racing(feed.race):
        return
    still = (now - source.last_change_at).total_seconds()
    if still > source.stale_after_seconds:
        raise _Rejected("stale", f"stale data: unchanged for {int(still)} s under a {feed.race['flag']} flag")


def _remember(
    source: TimingSource,
    snapshot: RaceSnapshot,
    *,
    fingerprint: str,
    now: datetime,
    changed: bool,
    new_session: bool,
) -> None:
    """Note what was applied. The fingerprint carries the session key, so the next snapshot can
    tell a new session; fields left out are reported on the source's health."""
    if snapshot.timestamp and (source.last_timestamp is None or snapshot.timestamp > source.last_timestamp):
        source.last_timestamp = snapshot.timestamp
    source.last_lap = snapshot.lap if new_session else max(snapshot.lap, source.last_lap or 0)
    source.last_fingerprint = fingerprint
    source.last_ok_at = now
    if changed or source.last_change_at is None:
        source.last_change_at = now
    source.last_error = f"left out {'; '.join(snapshot.dropped)}"[:300] if snapshot.dropped else ""
    if source.last_error:
        source.last_error_at = now
    source.failures = 0
    source.save(
        update_fields=[
            "last_timestamp",
            "last_lap",
            "last_fingerprint",
            "last_ok_at",
            "last_change_at",
            "last_error",
            "last_error_at",
            "failures",
        ]
    )


def _announce(
    source: TimingSource, feed: Feed, *, previous: dict[str, Any], snapshot: RaceSnapshot
) -> list[Entry]:
    """Post the new flag and, when asked, the new leader; the same flag twice posts nothing."""
    state, posts = feed.race, []
    flag = state.get("flag")
    if (
        source.post_flag_changes != TimingSource.Post.OFF
        and flag
        and flag != "none"
        and flag != previous.get("flag")
    ):
        posts.append(
            services.create_entry(
                feed=feed,
                by=source.author,
                kind=Entry.Kind.RACE_STATUS,
                headline=flag_headline(previous=previous, state=state, reason=snapshot.flag_reason),
                details=state,
                status=source.post_flag_changes,
                key_event=flag in ("red", "checkered") and roles.can_publish(source.author),
            )
        )
    leader = state.get("leader")
    if (
        source.post_lead_changes != TimingSource.Post.OFF
        and race.is_racing(state)
        and leader
        and previous.get("leader")
        and leader != previous["leader"]
        and flag != "checkered"
    ):
        posts.append(
            services.create_entry(
                feed=feed,
                by=source.author,
                headline=lead_change_headline(state),
                status=source.post_lead_changes,
            )
        )
    return posts


def lead_change_headline(state: dict[str, Any]) -> str:
    """ "Tyler Reddick takes the lead on lap 234, 26 to go (lead change 20)"."""
    text = f"{state['leader']} takes the lead on lap {state.get('lap', 0)}"
    if state.get("laps_to_go"):
        text = f"{text}, {state['laps_to_go']} to go"
    if state.get("lead_changes"):
        text = f"{text} (lead change {state['lead_changes']})"
    return text[:200]


def flag_headline(*, previous: dict[str, Any], state: dict[str, Any], reason: str = "") -> str:
    """ "Caution on lap 57 (debris, Turn 3)", "Restart on lap 62", "Checkered flag: Larson wins";
    in practice and qualifying "Final Practice: caution"."""
    flag, lap = state["flag"], state.get("lap", 0)
    if not race.is_racing(state):
        name = race.session_text(state) or "Session"
        text = f"{name}: {race.flag_label(flag).lower()}"
    elif flag == "green":
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
        if state.get("session_name"):
            text = f"{text} the {state['session_name']}"
    else:
        text = FLAG_HEADLINES.get(flag, flag.capitalize()).format(lap=lap)
        if flag in ("yellow", "red") and state.get("stage_laps_left"):
            text = f"{text}, {state['stage_laps_left']} to go in the stage"
        elif flag in ("yellow", "red") and state.get("laps_to_go"):
            text = f"{text}, {state['laps_to_go']} to go"
    if reason:
        text = f"{text} ({reason})"
    return text[:200]


def _copy_state(locked: TimingSource, *, into: TimingSource) -> None:
    for name in (
        "last_timestamp",
        "last_lap",
        "last_fingerprint",
        "last_ok_at",
        "last_change_at",
        "last_error",
        "last_error_at",
        "failures",
    ):
        setattr(into, name, getattr(locked, name))
