"""What readers and the desk may read here: counts, a feed's polls, the question queue."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.utils import timezone

from feeds.models import Entry, Feed

from . import kind as poll_kind
from . import tally
from .models import REACTIONS, FeedParticipation, Reaction, ReaderQuestion
from .tally import Box

POLLS_SHOWN = 50


def settings_for(feed: Feed) -> FeedParticipation:
    """The feed's participation settings (the defaults when it has none saved)."""
    try:
        return FeedParticipation.objects.get(feed=feed)
    except FeedParticipation.DoesNotExist:
        return FeedParticipation(feed=feed)


def poll_closed(details: dict[str, Any]) -> bool:
    """Whether the poll takes no more votes: closed by an editor, or its closing time passed."""
    closing = poll_kind.closes_at(details)
    return poll_kind.final_result(details) is not None or (closing is not None and closing <= timezone.now())


def poll_counts(entry: Entry) -> list[int]:
    """Votes per option now: the final result of a closed poll, the live count otherwise."""
    final = poll_kind.final_result(entry.details)
    if final is not None:
        return final
    counts = tally.counts(Box(tally.POLL, entry.pk))
    return [counts.get(str(index), 0) for index in range(len(poll_kind.options_of(entry.details)))]


def participation_state(*, feed: Feed) -> dict[str, Any]:
    """The feed's switches, its newest polls' counts and its entries' reaction counts."""
    switches = settings_for(feed)
    polls = (
        Entry.objects.visible_to_readers()
        .filter(feed=feed, kind=poll_kind.PollKind.name)
        .order_by("-published_at")[:POLLS_SHOWN]
    )
    reaction_counts: dict[int, dict[str, int]] = {}
    if switches.reactions_enabled:
        rows = (
            Reaction.objects.filter(
                entry__feed=feed, entry__deleted_at__isnull=True, entry__status="published"
            )
            .values("entry_id", "reaction")
            .annotate(n=Count("id"))
        )
        for row in rows:
            reaction_counts.setdefault(row["entry_id"], {})[row["reaction"]] = row["n"]
    return {
        "reactions_enabled": switches.reactions_enabled,
        "questions_enabled": switches.questions_enabled,
        "reactions": [{"name": name, "symbol": symbol} for name, symbol in REACTIONS.items()],
        "polls": [
            {"entry": poll.pk, "counts": poll_counts(poll), "closed": poll_closed(poll.details)}
            for poll in polls
        ],
        "reaction_counts": [{"entry": entry, "counts": counts} for entry, counts in reaction_counts.items()],
    }


def question_queue(*, feed: Feed) -> list[ReaderQuestion]:
    """The questions waiting for an editor, oldest first."""
    return list(
        ReaderQuestion.objects.filter(feed=feed, status=ReaderQuestion.Status.PENDING).order_by(
            "created_at", "id"
        )
    )


def open_polls(*, feed: Feed) -> list[Entry]:
    """The feed's published polls that still take votes, for the desk's close buttons."""
    polls = (
        Entry.objects.visible_to_readers()
        .filter(feed=feed, kind=poll_kind.PollKind.name)
        .order_by("-published_at")
    )
    return [poll for poll in polls[:POLLS_SHOWN] if not poll_closed(poll.details)]
