"""Slack Events API callbacks to entries: messages in a mapped channel, their edits and deletions.

Slack members link their account with the desk's one-time code, posted as `link CODE` in a mapped
channel or a direct message to the app (or an admin enters their member id). Thread replies stay
discussion and are not posted.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import Feed
from . import linking, posting
from .botapi import BotApiError, SlackClient
from .formatting import slack_to_markdown
from .models import Platform, SlackChannel
from .outcomes import BadDelivery, Outcome, refusal_text

logger = logging.getLogger(__name__)

PLATFORM = Platform.SLACK
HOW_TO_LINK = gettext_lazy(
    "Your message was not posted to Livefeed: your Slack account is not linked. Open a feed's live desk, "
    'choose "Get a linking code" and post it here as: link CODE'
)
LINK = re.compile(r"^\s*link\s+(?P<code>[A-Za-z0-9-]{4,20})\s*$", re.IGNORECASE)
# Subtypes that are a person's new message; anything else (joins, bots, topics…) is not an entry.
NEW_MESSAGE_SUBTYPES = {None, "thread_broadcast", "file_share"}


def handle_event_callback(payload: dict[str, Any], *, client: SlackClient | None = None) -> Outcome:
    """Handle one `event_callback` at most once (by `event_id`); raises BadDelivery."""
    client = client or SlackClient()
    event_id = payload.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        raise BadDelivery("event_id: text is required.")
    event = payload.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise BadDelivery("event.type: text is required.")
    if posting.already_handled(platform=PLATFORM, delivery_id=event_id):
        return Outcome("duplicate", f"event {event_id} was handled before")
    return _Event(event_id=event_id, event=event, client=client).handle()


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise BadDelivery(f"{name}: text is required.")
    return value


class _Event:
    def __init__(self, *, event_id: str, event: dict[str, Any], client: SlackClient) -> None:
        self.event_id = event_id
        self.event = event
        self.client = client

    def handle(self) -> Outcome:
        if self.event["type"] != "message":
            return self._done("ignored", f"{self.event['type']} events are not handled")
        subtype = self.event.get("subtype")
        channel = _text(self.event.get("channel"), "event.channel")
        if subtype in NEW_MESSAGE_SUBTYPES:
            return self._message(channel)
        if subtype == "message_changed":
            return self._changed(channel)
        if subtype == "message_deleted":
            return self._deleted(channel)
        return self._done("ignored", f"message subtype {subtype} is not handled")

    def _message(self, channel: str) -> Outcome:
        if self.event.get("bot_id"):
            return self._done("ignored", "messages from bots are not posted")
        user = _text(self.event.get("user"), "event.user")
        ts = _text(self.event.get("ts"), "event.ts")
        text = self.event.get("text") or ""
        if not isinstance(text, str):
            raise BadDelivery("event.text: text is required.")
        link = LINK.match(text)
        if link:
            return self._link(channel, user, link.group("code"))
        if not text.strip():
            # A file shared without a message: files are not posted, only text.
            return self._done("ignored", "only the text of a message is posted")
        thread = self.event.get("thread_ts")
        if thread and thread != ts and self.event.get("subtype") != "thread_broadcast":
            return self._done("ignored", "thread replies are not posted")
        feed = _mapped_feed(channel)
        if feed is None:
            return self._done("ignored", f"channel {channel} is not mapped to a feed")
        account = linking.linked_account(platform=PLATFORM, external_id=user)
        if account is None:
            logger.info("Slack event %s from unlinked member %s not posted", self.event_id, user)
            return self._done("refused", "the sender is not linked", reply=(channel, user, str(HOW_TO_LINK)))
        if feed.status == Feed.Status.ENDED:
            return self._done(
                "refused",
                "the feed has ended",
                reply=(channel, user, _("%(feed)s has ended; not posted.") % {"feed": feed.title}),
            )
        try:
            entry = posting.post_message(
                platform=PLATFORM,
                delivery_id=self.event_id,
                conversation_id=channel,
                message_id=ts,
                feed=feed,
                user=account.user,
                body=slack_to_markdown(text),
            )
        except posting.Duplicate:
            return Outcome("duplicate", f"event {self.event_id} was handled before")
        except (ValidationError, PermissionDenied) as exc:
            return self._refused(exc, channel, user)
        return Outcome("posted", f"entry {entry.pk} ({entry.status})")

    def _link(self, channel: str, user: str, code: str) -> Outcome:
        try:
            with posting.handled_once(platform=PLATFORM, delivery_id=self.event_id):
                account = linking.link_account(platform=PLATFORM, external_id=user, code=code)
        except posting.Duplicate:
            return Outcome("duplicate", f"event {self.event_id} was handled before")
        except linking.LinkRefused as exc:
            logger.info("Slack member %s: link code refused", user)
            return self._done("refused", "link code refused", reply=(channel, user, str(exc)))
        name = account.user.get_full_name() or account.user.get_username()
        logger.info("Slack member %s linked to %s", user, account.user)
        # Recorded as handled with the link itself, above: only the answer is left.
        send_ephemeral(
            self.client,
            channel,
            user,
            _("Linked to Livefeed as %(name)s. Your messages in mapped channels become entries.")
            % {"name": name},
        )
        return Outcome("linked", f"linked to {account.user}")

    def _changed(self, channel: str) -> Outcome:
        message = self.event.get("message")
        if not isinstance(message, dict):
            raise BadDelivery("event.message: an object is required.")
        ts = _text(message.get("ts"), "event.message.ts")
        entry = posting.entry_for_message(platform=PLATFORM, conversation_id=channel, message_id=ts)
        if entry is None:
            return self._done("ignored", "the edited message is not an entry")
        user = _text(message.get("user"), "event.message.user")
        account = linking.linked_account(platform=PLATFORM, external_id=user)
        if account is None:
            return self._done("refused", "the editor is not linked")
        text = message.get("text") or ""
        if not isinstance(text, str):
            raise BadDelivery("event.message.text: text is required.")
        try:
            posting.edit_message(
                platform=PLATFORM,
                delivery_id=self.event_id,
                entry=entry,
                user=account.user,
                body=slack_to_markdown(text),
            )
        except posting.Duplicate:
            return Outcome("duplicate", f"event {self.event_id} was handled before")
        except (ValidationError, PermissionDenied) as exc:
            return self._refused(exc, channel, user)
        return Outcome("updated", f"entry {entry.pk}")

    def _deleted(self, channel: str) -> Outcome:
        ts = _text(self.event.get("deleted_ts"), "event.deleted_ts")
        entry = posting.entry_for_message(platform=PLATFORM, conversation_id=channel, message_id=ts)
        if entry is None:
            return self._done("ignored", "the deleted message is not an entry")
        previous = self.event.get("previous_message")
        user = previous.get("user") if isinstance(previous, dict) else None
        account = (
            linking.linked_account(platform=PLATFORM, external_id=user) if isinstance(user, str) else None
        )
        if account is None:
            return self._done("refused", "the message's author is not linked")
        try:
            posting.delete_message(
                platform=PLATFORM, delivery_id=self.event_id, entry=entry, user=account.user
            )
        except posting.Duplicate:
            return Outcome("duplicate", f"event {self.event_id} was handled before")
        except PermissionDenied as exc:
            return self._refused(exc, channel, user, verb=_("Not deleted from Livefeed"))
        return Outcome("deleted", f"entry {entry.pk}")

    def _refused(
        self,
        exc: ValidationError | PermissionDenied,
        channel: str,
        user: str,
        *,
        verb: str = "",
    ) -> Outcome:
        reason = refusal_text(exc)
        logger.info("Slack event %s refused: %s", self.event_id, reason)
        return self._done(
            "refused",
            reason,
            reply=(
                channel,
                user,
                _("%(verb)s: %(reason)s") % {"verb": verb or _("Not posted to Livefeed"), "reason": reason},
            ),
        )

    def _done(self, result: str, detail: str, *, reply: tuple[str, str, str] | None = None) -> Outcome:
        """Record the event as handled (so Slack's retry is a no-op) and answer the member privately."""
        posting.remember_delivery(platform=PLATFORM, delivery_id=self.event_id)
        if reply:
            send_ephemeral(self.client, *reply)
        return Outcome(result, detail)


def _mapped_feed(channel: str) -> Feed | None:
    mapping = SlackChannel.objects.select_related("feed").filter(channel_id=channel).first()
    return mapping.feed if mapping else None


def send_ephemeral(client: SlackClient, channel: str, user: str, text: str) -> None:
    """Answer one member; a failure is logged, never raised, since the event itself was handled."""
    try:
        client.post_ephemeral(channel=channel, user=user, text=text)
    except BotApiError as exc:
        logger.warning("Slack reply to %s in %s failed: %s", user, channel, exc)
