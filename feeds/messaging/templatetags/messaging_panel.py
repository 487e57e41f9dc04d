"""`{% messaging_link_panel %}`: the desk's "Post from Telegram or Slack" panel."""

from __future__ import annotations

from typing import Any

from django import template

from feeds import roles
from feeds.messaging import config
from feeds.messaging.models import MessagingAccount

register = template.Library()


@register.inclusion_tag("messaging/_link_panel_body.html", takes_context=True)
def messaging_link_panel(context: dict[str, Any]) -> dict[str, Any]:
    """Which integrations are on, the user's linked accounts, and the form for a new code."""
    request = context["request"]
    user = request.user
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "telegram_on": config.telegram_enabled(),
        "slack_on": config.slack_enabled(),
        "telegram_off": config.TELEGRAM_OFF,
        "slack_off": config.SLACK_OFF,
        "can_write": roles.can_write(user),
        "can_publish": roles.can_publish(user),
        "accounts": list(
            MessagingAccount.objects.filter(user=user).select_related("feed").order_by("platform")
        ),
    }
