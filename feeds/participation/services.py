"""Every write readers and editors make here: votes, reactions, questions, closing a poll, answers.

Each rule is written once: a draft, deleted or closed poll takes no vote, whatever path asks;
nothing a reader sends reaches other readers until an editor answers it; every moderation action
is saved with who did it, in the question's history.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from feeds import events, roles
from feeds import services as core_services
from feeds.blank import BLANK
from feeds.broadcast import broadcast_to_desk
from feeds.models import Entry, Feed

from . import kind as poll_kind
from . import tallies, tally
from .models import REACTIONS, ReaderQuestion
from .selectors import poll_closed, settings_for
from .tally import Box

logger = logging.getLogger(__name__)

QUESTION_MAX = 500
NAME_MAX = 60
QUESTION_EVENT = "participation.question"

# Without Redis there is one server process: a vote and a poll's closing take turns here, so no
# vote lands after the final count was taken.
_embedded_turns = threading.Lock()


class Refused(Exception):
    """A reader's vote, reaction or question cannot be taken; `status` is the HTTP answer."""

    def __init__(self, message: str, *, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Counted:
    counted: bool


# --- Votes and reactions ---------------------------------------------------------------------


def _entry_for_readers(*, feed_slug: str, entry_id: int) -> dict[str, Any]:
    """The entry's kind, details and feed switch, if readers may see it; raises Refused (404).

    With Redis the answer is kept in this process until the entry or the feed itself changes
    (`entry_changed`, `feed_changed`): a crowd voting in one poll costs one database query, not one
    per vote, and the other entries posted meanwhile do not make every process read it again.
    """
    if settings.REDIS_URL:
        versions = Versions(
            *tally.redis_client().mget(feed_version_key(feed_slug), entry_version_key(entry_id))
        )
        cached = _readable_entries.get((feed_slug, entry_id))
        if cached is not None and cached[0] == versions:
            row = cached[1]
        else:
            row = _readable_entry(feed_slug=feed_slug, entry_id=entry_id)
            if len(_readable_entries) >= READABLE_ENTRIES_KEPT:
                _readable_entries.clear()
            _readable_entries[(feed_slug, entry_id)] = (versions, row)
    else:
        row = _readable_entry(feed_slug=feed_slug, entry_id=entry_id)
    if row is None:
        raise Refused(gettext("No such entry."), status=404)
    return row


def _readable_entry(*, feed_slug: str, entry_id: int) -> dict[str, Any] | None:
    return (
        Entry.objects.visible_to_readers()
        .filter(pk=entry_id, feed__slug=feed_slug)
        .values("kind", "details", "feed__participation__reactions_enabled")
        .first()
    )


class Versions(NamedTuple):
    """The feed's and the entry's versions in Redis when an entry was read (None: never changed)."""

    feed: bytes | None
    entry: bytes | None


READABLE_ENTRIES_KEPT = 10_000
# (feed slug, entry id) -> (the versions when read, the row or None).
_readable_entries: dict[tuple[str, int], tuple[Versions, dict[str, Any] | None]] = {}
ENTRY_EVENTS = (events.ENTRY_CREATED, events.ENTRY_UPDATED, events.ENTRY_DELETED)


def feed_version_key(feed_slug: str) -> str:
    return f"{settings.REDIS_PREFIX}:participation:feed:{feed_slug}:version"


def entry_version_key(entry_id: int) -> str:
    return f"{settings.REDIS_PREFIX}:participation:entry:{entry_id}:version"


def feed_changed(*, feed_slug: str) -> None:
    """Something readers see of the feed as a whole changed (its status, its switches): every
    process reads its entries again before the next vote. Called once it is committed."""
    _bump(feed_version_key(feed_slug))


def entry_changed(*, entry_id: int) -> None:
    """The entry changed for readers (posted, edited, withdrawn, deleted): every process reads it
    again before its next vote. Called once it is committed."""
    _bump(entry_version_key(entry_id))


def _bump(key: str) -> None:
    if settings.REDIS_URL:
        try:
            tally.redis_client().incr(key)
        except Exception:
            logger.exception("Could not mark %s as changed; votes may see it as it was", key)


def on_change_recorded(*, feed: Feed, event: str = "", text: str = "", **kwargs: Any) -> None:
    """`feeds.signals.change_recorded` receiver: `entry_changed` for a change of one entry,
    `feed_changed` for any other, once the change is committed."""
    if not settings.REDIS_URL:
        return
    if event in ENTRY_EVENTS:
        entry_id = json.loads(text)["entry"]["id"]
        transaction.on_commit(lambda: entry_changed(entry_id=entry_id))
    else:
        slug = feed.slug
        transaction.on_commit(lambda: feed_changed(feed_slug=slug))


def on_switches_saved(*, instance: Any, **kwargs: Any) -> None:
    """`post_save` receiver for a feed's participation switches, however they were saved (the
    desk, the admin's list): votes and reactions see them from the next one on."""
    slug = instance.feed.slug
    transaction.on_commit(lambda: feed_changed(feed_slug=slug))


def forget_readable_entries() -> None:
    """Drop this process's kept answers (tests)."""
    _readable_entries.clear()


def kept_entry(*, feed_slug: str, entry_id: int) -> tuple[Versions, dict[str, Any] | None] | None:
    """The entry as this process last read it for a vote or reaction, with the versions then
    (`feed_changed`, `entry_changed`); None if it has not read it."""
    return _readable_entries.get((feed_slug, entry_id))


def vote_refusal(entry: dict[str, Any], option: int) -> Refused | None:
    """Why the entry (as `_entry_for_readers` gives it) takes no vote for `option`, or None."""
    if entry["kind"] != poll_kind.PollKind.name:
        return Refused(gettext("This entry is not a poll."), status=404)
    details = entry["details"]
    if poll_closed(details):
        return Refused(gettext("This poll is closed."))
    if not 0 <= option < len(poll_kind.options_of(details)):
        return Refused(gettext("No such option in this poll."), status=400)
    return None


def reaction_refusal(entry: dict[str, Any], reaction: str) -> Refused | None:
    """Why the entry takes no `reaction`, or None."""
    if reaction not in REACTIONS:
        return Refused(gettext("No such reaction."), status=400)
    if not entry["feed__participation__reactions_enabled"]:
        return Refused(gettext("Reactions are off for this feed."), status=403)
    return None


def vote(*, feed_slug: str, entry_id: int, voter: str, option: int) -> Counted:
    """Count `voter`'s vote for `option` (from 0) in the poll, once; a second vote changes nothing."""
    entry = _entry_for_readers(feed_slug=feed_slug, entry_id=entry_id)
    refusal = vote_refusal(entry, option)
    if refusal is not None:
        raise refusal
    box = Box(tally.POLL, entry_id)
    if settings.REDIS_URL:
        counted = tally.record(box, voter=voter, choice=str(option))
    else:
        with _embedded_turns:
            # Read again under the turn: a close that ran meanwhile has stored its final count.
            if poll_closed(Entry.objects.values_list("details", flat=True).get(pk=entry_id)):
                raise Refused(gettext("This poll is closed."))
            counted = tally.record(box, voter=voter, choice=str(option))
    if counted is None:
        raise Refused(gettext("This poll is closed."))
    if counted:
        tallies.counted(box, feed_slug=feed_slug)
    return Counted(counted)


def react(*, feed_slug: str, entry_id: int, voter: str, reaction: str) -> Counted:
    """Count `voter`'s reaction to the entry, once per entry."""
    if reaction not in REACTIONS:
        raise Refused(gettext("No such reaction."), status=400)
    entry = _entry_for_readers(feed_slug=feed_slug, entry_id=entry_id)
    refusal = reaction_refusal(entry, reaction)
    if refusal is not None:
        raise refusal
    box = Box(tally.REACTIONS, entry_id)
    counted = tally.record(box, voter=voter, choice=reaction)
    if counted:
        tallies.counted(box, feed_slug=feed_slug)
    return Counted(bool(counted))


def close_poll(*, entry: Entry, by: AbstractBaseUser) -> Entry:
    """Stop the poll's voting and store its final counts in the entry, where every reader path
    (page, API, syndication, webhooks) shows them."""
    if entry.kind != poll_kind.PollKind.name:
        raise ValidationError(gettext("This entry is not a poll."))
    if not roles.can_publish(by):
        raise PermissionDenied(gettext("Only Editors may close a poll."))
    if poll_kind.final_result(entry.details) is not None:
        return entry
    box = Box(tally.POLL, entry.pk)
    with _embedded_turns:
        tally.seal(box)
        tally.persist(box, wait=True)
        stored = tally.stored_counts(box)
        counts = [stored.get(str(index), 0) for index in range(len(poll_kind.options_of(entry.details)))]
        result = {"counts": counts, "closed_at": timezone.now().isoformat()}
        core_services.update_entry(entry=entry, by=by, details={**entry.details, "result": result})
    tallies.announce_final(box, feed_slug=entry.feed.slug, counts=stored)
    logger.info("Poll %s closed by %s: %s", entry.pk, by, counts)
    return entry


# --- Reader questions ------------------------------------------------------------------------

_INVISIBLE = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x85\u200b-\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{_INVISIBLE}]")
# Text a reader sends must hold a character that is neither blank nor invisible (the API's pattern).
VISIBLE_TEXT_PATTERN = rf"[^{BLANK}{_INVISIBLE}]"


def plain_text(value: Any, *, max_length: int, name: str) -> str:
    """A reader's text as plain text: no control or direction characters, trimmed, within limits."""
    if not isinstance(value, str):
        raise ValidationError({name: gettext("Must be text.")})
    value = _CONTROL.sub("", value).strip()
    if len(value) > max_length:
        raise ValidationError({name: gettext("At most %(count)s characters.") % {"count": max_length}})
    return value


def ask(*, feed: Feed, text: Any, display_name: Any = "", address: str = "") -> ReaderQuestion:
    """Queue a reader's question for the feed's desk; no reader sees it unless an editor answers."""
    if not feed.is_visible_to_readers or feed.status != Feed.Status.LIVE:
        raise Refused(
            gettext("This feed is not taking questions."),
            status=404 if not feed.is_visible_to_readers else 409,
        )
    if not settings_for(feed).questions_enabled:
        raise Refused(gettext("This feed is not taking questions."), status=403)
    text = plain_text(text, max_length=QUESTION_MAX, name="text")
    if not text:
        raise ValidationError({"text": gettext("Write your question.")})
    name = plain_text(display_name or "", max_length=NAME_MAX, name="display_name")
    question = ReaderQuestion(
        feed=feed,
        text=text,
        display_name=name,
        address_hash=_address_hash(address) if address else "",
    )
    with transaction.atomic():
        question.save()
        _tell_desk(question)
    return question


def answer_question(*, question: ReaderQuestion, by: AbstractBaseUser, answer: str) -> Entry:
    """Publish an entry that quotes the question (and the reader's name) followed by `answer`."""
    if not roles.can_publish(by):
        raise PermissionDenied(gettext("Only Editors may answer reader questions."))
    answer = (answer or "").strip()
    if not answer:
        raise ValidationError({"answer": gettext("Write the answer.")})
    with transaction.atomic():
        locked = ReaderQuestion.objects.select_for_update().select_related("feed").get(pk=question.pk)
        if locked.status != ReaderQuestion.Status.PENDING:
            raise ValidationError(gettext("This question was already handled."))
        with translation.override(locked.feed.language):  # read by the feed's readers
            asker = locked.display_name or gettext("A reader")
            headline = gettext("Reader question")
        quoted = "\n>\n".join(
            f"> {markdown_literal(line)}" for line in locked.text.splitlines() if line.strip()
        )
        body = f"{quoted}\n>\n> — {markdown_literal(asker)}\n\n{answer}"
        entry = core_services.create_entry(feed=locked.feed, by=by, headline=headline, body=body)
        _handled(locked, by=by, status=ReaderQuestion.Status.ANSWERED, entry=entry)
    question.refresh_from_db()
    return entry


def dismiss_question(*, question: ReaderQuestion, by: AbstractBaseUser) -> None:
    """Take the question off the queue; it is never shown to readers."""
    if not roles.can_publish(by):
        raise PermissionDenied(gettext("Only Editors may dismiss reader questions."))
    with transaction.atomic():
        locked = ReaderQuestion.objects.select_for_update().select_related("feed").get(pk=question.pk)
        if locked.status != ReaderQuestion.Status.PENDING:
            raise ValidationError(gettext("This question was already handled."))
        _handled(locked, by=by, status=ReaderQuestion.Status.DISMISSED, entry=None)
    question.refresh_from_db()


def _handled(question: ReaderQuestion, *, by: AbstractBaseUser, status: str, entry: Entry | None) -> None:
    question.status = status
    question.handled_by = by  # type: ignore[assignment]
    question.handled_at = timezone.now()
    question.answer = entry
    question._history_user = by  # type: ignore[attr-defined]
    question.save()
    _tell_desk(question)


def question_payload(question: ReaderQuestion) -> dict[str, Any]:
    """A question as the desk shows it (plain text; the desk inserts it as text, never HTML)."""
    return {
        "id": question.pk,
        "text": question.text,
        "display_name": question.display_name,
        "status": question.status,
        "created_at": question.created_at.isoformat(),
        "answer_id": question.answer_id,
    }


def _tell_desk(question: ReaderQuestion) -> None:
    broadcast_to_desk(
        feed_slug=question.feed.slug, message={"type": QUESTION_EVENT, "question": question_payload(question)}
    )


def _address_hash(address: str) -> str:
    return hashlib.sha256(f"{settings.SECRET_KEY}:question-address:{address}".encode()).hexdigest()


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&])")


def markdown_literal(text: str) -> str:
    """`text` escaped so Markdown renders it as itself: a reader's text never becomes a link or image."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)
