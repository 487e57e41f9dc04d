"""The readers' endpoints under /api/: the feed's participation state, votes, reactions, questions.

Readers have no account: these endpoints take no token or session (so no CSRF token either) and
know a browser by its signed reader cookie (`readers`). A request from another site's page (an
`Origin` that is not this site) is refused, so no page elsewhere can vote with a reader's cookie.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.validators import RegexValidator
from django.shortcuts import get_object_or_404
from django.utils import translation
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from feeds.api import schema
from feeds.api.serializers import TextField
from feeds.models import Feed

from . import limits, readers, selectors, services
from .models import REACTIONS

logger = logging.getLogger(__name__)

# Writes readers make without a token; the schema tags them so clients (and tests) can tell.
READER_WRITES_TAG = "readers"


# --- What the schema says ------------------------------------------------------------------------


class VoteRequest(serializers.Serializer):
    option = serializers.IntegerField(min_value=0, max_value=5, help_text="The option's index, from 0.")

    class Meta:
        ref_name = "VoteRequest"


class ReactionRequest(serializers.Serializer):
    reaction = serializers.ChoiceField(choices=list(REACTIONS))

    class Meta:
        ref_name = "ReactionRequest"


class QuestionRequest(serializers.Serializer):
    text = TextField(
        max_length=services.QUESTION_MAX,
        validators=[RegexValidator(services.VISIBLE_TEXT_PATTERN, _("Write your question."))],
        help_text="Plain text, with something visible in it; never shown as sent.",
    )
    display_name = TextField(
        max_length=services.NAME_MAX, required=False, allow_blank=True, help_text="Shown with the answer."
    )
    website = TextField(
        required=False, allow_blank=True, max_length=200, help_text="Leave empty (a field for bots)."
    )

    class Meta:
        ref_name = "QuestionRequest"


class CountedSchema(serializers.Serializer):
    counted = serializers.BooleanField(help_text="Always true: a vote already counted is a 409.")

    class Meta:
        ref_name = "Counted"


class ReceivedSchema(serializers.Serializer):
    detail = serializers.CharField()

    class Meta:
        ref_name = "QuestionReceived"


class PollTallySchema(serializers.Serializer):
    entry = serializers.IntegerField()
    counts = serializers.ListField(child=serializers.IntegerField(min_value=0), help_text="Votes per option.")
    closed = serializers.BooleanField()

    class Meta:
        ref_name = "PollTally"


class ReactionTallySchema(serializers.Serializer):
    entry = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField(min_value=0), help_text="By reaction name.")

    class Meta:
        ref_name = "ReactionTally"


class ReactionKindSchema(serializers.Serializer):
    name = serializers.ChoiceField(choices=list(REACTIONS))
    symbol = serializers.CharField()

    class Meta:
        ref_name = "ReactionKind"


class ParticipationSchema(serializers.Serializer):
    reactions_enabled = serializers.BooleanField()
    questions_enabled = serializers.BooleanField()
    reactions = ReactionKindSchema(many=True)
    polls = PollTallySchema(many=True, help_text="The feed's newest polls and their counts now.")
    reaction_counts = ReactionTallySchema(many=True)

    class Meta:
        ref_name = "Participation"


def _reader_write_responses(ok: dict[int, Any], *, forbidden: str, conflict: str | None) -> dict[int, Any]:
    responses: dict[int, Any] = {
        **ok,
        400: schema.INVALID,
        403: OpenApiResponse(schema.ErrorSchema, description=forbidden),
        404: OpenApiResponse(schema.ErrorSchema, description="No such feed or entry (a draft is the same)."),
        413: OpenApiResponse(
            schema.ErrorSchema, description="The request body is larger than the server accepts."
        ),
        429: OpenApiResponse(schema.ErrorSchema, description="Too many from this address; wait Retry-After."),
    }
    if conflict:
        responses[409] = OpenApiResponse(schema.ErrorSchema, description=conflict)
    return responses


# --- Views ---------------------------------------------------------------------------------------


class ReaderEndpoint(APIView):
    """Anonymous, per-address limited, same-site only."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []
    rate_setting = ""
    scope = ""

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """Answer in the feed's language, the one its page is in (English for no such feed)."""
        language = Feed.objects.filter(slug=kwargs.get("slug")).values_list("language", flat=True).first()
        with translation.override(language or settings.LANGUAGE_CODE):
            return super().dispatch(request, *args, **kwargs)

    def refusal(self, request: Request) -> Response | None:
        origin = request.headers.get("Origin")
        if origin and urlsplit(origin).netloc != request.get_host():
            return Response(
                {"detail": gettext("Send this from the feed's own page.")}, status=status.HTTP_403_FORBIDDEN
            )
        wait = limits.retry_after(request._request, scope=self.scope, limit=limits.rate(self.rate_setting))
        if wait is not None:
            logger.info(
                "Refusing a %s from %s: over its limit", self.scope, limits.client_address(request._request)
            )
            return Response(
                {
                    "detail": gettext("Too many from your address; try again in %(seconds)s s.")
                    % {"seconds": wait}
                },
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(wait)},
            )
        return None


def _answer_refusal(refusal: services.Refused) -> Response:
    return Response({"detail": str(refusal)}, status=refusal.status)


class VoteView(ReaderEndpoint):
    rate_setting = "PARTICIPATION_VOTE_RATE"
    scope = "vote"

    @extend_schema(
        request=VoteRequest,
        responses=_reader_write_responses(
            {200: CountedSchema},
            forbidden="Sent from another site's page.",
            conflict="This browser already voted, or the poll is closed.",
        ),
        auth=[],
        tags=[READER_WRITES_TAG],
        summary="Vote in a poll",
        description="One vote per browser (its reader cookie, set by the first vote).",
    )
    def post(self, request: Request, slug: str, entry_id: int) -> Response:
        refused = self.refusal(request)
        if refused is not None:
            return refused
        body = VoteRequest(data=request.data)
        body.is_valid(raise_exception=True)
        token = readers.reader_token(request._request) or readers.new_reader_token()
        try:
            outcome = services.vote(
                feed_slug=slug,
                entry_id=entry_id,
                voter=readers.voter_id(token),
                option=body.validated_data["option"],
            )
        except services.Refused as refusal:
            return _answer_refusal(refusal)
        if not outcome.counted:
            return Response(
                {"detail": gettext("This browser has already voted in this poll.")},
                status=status.HTTP_409_CONFLICT,
            )
        response = Response({"counted": True})
        readers.remember_reader(request._request, response, token)
        return response


class ReactionView(ReaderEndpoint):
    rate_setting = "PARTICIPATION_VOTE_RATE"
    scope = "reaction"

    @extend_schema(
        request=ReactionRequest,
        responses=_reader_write_responses(
            {200: CountedSchema},
            forbidden="Reactions are off for this feed, or sent from another site's page.",
            conflict="This browser already reacted to this entry.",
        ),
        auth=[],
        tags=[READER_WRITES_TAG],
        summary="React to an entry",
        description="One reaction per browser per entry, where the feed has reactions on.",
    )
    def post(self, request: Request, slug: str, entry_id: int) -> Response:
        refused = self.refusal(request)
        if refused is not None:
            return refused
        body = ReactionRequest(data=request.data)
        body.is_valid(raise_exception=True)
        token = readers.reader_token(request._request) or readers.new_reader_token()
        try:
            outcome = services.react(
                feed_slug=slug,
                entry_id=entry_id,
                voter=readers.voter_id(token),
                reaction=body.validated_data["reaction"],
            )
        except services.Refused as refusal:
            return _answer_refusal(refusal)
        if not outcome.counted:
            return Response(
                {"detail": gettext("This browser has already reacted to this entry.")},
                status=status.HTTP_409_CONFLICT,
            )
        response = Response({"counted": True})
        readers.remember_reader(request._request, response, token)
        return response


QUESTION_RECEIVED = gettext_noop(
    "Thank you: your question went to the editors. It is shown only if they answer it."
)


class QuestionView(ReaderEndpoint):
    rate_setting = "PARTICIPATION_QUESTION_RATE"
    scope = "question"

    @extend_schema(
        request=QuestionRequest,
        responses=_reader_write_responses(
            {202: ReceivedSchema},
            forbidden="This feed takes no questions, or sent from another site's page.",
            conflict="The feed is not live.",
        ),
        auth=[],
        tags=[READER_WRITES_TAG],
        summary="Send the editors a question",
        description="Queued for the editors; readers see it only in an answer an editor publishes.",
    )
    def post(self, request: Request, slug: str) -> Response:
        refused = self.refusal(request)
        if refused is not None:
            return refused
        body = QuestionRequest(data=request.data)
        body.is_valid(raise_exception=True)
        feed = get_object_or_404(Feed.objects.visible_to_readers(), slug=slug)
        if body.validated_data.get("website"):
            logger.info("Dropping a question with the bots' field filled in, for %s", slug)
            return Response({"detail": gettext(QUESTION_RECEIVED)}, status=status.HTTP_202_ACCEPTED)
        try:
            services.ask(
                feed=feed,
                text=body.validated_data["text"],
                display_name=body.validated_data.get("display_name", ""),
                address=limits.client_address(request._request),
            )
        except services.Refused as refusal:
            return _answer_refusal(refusal)
        return Response({"detail": gettext(QUESTION_RECEIVED)}, status=status.HTTP_202_ACCEPTED)


class ParticipationView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses=schema.read_responses(ParticipationSchema),
        summary="Polls, reactions and questions of a feed",
        description="What readers may do on the feed, and the counts now (live ones follow on the WebSocket).",
    )
    def get(self, request: Request, slug: str) -> Response:
        feed = get_object_or_404(Feed.objects.visible_to_readers(), slug=slug)
        return Response(selectors.participation_state(feed=feed))
