"""The JSON API: reads that anyone may make, writes for token holders allowed to publish."""

from __future__ import annotations

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import events, selectors, services
from ..idempotency import idempotent_api
from ..models import Entry, Feed
from .permissions import ReadOrPublish
from .serializers import EntryWriteSerializer, FeedCreateSerializer, FeedUpdateSerializer


def _readable_feed(slug: str) -> Feed:
    try:
        return selectors.feed_for_readers(slug=slug)
    except Feed.DoesNotExist:
        raise NotFound("No such feed.")


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: "Must be a whole number."})
    if value < 0:
        raise ValidationError({name: "Must not be negative."})
    return value


class FeedListView(APIView):
    permission_classes = [ReadOrPublish]

    @extend_schema(operation_id="feeds_list", responses=OpenApiTypes.OBJECT, summary="Published feeds, live ones first")
    def get(self, request: Request) -> Response:
        return Response({"feeds": [events.feed_payload(feed) for feed in selectors.feeds_for_readers()]})

    @extend_schema(request=FeedCreateSerializer, responses={201: OpenApiTypes.OBJECT}, summary="Create a feed")
    @idempotent_api
    def post(self, request: Request) -> Response:
        serializer = FeedCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        feed = services.create_feed(by=request.user, **serializer.validated_data)
        return Response(events.feed_payload(feed), status=status.HTTP_201_CREATED)


class FeedDetailView(APIView):
    permission_classes = [ReadOrPublish]

    @extend_schema(
        parameters=[
            OpenApiParameter("before", str, description="Cursor for older entries (newest first)"),
            OpenApiParameter("after", str, description="Cursor for newer entries (oldest first)"),
            OpenApiParameter("order", str, enum=list(selectors.ORDERS), description="newest (default) or oldest first"),
        ],
        responses=OpenApiTypes.OBJECT,
        summary="A feed and a page of its entries: the newest, or from the first one on",
    )
    def get(self, request: Request, slug: str) -> Response:
        feed = _readable_feed(slug)
        before = request.query_params.get("before") or None
        after = request.query_params.get("after") or None
        order = request.query_params.get("order") or ("oldest" if after else "newest")
        if order not in selectors.ORDERS:
            raise ValidationError({"order": "Use newest or oldest."})
        if (order == "oldest" and before) or (order == "newest" and after):
            raise ValidationError({"order": "Page newest first with before, oldest first with after."})
        try:
            page = selectors.entries_page(feed=feed, before=before, after=after, order=order)
        except selectors.InvalidCursor as exc:
            raise ValidationError({"after" if after else "before": str(exc)})
        pinned = selectors.pinned_entry(feed=feed) if before is None and after is None else None
        here = reverse("api:feed-detail", kwargs={"slug": slug})
        return Response(
            {
                "feed": events.feed_payload(feed),
                "pinned": events.entry_payload(pinned) if pinned else None,
                "entries": [events.entry_payload(entry) for entry in page.entries],
                "older_cursor": page.older_cursor,
                "older": request.build_absolute_uri(f"{here}?before={page.older_cursor}") if page.older_cursor else None,
                "newer_cursor": page.newer_cursor,
                "newer": request.build_absolute_uri(f"{here}?order=oldest&after={page.newer_cursor}")
                if page.newer_cursor
                else None,
            }
        )

    @extend_schema(request=FeedUpdateSerializer, responses=OpenApiTypes.OBJECT, summary="Change a feed")
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
                feed = services.update_race_status(feed=feed, by=request.user, changes=race, announce=announce)
        return Response(events.feed_payload(feed))


class FeedEventsView(APIView):
    permission_classes = [ReadOrPublish]

    @extend_schema(
        parameters=[OpenApiParameter("after", int, description="Last seq the client applied")],
        responses=OpenApiTypes.OBJECT,
        summary="The changes after a seq, as the WebSocket sends them",
    )
    def get(self, request: Request, slug: str) -> Response:
        feed = _readable_feed(slug)
        after = _int_param(request, "after", 0)
        return Response({"seq": feed.seq, "events": selectors.changes_after(feed=feed, after=after)})


class EntryListView(APIView):
    permission_classes = [ReadOrPublish]

    @extend_schema(request=EntryWriteSerializer, responses={201: OpenApiTypes.OBJECT}, summary="Post an entry")
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

    def _writable_entry(self, slug: str, entry_id: int) -> Entry:
        return get_object_or_404(
            Entry.objects.select_related("feed", "author"), feed__slug=slug, pk=entry_id, deleted_at__isnull=True
        )

    @extend_schema(responses=OpenApiTypes.OBJECT, summary="One published entry")
    def get(self, request: Request, slug: str, entry_id: int) -> Response:
        entry = get_object_or_404(
            Entry.objects.visible_to_readers().select_related("author"), feed__slug=slug, pk=entry_id
        )
        return Response(events.entry_payload(entry))

    @extend_schema(request=EntryWriteSerializer, responses=OpenApiTypes.OBJECT, summary="Edit an entry")
    @idempotent_api
    def patch(self, request: Request, slug: str, entry_id: int) -> Response:
        entry = self._writable_entry(slug, entry_id)
        serializer = EntryWriteSerializer(entry, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        entry = services.update_entry(
            entry=entry, by=request.user, expected_version=changes.pop("version", None), **changes
        )
        return Response(events.desk_entry_payload(entry))

    @extend_schema(responses={204: None}, summary="Delete an entry")
    @idempotent_api
    def delete(self, request: Request, slug: str, entry_id: int) -> Response:
        entry = self._writable_entry(slug, entry_id)
        services.delete_entry(entry=entry, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
