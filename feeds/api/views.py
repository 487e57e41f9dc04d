"""The JSON API: reads that anyone may make, writes for token holders allowed to publish."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import events, selectors, services
from ..audience import stats
from ..idempotency import idempotent_api
from ..models import Entry, Feed
from . import schema
from .errors import Conflict
from .permissions import ReadOrPublish, WatchesDesks
from .serializers import (
    ENTRY_EDIT_FORM_SCHEMA,
    ENTRY_EDIT_JSON_SCHEMA,
    NEW_ENTRY_FORM_SCHEMA,
    NEW_ENTRY_JSON_SCHEMA,
    EntryWriteSerializer,
    FeedCreateSerializer,
    FeedUpdateSerializer,
)

SLUG = OpenApiParameter(
    "slug", str, OpenApiParameter.PATH, pattern=schema.SLUG_PATTERN, description="The feed's slug."
)
ENTRY_ID = OpenApiParameter(
    "entry_id",
    {"type": "integer", "format": "int64", "minimum": 0, "maximum": schema.MAX_INT64},
    OpenApiParameter.PATH,
    description="The entry's id.",
)
REMOVAL_NOTICE = OpenApiParameter(
    "removal_notice",
    bool,
    description='`true` leaves "This update was removed" where a published entry was; '
    "by default it simply disappears.",
)
ENTRY_CONFLICT = OpenApiResponse(
    response=schema.ConflictSchema,
    description="The entry was saved by someone else since `version`; `current` is the saved entry.",
)


@csrf_exempt  # nothing is written; a write to a wrong address gets this 404, not a CSRF page
def no_such_endpoint(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """The JSON 404 for an address under /api/ that names no feed, entry or endpoint."""
    return JsonResponse({"detail": _("No such feed, entry or endpoint.")}, status=404)


def _readable_feed(slug: str) -> Feed:
    try:
        return selectors.feed_for_readers(slug=slug)
    except Feed.DoesNotExist:
        raise NotFound(_("No such feed."))


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: _("Must be a whole number.")})
    if value < 0:
        raise ValidationError({name: _("Must not be negative.")})
    if value > schema.MAX_INT64:
        raise ValidationError({name: _("Must be at most %(limit)s.") % {"limit": schema.MAX_INT64}})
    return value


def _bool_param(request: Request, name: str) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return False
    if raw not in ("true", "false"):
        raise ValidationError({name: _("Use true or false.")})
    return raw == "true"


class PublicReadView(APIView):
    """An endpoint whose reads are the same for everyone: a read without credentials is not
    authenticated at all, so it never touches the session and its answer does not vary on Cookie
    (a CDN keeps one copy). Reads with a token or a session, and every write, authenticate as usual."""

    def perform_authentication(self, request: Request) -> None:
        carries_credentials = "HTTP_AUTHORIZATION" in request.META or (
            settings.SESSION_COOKIE_NAME in request.COOKIES
        )
        if request.method in SAFE_METHODS and not carries_credentials:
            return
        super().perform_authentication(request)


class FeedListView(PublicReadView):
    permission_classes = [ReadOrPublish]
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="feeds_list",
        responses=schema.read_responses(schema.FeedListSchema, not_found=False),
        summary="Published feeds, live ones first",
    )
    def get(self, request: Request) -> Response:
        return Response({"feeds": [events.feed_payload(feed) for feed in selectors.feeds_for_readers()]})

    @extend_schema(
        request=FeedCreateSerializer,
        responses=schema.write_responses(
            {201: schema.FeedSchema},
            not_found=False,
            conflict=OpenApiResponse(schema.ErrorSchema, description="Another feed has this slug."),
        ),
        summary="Create a feed",
    )
    @idempotent_api
    def post(self, request: Request) -> Response:
        serializer = FeedCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        slug = serializer.validated_data.get("slug")
        if slug and Feed.objects.filter(slug=slug).exists():
            raise Conflict(
                _("A feed with the slug %(slug)r already exists; choose another or leave it out.")
                % {"slug": slug}
            )
        feed = services.create_feed(by=request.user, **serializer.validated_data)
        return Response(events.feed_payload(feed), status=status.HTTP_201_CREATED)


class FeedDetailView(PublicReadView):
    permission_classes = [ReadOrPublish]
    parser_classes = [JSONParser]

    @extend_schema(
        parameters=[
            SLUG,
            OpenApiParameter(
                "before", str, description="Cursor for older entries (newest first), from `older_cursor`."
            ),
            OpenApiParameter(
                "after", str, description="Cursor for newer entries (oldest first), from `newer_cursor`."
            ),
            OpenApiParameter(
                "order",
                str,
                enum=list(selectors.ORDERS),
                description="`newest` (the default) or `oldest` first; `before` goes with newest, `after` with oldest.",
            ),
        ],
        responses=schema.read_responses(schema.FeedPageSchema, invalid=True),
        summary="A feed and a page of its entries: the newest, or from the first one on",
    )
    def get(self, request: Request, slug: str) -> Response:
        feed = _readable_feed(slug)
        before = request.query_params.get("before") or None
        after = request.query_params.get("after") or None
        order = request.query_params.get("order", "oldest" if after else "newest")
        if order not in selectors.ORDERS:
            raise ValidationError({"order": _("Use newest or oldest.")})
        if (order == "oldest" and before) or (order == "newest" and after):
            # The schema cannot tie a cursor to its order; like an unreadable cursor, no such page.
            raise NotFound(_("No such page: page newest first with `before`, oldest first with `after`."))
        try:
            page = selectors.entries_page(
                feed=feed, before=before, after=after, order=order, with_removals=True
            )
        except selectors.InvalidCursor as exc:
            # Like Django's paginator with a page number it cannot read: no such page.
            raise NotFound(
                _("No such page: %(reason)s Follow `older` or `newer` from the feed's first page.")
                % {"reason": exc}
            )
        pinned = selectors.pinned_entry(feed=feed) if before is None and after is None else None
        here = reverse("api:feed-detail", kwargs={"slug": slug})
        return Response(
            {
                "feed": events.feed_payload(feed),
                "pinned": events.entry_payload(pinned) if pinned else None,
                "entries": [events.entry_payload(entry) for entry in page.entries],
                "older_cursor": page.older_cursor,
                "older": request.build_absolute_uri(f"{here}?before={page.older_cursor}")
                if page.older_cursor
                else None,
                "newer_cursor": page.newer_cursor,
                "newer": request.build_absolute_uri(f"{here}?order=oldest&after={page.newer_cursor}")
                if page.newer_cursor
                else None,
            }
        )

    @extend_schema(
        parameters=[SLUG],
        request=FeedUpdateSerializer,
        responses=schema.write_responses({200: schema.FeedSchema}),
        summary="Change a feed",
    )
    @idempotent_api
    def patch(self, request: Request, slug: str) -> Response:
        feed = get_object_or_404(Feed, slug=slug)
        serializer = FeedUpdateSerializer(feed, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        race, announce = changes.pop("race", None), changes.pop("announce", False)
        with transaction.atomic():
            if changes:
                feed = services.update_feed(feed=feed, by=request.user, **changes)
            if race is not None:
                feed = services.update_race_status(
                    feed=feed, by=request.user, changes=race, announce=announce
                )
        return Response(events.feed_payload(feed))


class FeedEventsView(PublicReadView):
    permission_classes = [ReadOrPublish]

    @extend_schema(
        parameters=[
            SLUG,
            OpenApiParameter(
                "after",
                {"type": "integer", "format": "int64", "minimum": 0, "maximum": schema.MAX_INT64},
                description="Last seq the client applied (0, the default, for all).",
            ),
        ],
        responses=schema.read_responses(schema.EventsPageSchema, invalid=True),
        summary="The changes after a seq, as the WebSocket sends them",
    )
    def get(self, request: Request, slug: str) -> Response:
        feed = _readable_feed(slug)
        after = _int_param(request, "after", 0)
        return Response({"seq": feed.seq, "events": selectors.changes_after(feed=feed, after=after)})


class EntryListView(APIView):
    permission_classes = [ReadOrPublish]
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        parameters=[SLUG],
        request={"application/json": NEW_ENTRY_JSON_SCHEMA, "multipart/form-data": NEW_ENTRY_FORM_SCHEMA},
        responses=schema.write_responses({201: schema.DeskEntrySchema}),
        summary="Post an entry",
    )
    @idempotent_api
    def post(self, request: Request, slug: str) -> Response:
        feed = get_object_or_404(Feed, slug=slug)
        serializer = EntryWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        changes.pop("version", None)
        entry = services.create_entry(feed=feed, by=request.user, **changes)
        return Response(events.desk_entry_payload(entry), status=status.HTTP_201_CREATED)


class EntryDetailView(APIView):
    permission_classes = [ReadOrPublish]
    parser_classes = [JSONParser, MultiPartParser]

    def _writable_entry(self, slug: str, entry_id: int) -> Entry:
        return get_object_or_404(
            Entry.objects.select_related("feed", "author"),
            feed__slug=slug,
            pk=entry_id,
            deleted_at__isnull=True,
        )

    @extend_schema(
        parameters=[SLUG, ENTRY_ID],
        responses=schema.read_responses(schema.EntrySchema),
        summary="One published entry",
    )
    def get(self, request: Request, slug: str, entry_id: int) -> Response:
        entry = get_object_or_404(
            Entry.objects.visible_to_readers().select_related("author"), feed__slug=slug, pk=entry_id
        )
        return Response(events.entry_payload(entry))

    @extend_schema(
        parameters=[SLUG, ENTRY_ID],
        request={"application/json": ENTRY_EDIT_JSON_SCHEMA, "multipart/form-data": ENTRY_EDIT_FORM_SCHEMA},
        responses=schema.write_responses({200: schema.DeskEntrySchema}, conflict=ENTRY_CONFLICT),
        summary="Edit an entry",
    )
    @idempotent_api
    def patch(self, request: Request, slug: str, entry_id: int) -> Response:
        entry = self._writable_entry(slug, entry_id)
        if request.content_type.startswith("multipart/") and not request.data:
            # JSON's {} is "change nothing"; a form with no part at all is a broken upload.
            raise ValidationError({"detail": _("The form has no fields: send the fields to change.")})
        serializer = EntryWriteSerializer(entry, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        expected_version = changes.pop("version", None)
        note = changes.pop("correction_note", None)
        if note is not None:
            entry = services.correct_entry(
                entry=entry, by=request.user, note=note, expected_version=expected_version, **changes
            )
        else:
            entry = services.update_entry(
                entry=entry, by=request.user, expected_version=expected_version, **changes
            )
        return Response(events.desk_entry_payload(entry))

    @extend_schema(
        parameters=[SLUG, ENTRY_ID, REMOVAL_NOTICE],
        responses=schema.write_responses({204: OpenApiResponse(description="Deleted.")}),
        summary="Delete an entry",
    )
    @idempotent_api
    def delete(self, request: Request, slug: str, entry_id: int) -> Response:
        entry = self._writable_entry(slug, entry_id)
        notice = _bool_param(request, "removal_notice")
        services.delete_entry(entry=entry, by=request.user, removal_notice=notice)
        return Response(status=status.HTTP_204_NO_CONTENT)


STAFF_ONLY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


class FeedAudienceView(APIView):
    permission_classes = [WatchesDesks]

    @extend_schema(
        parameters=[SLUG],
        responses=schema.staff_read_responses(schema.AudienceSchema),
        auth=STAFF_ONLY,
        summary="Readers over time, peak and each entry's reach",
        description="Sampled every few seconds across every server and kept for the feed's life; staff only.",
    )
    def get(self, request: Request, slug: str) -> Response:
        feed = get_object_or_404(Feed, slug=slug)
        return Response(stats.audience_payload(stats.audience_of(feed=feed)))


class FeedAudienceCsvView(APIView):
    """The same figures as CSV files, for spreadsheets: `readers.csv` (each sample) and
    `entries.csv` (each published entry's reach)."""

    permission_classes = [WatchesDesks]
    table = "readers"

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[Any, str]:
        # The file is written as CSV whatever the client accepts, and a refusal is the API's JSON.
        return super().perform_content_negotiation(request, force=True)

    def get(self, request: Request, slug: str) -> HttpResponse:
        feed = get_object_or_404(Feed, slug=slug)
        audience = stats.audience_of(feed=feed)
        text = stats.readers_csv(audience) if self.table == "readers" else stats.entries_csv(audience)
        response = HttpResponse(text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{feed.slug}-{self.table}.csv"'
        return response


def _csv_schema(table: str, description: str) -> Any:
    return extend_schema(
        parameters=[SLUG],
        responses=schema.staff_read_responses(
            {(200, "text/csv"): OpenApiResponse(response=OpenApiTypes.STR, description=description)}
        ),
        auth=STAFF_ONLY,
        summary=f"The audience as CSV: {table}",
        operation_id=f"feeds_audience_{table}_csv",
    )


class FeedAudienceReadersCsvView(FeedAudienceCsvView):
    table = "readers"

    @_csv_schema("readers", "`time,readers`: one row per sample, oldest first.")
    def get(self, request: Request, slug: str) -> HttpResponse:
        return super().get(request, slug)


class FeedAudienceEntriesCsvView(FeedAudienceCsvView):
    table = "entries"

    @_csv_schema(
        "entries", "`entry_id,published_at,headline,reach`: one row per published entry, oldest first."
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        return super().get(request, slug)
