"""The messaging plug-in's words: the desk panel and the linking code in the desk user's language,
the bots' replies in the site's language (a chat carries no language of its own)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from feeds import services
from feeds.models import Entry
from tests.fixtures import telegram_updates as tg
from tests.messaging.conftest import send_telegram

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_linking_panel_speaks_the_desk_users_language(messaging_on, make_member, live_feed):
    page = logged_in(make_member("Contributor", "casey")).get(
        reverse("admin:feeds_feed_desk", args=[live_feed.pk]), HTTP_ACCEPT_LANGUAGE="es"
    )
    html = page.content.decode()
    assert "Publicar desde Telegram o Slack" in html and "Obtener un código de vinculación" in html
    assert "como borradores para un editor" in html and "Get a linking code" not in html


def test_the_desk_says_in_french_when_the_integrations_are_off(settings, make_member, live_feed):
    settings.MESSAGING = {}
    page = logged_in(make_member("Editor", "erin")).get(
        reverse("admin:feeds_feed_desk", args=[live_feed.pk]), HTTP_ACCEPT_LANGUAGE="fr"
    )
    html = page.content.decode()
    assert "La publication depuis Telegram est désactivée : définissez TELEGRAM_BOT_TOKEN" in html


def test_the_linking_code_is_announced_in_the_users_language(messaging_on, make_member, live_feed):
    desk = reverse("admin:feeds_feed_desk", args=[live_feed.pk])
    response = logged_in(make_member("Editor", "erin")).post(
        reverse("messaging:link-code"), {"next": desk}, follow=True, HTTP_ACCEPT_LANGUAGE="fr"
    )
    [message] = [str(message) for message in response.context["messages"]]
    assert (
        message.startswith("Votre code de liaison est ") and "valable 10 minutes, une seule fois" in message
    )


def test_the_bot_refuses_in_the_sites_language(settings, messaging_on, make_member, link, publisher):
    settings.LANGUAGE_CODE = "es"
    link(make_member("Contributor", "casey"))
    original = tg.message(text="Draft from the pits")
    send_telegram(tg.update(original))
    services.update_entry(entry=Entry.objects.get(), by=publisher, status=Entry.Status.PUBLISHED)

    send_telegram(tg.update({**original, "text": "Changed"}, kind="edited_message"))

    assert messaging_on.sent_texts()[-1] == "No publicado: Solo puedes editar tus propios borradores."
