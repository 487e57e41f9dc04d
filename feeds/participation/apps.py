"""The participation plug-in: live polls, reactions and moderated reader questions."""

from __future__ import annotations

from django.apps import AppConfig


class ParticipationConfig(AppConfig):
    name = "feeds.participation"
    label = "participation"
    verbose_name = "Reader participation"

    def ready(self) -> None:
        """Register the poll kind, the readers' API routes, the reader page part, the desk panel, and
        the closing of polls at their time."""
        from django.db.models.signals import post_save
        from django.urls import path

        from feeds import kinds, page_parts, roles, signals
        from feeds.api import routes as api_routes
        from feeds.desk import panels as desk_panels

        from . import api, closing, services
        from .kind import PollKind
        from .models import FeedParticipation

        if PollKind.name not in {kind.name for kind in kinds.all()}:
            kinds.register(PollKind())
        api_routes.register(
            path(
                "feeds/<slug:slug>/participation/", api.ParticipationView.as_view(), name="feed-participation"
            )
        )
        api_routes.register(
            path("feeds/<slug:slug>/entries/<int:entry_id>/vote/", api.VoteView.as_view(), name="entry-vote")
        )
        api_routes.register(
            path(
                "feeds/<slug:slug>/entries/<int:entry_id>/reaction/",
                api.ReactionView.as_view(),
                name="entry-reaction",
            )
        )
        api_routes.register(
            path("feeds/<slug:slug>/questions/", api.QuestionView.as_view(), name="feed-questions")
        )
        signals.change_recorded.connect(closing.on_change_recorded, dispatch_uid="participation.closing")
        signals.change_recorded.connect(services.on_change_recorded, dispatch_uid="participation.votes")
        post_save.connect(
            services.on_switches_saved, sender=FeedParticipation, dispatch_uid="participation.switches"
        )
        page_parts.register("participation/_page_part.html")
        desk_panels.register("participation/_desk_panel.html")
        roles.grant(
            roles.EDITOR,
            "participation",
            [
                "view_readerquestion",
                "change_readerquestion",
                "view_feedparticipation",
                "change_feedparticipation",
                "add_feedparticipation",
            ],
        )
