"""`manage.py telegram_webhook https://live.example.com`: point the Telegram bot at this site."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from feeds.messaging import config
from feeds.messaging.botapi import BotApiError, TelegramClient


class Command(BaseCommand):
    help = "Register this site's Telegram webhook (setWebhook, with TELEGRAM_WEBHOOK_SECRET as its secret token)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "base_url", help="The site's public https:// address, e.g. https://live.example.com"
        )

    def handle(self, *args: Any, base_url: str, **options: Any) -> None:
        if not config.telegram_enabled():
            raise CommandError(config.TELEGRAM_OFF)
        if not base_url.startswith("https://"):
            raise CommandError(
                "Telegram only calls https:// webhooks: give the site's public https:// address."
            )
        url = base_url.rstrip("/") + reverse("messaging:telegram-webhook")
        try:
            TelegramClient().set_webhook(url=url, secret_token=config.setting("TELEGRAM_WEBHOOK_SECRET"))
        except BotApiError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"Telegram will deliver updates to {url}")
