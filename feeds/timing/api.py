"""`POST /api/feeds/<slug>/timing/`: a timing system pushes a payload in the source's format."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import BaseParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import roles
from ..api import schema
from ..api.serializers import LIVEFEED_TIMING_SCHEMA
from ..idempotency import idempotent_api
from ..models import Feed
from . import ingest, registry
from .models import TimingSource
from .snapshot import BadTimingData


class RawBody(BaseParser):
    """Keep the body as bytes: the source's adapter reads it, not DRF."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:  # type: ignore[no-untyped-def]
        return stream.read() if stream is not None else b""


class TimingPushView(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [RawBody]

    @extend_schema(
        request={"application/json": LIVEFEED_TIMING_SCHEMA},
        responses=schema.write_responses(
            {200: schema.TimingResultSchema},
            conflict=OpenApiResponse(
                schema.TimingResultSchema, description="Older than the data already applied."
            ),
        ),
        summary="Push timing data",
        description="The body is in the format of the feed's timing source (docs/timing.md); Editors only.",
    )
    @idempotent_api
    def post(self, request: Request, slug: str) -> Response:
        feed = get_object_or_404(Feed, slug=slug)
        if not roles.can_run_feed(request.user):
            raise PermissionDenied(_("Only Editors may push timing data."))
        try:
            source = TimingSource.objects.select_related("author", "feed").get(feed=feed)
        except TimingSource.DoesNotExist:
            raise NotFound(_("This feed has no timing source; link one in the admin."))
        if not source.enabled:
            raise ValidationError({"detail": _("This feed's timing source is switched off.")})
        try:
            snapshot = registry.adapter_for(source.format).parse(request.data or b"")
        except BadTimingData as error:
            # Answered, not raised: the source's health must keep this failure, even when the
            # request runs in a transaction (an Idempotency-Key) that a raised error rolls back.
            ingest.record_failure(source=source, kind="bad", reason=f"malformed push: {error}")
            return Response({error.field: [error.message]}, status=status.HTTP_400_BAD_REQUEST)
        outcome = ingest.apply_snapshot(source=source, snapshot=snapshot)
        if outcome.kind in ("bad", "refused"):
            return Response({"detail": outcome.reason}, status=status.HTTP_400_BAD_REQUEST)
        body = {
            "result": outcome.kind,
            "reason": outcome.reason,
            "posted": [entry.pk for entry in outcome.posts],
        }
        if outcome.kind == "stale":
            return Response(body, status=status.HTTP_409_CONFLICT)
        feed.refresh_from_db(fields=["race"])
        body["race"] = feed.race
        return Response(body)
