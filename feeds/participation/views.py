"""Pages and desk actions: the no-JavaScript question form, and the editors' queue, polls and switches.

The desk's actions are small JSON endpoints behind the admin's login, like the core desk's; they
call the services, so the rules are the same as everywhere else.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from feeds import roles
from feeds.models import Entry, Feed

from . import limits, selectors, services
from .api import QUESTION_RECEIVED
from .models import FeedParticipation, ReaderQuestion

logger = logging.getLogger(__name__)


@csrf_exempt  # anonymous readers, no session to protect; limited per address, with a honeypot
@require_POST
def ask_question(request: HttpRequest, slug: str) -> HttpResponse:
    """The "Send a question" form posted without JavaScript: answers with a short page."""
    feed = get_object_or_404(Feed.objects.visible_to_readers(), slug=slug)
    with translation.override(feed.language):  # the feed's page speaks its language
        return _ask_question(request, feed)


def _ask_question(request: HttpRequest, feed: Feed) -> HttpResponse:
    slug = feed.slug
    context: dict[str, Any] = {"feed": feed, "form": request.POST}
    wait = limits.retry_after(request, scope="question", limit=limits.rate("PARTICIPATION_QUESTION_RATE"))
    if wait is not None:
        context["error"] = gettext("Too many questions from your address; try again in %(seconds)s s.") % {
            "seconds": wait
        }
        response = render(request, "participation/question_sent.html", context, status=429)
        response["Retry-After"] = str(wait)
        return response
    if request.POST.get("website"):
        logger.info("Dropping a question with the bots' field filled in, for %s", slug)
        return render(
            request,
            "participation/question_sent.html",
            {**context, "sent": gettext(QUESTION_RECEIVED)},
            status=202,
        )
    try:
        services.ask(
            feed=feed,
            text=request.POST.get("text", ""),
            display_name=request.POST.get("display_name", ""),
            address=limits.client_address(request),
        )
    except services.Refused as refusal:
        return render(
            request,
            "participation/question_sent.html",
            {**context, "error": str(refusal)},
            status=refusal.status,
        )
    except ValidationError as error:
        messages = " ".join(message for messages in error.message_dict.values() for message in messages)
        return render(request, "participation/question_sent.html", {**context, "error": messages}, status=400)
    return render(
        request,
        "participation/question_sent.html",
        {**context, "sent": gettext(QUESTION_RECEIVED)},
        status=202,
    )


def _desk_action(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Staff only, and the services' refusals as JSON the desk shows next to the panel."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # The desk speaks its user's language, as the core desk does.
        with translation.override(translation.get_language_from_request(request)):
            return _answer(request, *args, **kwargs)

    def _answer(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as error:
            return JsonResponse({"detail": str(error) or gettext("You may not do that.")}, status=403)
        except ValidationError as error:
            detail = " ".join(error.messages)
            logger.info("Desk refused %s: %s", request.path, detail)
            return JsonResponse({"detail": detail}, status=400)

    return staff_member_required(wrapper)


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise ValidationError(gettext("Send JSON."))
    if not isinstance(data, dict):
        raise ValidationError(gettext("Send a JSON object."))
    return data


def _feed_for_desk(request: HttpRequest, slug: str) -> Feed:
    feed = get_object_or_404(Feed, slug=slug)
    if not roles.can_write(request.user):  # type: ignore[arg-type]
        raise PermissionDenied(gettext("You may not follow this feed's desk."))
    return feed


@_desk_action
@require_GET
def question_queue(request: HttpRequest, slug: str) -> HttpResponse:
    """The questions waiting, as the desk lists them after a reload or a reconnect."""
    feed = _feed_for_desk(request, slug)
    return JsonResponse(
        {"questions": [services.question_payload(q) for q in selectors.question_queue(feed=feed)]}
    )


@_desk_action
@require_POST
def answer_question(request: HttpRequest, question_id: int) -> HttpResponse:
    question = get_object_or_404(ReaderQuestion, pk=question_id)
    answer = str(_body(request).get("answer", ""))
    entry = services.answer_question(question=question, by=request.user, answer=answer)  # type: ignore[arg-type]
    return JsonResponse({"question": services.question_payload(question), "entry_id": entry.pk})


@_desk_action
@require_POST
def dismiss_question(request: HttpRequest, question_id: int) -> HttpResponse:
    question = get_object_or_404(ReaderQuestion, pk=question_id)
    services.dismiss_question(question=question, by=request.user)  # type: ignore[arg-type]
    return JsonResponse({"question": services.question_payload(question)})


@_desk_action
@require_POST
def close_poll(request: HttpRequest, entry_id: int) -> HttpResponse:
    entry = get_object_or_404(Entry.objects.select_related("feed"), pk=entry_id, deleted_at__isnull=True)
    services.close_poll(entry=entry, by=request.user)  # type: ignore[arg-type]
    entry.refresh_from_db()
    return JsonResponse({"entry_id": entry.pk, "result": entry.details.get("result")})


@_desk_action
@require_POST
def feed_switches(request: HttpRequest, slug: str) -> HttpResponse:
    """Turn reactions or questions on or off for the feed (Editors)."""
    feed = _feed_for_desk(request, slug)
    if not roles.can_run_feed(request.user):  # type: ignore[arg-type]
        raise PermissionDenied(gettext("Only Editors may change what readers may do."))
    data = _body(request)
    switches, _ = FeedParticipation.objects.get_or_create(feed=feed)
    for name in ("reactions_enabled", "questions_enabled"):
        if name in data:
            if not isinstance(data[name], bool):
                raise ValidationError(gettext("%(name)s must be true or false.") % {"name": name})
            setattr(switches, name, data[name])
    switches.save()  # votes and reactions hear of it (`services.on_switches_saved`)
    return JsonResponse(
        {"reactions_enabled": switches.reactions_enabled, "questions_enabled": switches.questions_enabled}
    )
