"""The desk's linking panel and code, the admin's notices, and the webhook registration command."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from feeds.messaging import linking
from feeds.messaging.models import LinkCode
from tests.fixtures.bot_api import TELEGRAM_TOKEN
from tests.messaging.conftest import TELEGRAM_SECRET

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_desk_shows_the_linking_panel_with_a_code_button(messaging_on, make_member, live_feed):
    page = logged_in(make_member("Contributor", "casey")).get(
        reverse("admin:feeds_feed_desk", args=[live_feed.pk])
    )
    html = page.content.decode()
    assert "Post from Telegram or Slack" in html and "Get a linking code" in html
    assert "as drafts for an editor" in html and "posting is off" not in html


def test_the_desk_says_when_the_integrations_are_off(settings, make_member, live_feed):
    settings.MESSAGING = {}
    page = logged_in(make_member("Editor", "erin")).get(reverse("admin:feeds_feed_desk", args=[live_feed.pk]))
    html = page.content.decode()
    assert "Telegram posting is off: set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET." in html
    assert "Slack posting is off: set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN." in html
    assert "Get a linking code" not in html


def test_a_link_code_is_shown_once_and_expires_in_ten_minutes(messaging_on, make_member):
    response = logged_in(make_member("Editor", "erin")).post(
        reverse("messaging:link-code"), headers={"Accept": "application/json"}
    )
    assert response.status_code == 201
    code = response.json()["code"]
    stored = LinkCode.objects.get()
    assert len(code) == 9 and code[4] == "-" and code not in stored.code_hash
    assert (stored.expires_at - stored.created_at).total_seconds() == pytest.approx(600, abs=2)


def test_link_codes_need_a_staff_login_and_a_post(messaging_on, client, django_user_model, make_member):
    assert client.post(reverse("messaging:link-code")).status_code == 302  # to the admin login
    reader = django_user_model.objects.create_user(username="reader")
    assert logged_in(reader).post(reverse("messaging:link-code")).status_code == 302
    assert logged_in(make_member("Editor", "erin")).get(reverse("messaging:link-code")).status_code == 405
    assert not LinkCode.objects.exists()


def test_a_code_links_only_once_even_when_tried_twice(messaging_on, make_member):
    code, _ = linking.issue_link_code(user=make_member("Editor", "erin"))
    linking.link_account(platform="telegram", external_id="1", code=code)
    with pytest.raises(linking.LinkRefused):
        linking.link_account(platform="telegram", external_id="2", code=code)


def test_a_user_who_lost_their_role_cannot_link(messaging_on, make_member):
    user = make_member("Contributor", "casey")
    code, _ = linking.issue_link_code(user=user)
    user.groups.clear()
    with pytest.raises(linking.LinkRefused, match="may not write"):
        linking.link_account(platform="telegram", external_id="1", code=code)


@pytest.mark.parametrize(
    "page", ["messaging_slackchannel_changelist", "messaging_messagingaccount_changelist"]
)
def test_the_admin_says_when_slack_posting_is_off(settings, make_member, page):
    settings.MESSAGING = {}
    html = logged_in(make_member("superuser", "root")).get(reverse(f"admin:{page}")).content.decode()
    assert "Slack posting is off: set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN." in html


def test_the_admin_shows_no_notice_when_slack_is_on(messaging_on, make_member):
    html = (
        logged_in(make_member("superuser", "root"))
        .get(reverse("admin:messaging_slackchannel_changelist"))
        .content.decode()
    )
    assert "posting is off" not in html


def test_telegram_webhook_command_registers_the_url_with_the_secret(messaging_on, capsys):
    call_command("telegram_webhook", "https://live.example.com/")
    [call] = messaging_on.calls("/setWebhook")
    assert call.path == f"/telegram/bot{TELEGRAM_TOKEN}/setWebhook"
    assert call.body == {
        "url": "https://live.example.com/integrations/telegram/webhook/",
        "secret_token": TELEGRAM_SECRET,
        "allowed_updates": ["message", "edited_message"],
    }
    assert "https://live.example.com/integrations/telegram/webhook/" in capsys.readouterr().out


def test_telegram_webhook_command_refuses_while_telegram_is_off(settings):
    settings.MESSAGING = {}
    with pytest.raises(CommandError, match="Telegram posting is off"):
        call_command("telegram_webhook", "https://live.example.com")


def test_telegram_webhook_command_reports_a_refusal(messaging_on, settings):
    settings.MESSAGING = {**settings.MESSAGING, "TELEGRAM_BOT_TOKEN": "999:wrong"}
    with pytest.raises(CommandError, match="Unauthorized"):
        call_command("telegram_webhook", "https://live.example.com")
