"""/participation/…: the no-JavaScript question form and the desk's actions."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "participation"

urlpatterns = [
    path("feeds/<slug:slug>/questions/", views.ask_question, name="ask"),
    path("desk/feeds/<slug:slug>/questions/", views.question_queue, name="queue"),
    path("desk/feeds/<slug:slug>/switches/", views.feed_switches, name="switches"),
    path("desk/questions/<int:question_id>/answer/", views.answer_question, name="answer"),
    path("desk/questions/<int:question_id>/dismiss/", views.dismiss_question, name="dismiss"),
    path("desk/polls/<int:entry_id>/close/", views.close_poll, name="close-poll"),
]
