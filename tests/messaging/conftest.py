"""Fixtures for the messaging integrations: the local Bot/Web API server, the settings that turn
the integrations on, and linked reporters."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from feeds.messaging.models import MessagingAccount, Platform, SlackChannel
from tests.fixtures import slack_events, telegram_updates
from tests.fixtures.bot_api import SLACK_TOKEN, TELEGRAM_TOKEN, BotApi, bot_api_server

TELEGRAM_SECRET = "webhook-secret_0123456789"


@pytest.fixture
def bot_api() -> Iterator[BotApi]:
    with bot_api_server() as api:
        yield api


def messaging_environment(api: BotApi) -> dict[str, str]:
    """The environment that turns both integrations on against the local server."""
    return {
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_URL": f"{api.url}/telegram",
        "SLACK_SIGNING_SECRET": slack_events.SIGNING_SECRET,
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
        "SLACK_API_URL": f"{api.url}/slack",
    }


@pytest.fixture
def publisher(django_user_model: Any) -> Any:
    """The suite's editor, without a password: webhooks never log in, and hashing one costs a
    quarter of a second per test."""
    from tests.conftest import grant_publishing

    user = django_user_model.objects.create_user(
        username="editor", first_name="Eddie", last_name="Tor", is_staff=True
    )
    grant_publishing(user)
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def messaging_on(settings: Any, bot_api: BotApi) -> BotApi:
    settings.MESSAGING = messaging_environment(bot_api)
    return bot_api


@pytest.fixture
def link(live_feed: Any) -> Callable[..., MessagingAccount]:
    """`link(user)`: a Telegram account (the fixtures' reporter) linked to `user`, posting to the live
    feed; `link(user, platform="slack")` a Slack member."""

    def make(
        user: Any, *, platform: str = Platform.TELEGRAM, external_id: str | None = None
    ) -> MessagingAccount:
        if external_id is None:
            external_id = (
                str(telegram_updates.REPORTER["id"]) if platform == Platform.TELEGRAM else slack_events.MEMBER
            )
        return MessagingAccount.objects.create(
            platform=platform,
            external_id=external_id,
            user=user,
            feed=live_feed if platform == Platform.TELEGRAM else None,
        )

    return make


@pytest.fixture
def slack_channel(live_feed: Any) -> SlackChannel:
    return SlackChannel.objects.create(channel_id=slack_events.CHANNEL, name="pit-lane", feed=live_feed)


def send_telegram(payload: Any, *, secret: str | None = TELEGRAM_SECRET, raw: bytes | None = None) -> Any:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    body = raw if raw is not None else json.dumps(payload)
    return Client().post(
        reverse("messaging:telegram-webhook"), data=body, content_type="application/json", headers=headers
    )


def send_slack(
    payload: Any, *, raw: bytes | None = None, headers: dict[str, str] | None = None, **sign: Any
) -> Any:
    body = raw if raw is not None else slack_events.encode(payload)
    headers = headers if headers is not None else slack_events.signed_headers(body, **sign)
    headers = {name: value for name, value in headers.items() if name != "Content-Type"}
    return Client().post(
        reverse("messaging:slack-events"), data=body, content_type="application/json", headers=headers
    )


def jpeg_bytes(width: int = 640, height: int = 400) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def desk_link_code(client: Client, feed: Any) -> str:
    """Press "Get a linking code" on the desk and read the code from the message it shows."""
    desk = reverse("admin:feeds_feed_desk", args=[feed.pk])
    response = client.post(reverse("messaging:link-code"), {"next": desk}, follow=True)
    assert response.redirect_chain[-1][0] == desk
    text = " ".join(str(message) for message in response.context["messages"])
    return text.split("Your linking code is ")[1].split(",")[0]


@pytest.fixture
def media_root(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
