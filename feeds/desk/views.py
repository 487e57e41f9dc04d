"""The live desk: one page per feed where editors post, publish, pin and run the race status.

The page is served by the admin (same login); its actions are small JSON endpoints that call the
services, so every rule and every broadcast is the same as in the admin and the API.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from .. import events, kinds, race, roles, services
from ..idempotency import idempotent
from ..models import Entry, Feed
from . import panels as desk_panels
from .forms import DeskEntryForm

logger = logging.getLogger(__name__)

DESK_LIST_LIMIT = 100


def _in_users_language(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer in the desk's user's language, Idempotency-Key refusals included."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with translation.override(translation.get_language_from_request(request)):
            return view(request, *args, **kwargs)

    return wrapper


def _answers_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn the services' refusals into JSON the desk can show next to the composer, in the
    language of the desk's user."""

    @wraps(view)
    @_in_users_language
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return _answered(view, request, *args, **kwargs)

    return wrapper


def _answered(
    view: Callable[..., HttpResponse], request: HttpRequest, *args: Any, **kwargs: Any
) -> HttpResponse:
    try:
        return view(request, *args, **kwargs)
    except services.StaleEdit as exc:
        return JsonResponse(
            {"detail": str(exc), "current": events.desk_entry_payload(exc.current)}, status=409
        )
    except PermissionDenied as exc:
        return JsonResponse({"detail": str(exc) or _("You may not do that.")}, status=403)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        logger.info("Desk refused bad input on %s: %s", request.path, errors)
        return JsonResponse({"detail": _summary(errors), "errors": errors}, status=400)


# The names the services' refusals use, as the desk's user reads them (kinds add their own fields).
FIELD_LABELS = {
    "kind": gettext_lazy("Kind"),
    "headline": gettext_lazy("Headline"),
    "body": gettext_lazy("Body"),
    "image": gettext_lazy("Image"),
    "publish_at": gettext_lazy("Publish at"),
    "correction_note": gettext_lazy("Correction note"),
    "lap": gettext_lazy("Lap"),
    "flag": gettext_lazy("Flag"),
    "leader": gettext_lazy("Leader"),
    "cautions": gettext_lazy("Cautions"),
    "series": gettext_lazy("Series"),
    "track": gettext_lazy("Track"),
    "session": gettext_lazy("Session"),
}


def _field_label(name: str) -> str:
    """A refused field's name in the user's language; a field no label names reads as its key."""
    labels = {field.key: field.label for kind in kinds.all() for field in kind.fields}
    label = FIELD_LABELS.get(name) or labels.get(name)
    return str(label) if label else name.replace("_", " ").capitalize()


def _summary(errors: dict[str, list[str]]) -> str:
    return " ".join(
        message
        if name in ("detail", "__all__")
        else _("%(field)s: %(message)s") % {"field": _field_label(name), "message": message}
        for name, messages in errors.items()
        for message in messages
    )


def _form_errors(form: DeskEntryForm) -> JsonResponse:
    errors = {name: [str(e) for e in messages] for name, messages in form.errors.items()}
    logger.info("Desk refused bad input: %s", errors)
    return JsonResponse({"detail": _summary(errors), "errors": errors}, status=400)


def _desk_entries(feed: Feed) -> list[Entry]:
    return list(
        Entry.objects.filter(feed=feed, deleted_at__isnull=True)
        .select_related("author", "feed")
        .order_by(Coalesce("published_at", "publish_at", "created_at").desc(), "-id")[:DESK_LIST_LIMIT]
    )


def _expected_version(request: HttpRequest) -> int | None:
    """The version the desk loaded the entry at, so a save based on an older one is refused."""
    version = request.POST.get("version")
    return int(version) if version and version.isdigit() else None


def _entry_for_desk(feed_id: int, entry_id: int) -> Entry:
    return get_object_or_404(
        Entry.objects.select_related("feed", "author"), feed_id=feed_id, pk=entry_id, deleted_at__isnull=True
    )


@require_GET
def desk(request: HttpRequest, feed_id: int) -> HttpResponse:
    """The desk page: composer, feed controls, race status and the feed's entries, drafts included."""
    if not roles.can_watch_desk(request.user):
        raise PermissionDenied
    feed = get_object_or_404(Feed, pk=feed_id)
    user = request.user
    can_publish, can_run_feed = roles.can_publish(user), roles.can_run_feed(user)
    state = {
        "feed": events.feed_payload(feed),
        "feed_id": feed.pk,
        "entries": [events.desk_entry_payload(entry) for entry in _desk_entries(feed)],
        "user": {"id": user.pk, "can_publish": can_publish, "can_run_feed": can_run_feed},
        # Each kind's detail inputs, for the inline editor: [input name, label, key in details].
        "kind_fields": {
            kind.name: [[field.input_name, field.label, field.key] for field in kind.fields]
            for kind in kinds.all()
        },
    }
    context = {
        **admin.site.each_context(request),
        "feed": feed,
        "state": state,
        "can_publish": can_publish,
        "can_run_feed": can_run_feed,
        "kinds": [kind for kind in kinds.all() if kind.composed_at_desk],
        "flags": race.FLAGS,
        "sessions": race.SESSIONS,
        "panels": desk_panels.templates(),
    }
    # The desk speaks its user's language (the browser's); the reader page speaks its feed's.
    with translation.override(translation.get_language_from_request(request)):
        context["title"] = _("Live desk · %(feed)s") % {"feed": feed.title}
        return render(request, "desk/desk.html", context)


@_in_users_language
@idempotent
@_answers_errors
def entries(request: HttpRequest, feed_id: int) -> HttpResponse:
    """GET: the desk's list (for a reconnecting desk). POST: the composer."""
    feed = get_object_or_404(Feed, pk=feed_id)
    if request.method == "GET":
        if not roles.can_watch_desk(request.user):
            raise PermissionDenied
        return JsonResponse({"entries": [events.desk_entry_payload(e) for e in _desk_entries(feed)]})
    if request.method != "POST":
        return JsonResponse({"detail": _("Use GET or POST.")}, status=405)
    form = DeskEntryForm(request.POST, request.FILES)
    if not form.is_valid():
        return _form_errors(form)
    entry = services.create_entry(feed=feed, by=request.user, **form.service_arguments())
    return JsonResponse({"entry": events.desk_entry_payload(entry)}, status=201)


@require_POST
@_in_users_language
@idempotent
@_answers_errors
def entry(request: HttpRequest, feed_id: int, entry_id: int) -> HttpResponse:
    """Edit an entry, or apply one inline action (publish, pin, key event) with `action`."""
    current = _entry_for_desk(feed_id, entry_id)
    expected = _expected_version(request)
    action = request.POST.get("action", "")
    toggles = {
        "publish": {"status": Entry.Status.PUBLISHED},
        "unpublish": {"status": Entry.Status.DRAFT},
        "pin": {"pinned": True},
        "unpin": {"pinned": False},
        "key": {"key_event": True},
        "unkey": {"key_event": False},
    }
    if action:
        if action not in toggles:
            return JsonResponse({"detail": _("Unknown action %(action)r.") % {"action": action}}, status=400)
        changed = services.update_entry(
            entry=current, by=request.user, expected_version=expected, **toggles[action]
        )
        return JsonResponse({"entry": events.desk_entry_payload(changed)})
    form = DeskEntryForm(request.POST, request.FILES)
    if not form.is_valid():
        return _form_errors(form)
    note = form.cleaned_data["correction_note"]
    save = functools.partial(services.correct_entry, note=note) if note else services.update_entry
    changed = save(
        entry=current,
        by=request.user,
        expected_version=form.cleaned_data["version"],
        **form.service_arguments(editing=current),
    )
    return JsonResponse({"entry": events.desk_entry_payload(changed)})


@require_POST
@_in_users_language
@idempotent
@_answers_errors
def delete(request: HttpRequest, feed_id: int, entry_id: int) -> HttpResponse:
    """Delete an entry; with `removal_notice`, readers see "This update was removed" in its place."""
    notice = request.POST.get("removal_notice") in ("1", "on", "true")
    services.delete_entry(entry=_entry_for_desk(feed_id, entry_id), by=request.user, removal_notice=notice)
    return JsonResponse({"deleted": entry_id})


@require_GET
@_answers_errors
def history(request: HttpRequest, feed_id: int, entry_id: int) -> HttpResponse:
    """Every saved version of an entry, newest first: who, when, and which fields changed."""
    if not roles.can_watch_desk(request.user):
        raise PermissionDenied
    current = _entry_for_desk(feed_id, entry_id)
    records = list(current.history.select_related("history_user").order_by("-history_date", "-history_id"))
    versions = []
    for index, record in enumerate(records):
        older = records[index + 1] if index + 1 < len(records) else None
        changes = []
        if older is not None:
            delta = record.diff_against(
                older, excluded_fields=["version", "publish_at", "scheduled_by", "corrections"]
            )
            changes = [
                {"field": change.field, "old": _shown(change.old), "new": _shown(change.new)}
                for change in delta.changes
            ]
        user = record.history_user
        versions.append(
            {
                "history_id": record.history_id,
                "version": record.version,
                "when": events.timestamp(record.history_date),
                "who": (user.get_full_name() or user.get_username()) if user else "system",
                "type": {"+": "created", "~": "changed", "-": "deleted"}[record.history_type],
                "reason": record.history_change_reason or "",
                "headline": record.headline,
                "body": record.body,
                "status": record.status,
                "changes": changes,
                "is_current": index == 0,
            }
        )
    return JsonResponse({"entry_id": entry_id, "versions": versions})


def _shown(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None), dict, list)) else str(value)


@require_POST
@_in_users_language
@idempotent
@_answers_errors
def restore(request: HttpRequest, feed_id: int, entry_id: int) -> HttpResponse:
    """Bring back an earlier version as a new save (itself kept in the history)."""
    current = _entry_for_desk(feed_id, entry_id)
    try:
        history_id = int(request.POST.get("history_id", ""))
    except ValueError:
        return JsonResponse(
            {"detail": _("Choose a version to restore."), "errors": {"history_id": [_("Required.")]}},
            status=400,
        )
    restored = services.restore_entry_version(
        entry=current, by=request.user, history_id=history_id, expected_version=_expected_version(request)
    )
    return JsonResponse({"entry": events.desk_entry_payload(restored)})


@require_POST
@_in_users_language
@idempotent
@_answers_errors
def feed_status(request: HttpRequest, feed_id: int) -> HttpResponse:
    """Go live or end coverage."""
    feed = get_object_or_404(Feed, pk=feed_id)
    status = request.POST.get("status", "")
    if status not in (Feed.Status.LIVE, Feed.Status.ENDED, Feed.Status.DRAFT):
        return JsonResponse(
            {"detail": _("Choose live, ended or draft."), "errors": {"status": [_("Invalid.")]}}, status=400
        )
    if not roles.can_run_feed(request.user):
        raise PermissionDenied(_("You may not open or end coverage."))
    feed = services.update_feed(feed=feed, by=request.user, status=status)
    return JsonResponse({"feed": events.feed_payload(feed)})


@require_POST
@_in_users_language
@idempotent
@_answers_errors
def race_status(request: HttpRequest, feed_id: int) -> HttpResponse:
    """Change the race status from a JSON body: `{"changes": {...}, "announce": true}`."""
    feed = get_object_or_404(Feed, pk=feed_id)
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"detail": _("Send JSON.")}, status=400)
    if not isinstance(data, dict) or not isinstance(data.get("changes"), dict):
        return JsonResponse(
            {"detail": _("Send the changes as an object."), "errors": {"changes": [_("Required.")]}},
            status=400,
        )
    feed = services.update_race_status(
        feed=feed, by=request.user, changes=data["changes"], announce=bool(data.get("announce"))
    )
    return JsonResponse({"feed": events.feed_payload(feed)})
