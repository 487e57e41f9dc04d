"""/integrations/…: the webhooks Telegram and Slack call, and the desk's linking code."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "messaging"

urlpatterns = [
    path("telegram/webhook/", views.telegram_webhook, name="telegram-webhook"),
    path("slack/events/", views.slack_events, name="slack-events"),
    path("link-code/", views.link_code, name="link-code"),
]
