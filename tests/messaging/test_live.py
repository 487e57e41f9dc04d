"""End to end on a real Daphne process: a Telegram webhook POST reaches readers' sockets and the
public page, and the bot's answers reach the (local) Bot API."""

from __future__ import annotations

import json

import httpx2 as httpx
import pytest
from websockets.sync.client import connect

from tests.fixtures import telegram_updates as tg
from tests.messaging.conftest import TELEGRAM_SECRET, messaging_environment

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_telegram_message_reaches_a_readers_socket_and_the_public_page(
    start_daphne, bot_api, publisher, link, live_feed
):
    link(publisher)
    server = start_daphne(**messaging_environment(bot_api))
    webhook = f"{server.url}/integrations/telegram/webhook/"
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    update = tg.text_update("Green flag! *Lap 1*", entities=[tg.entity("bold", 0, 11)])

    with connect(
        f"{server.ws_url}/ws/feeds/{live_feed.slug}/?after={live_feed.seq}", open_timeout=10
    ) as reader:
        stranger = httpx.post(
            webhook, json=tg.text_update("Spam", sender=tg.STRANGER), headers=headers, timeout=10
        )
        posted = httpx.post(webhook, json=update, headers=headers, timeout=10)
        redelivered = httpx.post(webhook, json=update, headers=headers, timeout=10)
        message = json.loads(reader.recv(timeout=10))

    assert stranger.json()["result"] == "refused"
    assert posted.json()["result"] == "posted" and redelivered.json()["result"] == "duplicate"
    assert message["type"] == "entry.created" and message["seq"] == live_feed.seq + 1
    assert message["entry"]["html"] == "<p><strong>Green flag!</strong> *Lap 1*</p>"
    assert message["entry"]["author"] == "Eddie Tor"
    page = httpx.get(f"{server.url}/feeds/{live_feed.slug}/", timeout=10).text
    assert "<strong>Green flag!</strong> *Lap 1*" in page
    [reply] = bot_api.calls("/sendMessage")
    assert reply.body["chat_id"] == tg.STRANGER["id"] and "/link CODE" in reply.body["text"]
    unsigned = httpx.post(webhook, json=tg.text_update("Forged"), timeout=10)
    assert unsigned.status_code == 403
