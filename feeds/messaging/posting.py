"""Chat messages to entries, through feeds/services.py, each delivery handled at most once.

The linked user is the author (`by=`), so roles hold: a Contributor's messages arrive as drafts,
an Editor's are published. The mapping (conversation, message) → entry lets edits and deletions
find their entry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from .. import roles, services
from ..models import Entry, Feed
from .models import MessagingDelivery, MessagingEntry

logger = logging.getLogger(__name__)


class Duplicate(Exception):
    """This delivery was handled before (a platform's retry)."""


def already_handled(*, platform: str, delivery_id: str) -> bool:
    """A cheap early check, before downloading anything for a retried delivery."""
    return MessagingDelivery.objects.filter(platform=platform, delivery_id=str(delivery_id)).exists()


def claim_delivery(*, platform: str, delivery_id: str) -> bool:
    """Record the delivery; False if it was already recorded. Inside the caller's transaction, so a
    failed post gives the claim back; concurrent retries wait on the unique key and lose."""
    try:
        with transaction.atomic():
            MessagingDelivery.objects.create(platform=platform, delivery_id=str(delivery_id))
    except IntegrityError:
        return False
    return True


def remember_delivery(*, platform: str, delivery_id: str) -> None:
    """Record a delivery that was answered without a change (refused, ignored, a command)."""
    claim_delivery(platform=platform, delivery_id=delivery_id)


@contextmanager
def handled_once(*, platform: str, delivery_id: str) -> Iterator[None]:
    """Run the block in one transaction with the delivery's record; raise Duplicate (and run
    nothing) if the delivery was handled before."""
    with transaction.atomic():
        if not claim_delivery(platform=platform, delivery_id=delivery_id):
            raise Duplicate
        yield


def writable_feeds() -> list[Feed]:
    """Feeds messages may go to: those not ended (drafts too, for coverage being prepared)."""
    return list(Feed.objects.exclude(status=Feed.Status.ENDED).order_by("-status", "title"))


def writable_feed(slug: str) -> Feed | None:
    """The feed messages may go to by that slug, if any (see `writable_feeds`)."""
    return Feed.objects.exclude(status=Feed.Status.ENDED).filter(slug=slug.lower()).first()


def new_entry_status(user: AbstractBaseUser) -> str:
    return Entry.Status.PUBLISHED if roles.can_publish(user) else Entry.Status.DRAFT


def post_message(
    *,
    platform: str,
    delivery_id: str,
    conversation_id: str,
    message_id: str,
    feed: Feed,
    user: AbstractBaseUser,
    **fields: Any,
) -> Entry:
    """Create the entry a new message becomes; raises Duplicate for a retried delivery."""
    with handled_once(platform=platform, delivery_id=delivery_id):
        entry = services.create_entry(feed=feed, by=user, status=new_entry_status(user), **fields)
        MessagingEntry.objects.create(
            platform=platform, conversation_id=str(conversation_id), message_id=str(message_id), entry=entry
        )
    logger.info(
        "%s message %s:%s posted as entry %s by %s", platform, conversation_id, message_id, entry.pk, user
    )
    return entry


def entry_for_message(*, platform: str, conversation_id: str, message_id: str) -> Entry | None:
    """The live (not deleted) entry a message became, if any."""
    source = (
        MessagingEntry.objects.select_related("entry__feed")
        .filter(platform=platform, conversation_id=str(conversation_id), message_id=str(message_id))
        .first()
    )
    if source is None or source.entry.is_tombstone:
        return None
    return source.entry


def edit_message(
    *, platform: str, delivery_id: str, entry: Entry, user: AbstractBaseUser, **changes: Any
) -> Entry:
    """Apply a message's edit to its entry; raises Duplicate for a retried delivery."""
    with handled_once(platform=platform, delivery_id=delivery_id):
        services.update_entry(entry=entry, by=user, **changes)
    logger.info("%s edit updated entry %s by %s", platform, entry.pk, user)
    return entry


def delete_message(*, platform: str, delivery_id: str, entry: Entry, user: AbstractBaseUser) -> None:
    """Delete the entry of a deleted message; raises Duplicate for a retried delivery."""
    with handled_once(platform=platform, delivery_id=delivery_id):
        services.delete_entry(entry=entry, by=user)
    logger.info("%s deletion removed entry %s by %s", platform, entry.pk, user)
