"""Telegram updates to entries: bot commands, linking, text with its formatting, photos, edits.

Called by the webhook view with a parsed Update; every reply goes through `sendMessage`.
"""

from __future__ import annotations

import logging
import posixpath
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import Entry, Feed
from . import linking, posting
from .botapi import BotApiError, FileTooLarge, TelegramClient
from .formatting import telegram_to_markdown
from .models import MessagingAccount, Platform
from .outcomes import BadDelivery, Outcome, PlatformUnavailable, refusal_text

logger = logging.getLogger(__name__)

PLATFORM = Platform.TELEGRAM
HOW_TO_LINK = gettext_lazy(
    "This bot posts to Livefeed for linked reporters. Open a feed's live desk, choose "
    '"Get a linking code" under "Post from Telegram or Slack", and send it here as /link CODE.'
)
HELP = gettext_lazy(
    "/feeds lists the feeds you can write to, /feed <slug> chooses one; then every message you send "
    "(text or photo) becomes an entry, and editing the message edits it. /unlink disconnects this account."
)
COMMAND = re.compile(r"^/(?P<name>[A-Za-z_]+)(?:@\w+)?(?:\s+(?P<argument>.*))?$", re.DOTALL)


def handle_update(update: dict[str, Any], *, client: TelegramClient | None = None) -> Outcome:
    """Handle one Update at most once (by `update_id`); raises BadDelivery or PlatformUnavailable."""
    client = client or TelegramClient()
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise BadDelivery("update_id: an integer is required.")
    if posting.already_handled(platform=PLATFORM, delivery_id=str(update_id)):
        return Outcome("duplicate", f"update {update_id} was handled before")
    if "message" in update:
        message, edited = update["message"], False
    elif "edited_message" in update:
        message, edited = update["edited_message"], True
    else:
        kinds = ", ".join(sorted(key for key in update if key != "update_id")) or "nothing"
        logger.info("Telegram update %s ignored: it carries %s", update_id, kinds)
        posting.remember_delivery(platform=PLATFORM, delivery_id=str(update_id))
        return Outcome("ignored", f"updates carrying {kinds} are not handled")
    return _Update(update_id=str(update_id), message=_checked(message), edited=edited, client=client).handle()


def _checked(message: Any) -> dict[str, Any]:
    """The fields every message needs, checked before anything is written."""
    if not isinstance(message, dict):
        raise BadDelivery("message: an object is required.")
    if not isinstance(message.get("message_id"), int):
        raise BadDelivery("message.message_id: an integer is required.")
    chat = message.get("chat")
    if not isinstance(chat, dict) or not isinstance(chat.get("id"), int):
        raise BadDelivery("message.chat.id: an integer is required.")
    sender = message.get("from")
    if sender is not None and (not isinstance(sender, dict) or not isinstance(sender.get("id"), int)):
        raise BadDelivery("message.from.id: an integer is required.")
    for name in ("text", "caption"):
        if name in message and not isinstance(message[name], str):
            raise BadDelivery(f"message.{name}: text is required.")
    if "photo" in message and not (
        isinstance(message["photo"], list)
        and message["photo"]
        and all(isinstance(size, dict) and isinstance(size.get("file_id"), str) for size in message["photo"])
    ):
        raise BadDelivery("message.photo: a list of PhotoSize objects with file_id is required.")
    return message


class _Update:
    """One message or edited message, from one sender, in one chat."""

    def __init__(
        self, *, update_id: str, message: dict[str, Any], edited: bool, client: TelegramClient
    ) -> None:
        self.update_id = update_id
        self.message = message
        self.edited = edited
        self.client = client
        self.chat_id = message["chat"]["id"]
        self.sender = message.get("from") or {}

    def handle(self) -> Outcome:
        if not self.sender or self.sender.get("is_bot"):
            return self._done("ignored", "messages without a human sender are not posted")
        text = self.message.get("text", "")
        if text.startswith("/") and not self.edited:
            return self._command(text)
        account = linking.linked_account(platform=PLATFORM, external_id=str(self.sender["id"]))
        if account is None:
            logger.info(
                "Telegram update %s from unlinked account %s not posted", self.update_id, self.sender["id"]
            )
            return self._done("refused", "the sender is not linked", reply=str(HOW_TO_LINK))
        if self.edited:
            return self._edit(account)
        return self._post(account)

    # --- Commands ---------------------------------------------------------------------------

    def _command(self, text: str) -> Outcome:
        match = COMMAND.match(text.strip())
        name = match.group("name").lower() if match else ""
        argument = (match.group("argument") or "").strip() if match else ""
        if name == "link":
            return self._link(argument)
        account = linking.linked_account(platform=PLATFORM, external_id=str(self.sender["id"]))
        if account is None:
            return self._done("command", "help for an unlinked account", reply=str(HOW_TO_LINK))
        if name == "feeds":
            # A Telegram message holds at most 4096 characters.
            feeds = posting.writable_feeds()[:40]
            listing = "\n".join(
                f"{'→ ' if account.feed_id == feed.pk else ''}{feed.slug} — {feed.title} ({feed.get_status_display()})"
                for feed in feeds
            )
            return self._done(
                "command",
                "feeds listed",
                reply=_("Your feeds:\n%(listing)s\nChoose one with /feed <slug>.") % {"listing": listing}
                if feeds
                else _("There is no feed to write to yet."),
            )
        if name == "feed":
            return self._choose_feed(account, argument)
        if name == "unlink":
            account.delete()
            return self._done(
                "command", "unlinked", reply=_("This Telegram account is no longer linked to Livefeed.")
            )
        current = (
            " "
            + _("You are posting to %(feed)s (%(slug)s).")
            % {"feed": account.feed.title, "slug": account.feed.slug}
            if account.feed
            else ""
        )
        return self._done("command", "help", reply=str(HELP) + current)

    def _link(self, code: str) -> Outcome:
        if not code:
            return self._done("refused", "no code", reply=_("Send the code from the live desk: /link CODE"))
        name = " ".join(filter(None, [self.sender.get("first_name"), self.sender.get("last_name")]))
        username = self.sender.get("username")
        try:
            with posting.handled_once(platform=PLATFORM, delivery_id=self.update_id):
                account = linking.link_account(
                    platform=PLATFORM,
                    external_id=str(self.sender["id"]),
                    code=code,
                    display_name=f"@{username}" if username else name,
                )
        except posting.Duplicate:
            return Outcome("duplicate", f"update {self.update_id} was handled before")
        except linking.LinkRefused as exc:
            logger.info("Telegram account %s: link code refused", self.sender["id"])
            return self._done("refused", "link code refused", reply=str(exc))
        user = account.user
        logger.info("Telegram account %s linked to %s", self.sender["id"], user)
        # Recorded as handled with the link itself, above: only the answer is left.
        send_reply(
            self.client,
            self.chat_id,
            _("Linked to Livefeed as %(name)s.") % {"name": user.get_full_name() or user.get_username()}
            + " "
            + str(HELP),
        )
        return Outcome("linked", f"linked to {user}")

    def _choose_feed(self, account: MessagingAccount, slug: str) -> Outcome:
        feed = posting.writable_feed(slug)
        if feed is None:
            return self._done(
                "refused",
                "unknown feed",
                reply=_("No open feed is called %(slug)r. /feeds lists them.") % {"slug": slug},
            )
        account.feed = feed
        account.save(update_fields=["feed"])
        if posting.new_entry_status(account.user) == Entry.Status.PUBLISHED:
            reply = _("Posting to %(feed)s: your messages are published at once.")
        else:
            reply = _("Posting to %(feed)s: your messages are saved as drafts for an editor to publish.")
        return self._done("command", f"feed {feed.slug} chosen", reply=reply % {"feed": feed.title})

    # --- Entries ----------------------------------------------------------------------------

    def _post(self, account: MessagingAccount) -> Outcome:
        feed = account.feed
        if feed is None or feed.status == Feed.Status.ENDED:
            return self._done(
                "refused", "no feed chosen", reply=_("Choose a feed first: /feeds, then /feed <slug>.")
            )
        if "photo" in self.message:
            fields = self._photo_fields(account)
            if isinstance(fields, Outcome):
                return fields
        elif "text" in self.message:
            fields = {"body": telegram_to_markdown(self.message["text"], self.message.get("entities"))}
        else:
            return self._done(
                "ignored", "only text and photos are posted", reply=_("Only text and photos are posted.")
            )
        try:
            entry = posting.post_message(
                platform=PLATFORM,
                delivery_id=self.update_id,
                conversation_id=str(self.chat_id),
                message_id=str(self.message["message_id"]),
                feed=feed,
                user=account.user,
                **fields,
            )
        except posting.Duplicate:
            return Outcome("duplicate", f"update {self.update_id} was handled before")
        except (ValidationError, PermissionDenied) as exc:
            return self._refused(exc)
        return Outcome("posted", f"entry {entry.pk} ({entry.status})")

    def _photo_fields(self, account: MessagingAccount) -> dict[str, Any] | Outcome:
        """Download the largest size Livefeed accepts and describe it as an image entry."""
        limit = settings.MAX_IMAGE_BYTES
        sizes = [
            size
            for size in self.message["photo"]
            if not isinstance(size.get("file_size"), int) or size["file_size"] <= limit
        ]
        too_large = _("The photo is larger than %(limit)s MB; send a smaller one.") % {
            "limit": limit // (1024 * 1024)
        }
        if not sizes:
            logger.info("Telegram update %s: every size of the photo is over the limit", self.update_id)
            return self._done("refused", "photo too large", reply=too_large)
        largest = max(
            sizes,
            key=lambda size: (
                _number(size.get("width")) * _number(size.get("height")),
                _number(size.get("file_size")),
            ),
        )
        try:
            path, data = self.client.download_file(file_id=largest["file_id"], max_bytes=limit)
        except FileTooLarge:
            logger.info("Telegram update %s: the photo download went over the limit", self.update_id)
            return self._done("refused", "photo too large", reply=too_large)
        except BotApiError as exc:
            logger.error(
                "Telegram update %s: photo not fetched, Telegram will redeliver: %s", self.update_id, exc
            )
            raise PlatformUnavailable(str(exc)) from exc
        caption = self.message.get("caption", "")
        name = posixpath.basename(path) or "photo.jpg"
        author = account.user.get_full_name() or account.user.get_username()
        return {
            "kind": Entry.Kind.IMAGE,
            "image": SimpleUploadedFile(name, data),
            "body": telegram_to_markdown(caption, self.message.get("caption_entities")),
            "details": {"alt": caption.strip()[:300] or f"Photo by {author}"},
        }

    def _edit(self, account: MessagingAccount) -> Outcome:
        entry = posting.entry_for_message(
            platform=PLATFORM, conversation_id=str(self.chat_id), message_id=str(self.message["message_id"])
        )
        if entry is None:
            return self._done("ignored", "the edited message is not an entry")
        if "text" in self.message:
            body = telegram_to_markdown(self.message["text"], self.message.get("entities"))
        else:
            body = telegram_to_markdown(self.message.get("caption", ""), self.message.get("caption_entities"))
        try:
            posting.edit_message(
                platform=PLATFORM, delivery_id=self.update_id, entry=entry, user=account.user, body=body
            )
        except posting.Duplicate:
            return Outcome("duplicate", f"update {self.update_id} was handled before")
        except (ValidationError, PermissionDenied) as exc:
            return self._refused(exc)
        return Outcome("updated", f"entry {entry.pk}")

    # --- Answers ----------------------------------------------------------------------------

    def _refused(self, exc: ValidationError | PermissionDenied) -> Outcome:
        reason = refusal_text(exc)
        logger.info("Telegram update %s refused: %s", self.update_id, reason)
        return self._done("refused", reason, reply=_("Not posted: %(reason)s") % {"reason": reason})

    def _done(self, result: str, detail: str, *, reply: str = "") -> Outcome:
        """Record the update as handled (so a redelivery is a no-op) and answer the chat; called outside
        any transaction, once the outcome is committed."""
        posting.remember_delivery(platform=PLATFORM, delivery_id=self.update_id)
        if reply:
            send_reply(self.client, self.chat_id, reply)
        return Outcome(result, detail)


def send_reply(client: TelegramClient, chat_id: int, text: str) -> None:
    """Answer a chat; a failure is logged, never raised, since the update itself was handled."""
    try:
        client.send_message(chat_id=chat_id, text=text)
    except BotApiError as exc:
        logger.warning("Telegram reply to chat %s failed: %s", chat_id, exc)


def _number(value: Any) -> int:
    return value if isinstance(value, int) else 0
