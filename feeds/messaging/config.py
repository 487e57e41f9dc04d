"""Whether each integration is on: both its secrets must be set in the environment."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _

TELEGRAM_OFF = _("Telegram posting is off: set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET.")
SLACK_OFF = _("Slack posting is off: set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN.")


def setting(name: str) -> str:
    return settings.MESSAGING.get(name, "")


def telegram_enabled() -> bool:
    return bool(setting("TELEGRAM_BOT_TOKEN") and setting("TELEGRAM_WEBHOOK_SECRET"))


def slack_enabled() -> bool:
    return bool(setting("SLACK_SIGNING_SECRET") and setting("SLACK_BOT_TOKEN"))
