"""The webhook endpoints Telegram and Slack call, and the desk's "get a linking code" action.

Each webhook is off (404, nothing written) until its secrets are set; an unsigned call gets 403;
a malformed body 400 naming the problem; anything deliberately ignored 200, so the platform does
not redeliver it forever. A failed call back to the platform answers 503, so it retries later.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .. import roles
from . import config, linking, slack, telegram
from .outcomes import BadDelivery, Outcome, PlatformUnavailable
from .verification import NotVerified, verify_slack, verify_telegram

logger = logging.getLogger(__name__)


def _parse(request: HttpRequest, platform: str) -> dict[str, Any] | JsonResponse:
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        logger.warning("%s webhook: the body is not JSON", platform)
        return JsonResponse({"ok": False, "detail": "The body is not JSON."}, status=400)
    if not isinstance(payload, dict):
        logger.warning("%s webhook: the body is not a JSON object", platform)
        return JsonResponse({"ok": False, "detail": "The body must be a JSON object."}, status=400)
    return payload


def _answer(platform: str, handle: Any, payload: dict[str, Any]) -> JsonResponse:
    try:
        outcome: Outcome = handle(payload)
    except BadDelivery as exc:
        logger.warning("%s webhook: malformed delivery: %s", platform, exc)
        return JsonResponse({"ok": False, "detail": str(exc)}, status=400)
    except PlatformUnavailable as exc:
        return JsonResponse({"ok": False, "detail": f"Try again later: {exc}"}, status=503)
    return JsonResponse({"ok": True, "result": outcome.result, "detail": outcome.detail})


def _verified_payload(
    request: HttpRequest, *, platform: str, enabled: bool, verify: Callable[..., None], secret_name: str
) -> dict[str, Any] | JsonResponse:
    """The checks every webhook makes before reading a delivery: on, POST, signed, a JSON object."""
    if not enabled:
        raise Http404(f"{platform} posting is off.")
    if request.method != "POST":
        return JsonResponse({"ok": False, "detail": "Use POST."}, status=405)
    try:
        verify(request, secret=config.setting(secret_name))
    except NotVerified as exc:
        logger.warning("%s webhook refused: %s", platform, exc)
        return JsonResponse({"ok": False, "detail": f"Not signed by {platform}."}, status=403)
    return _parse(request, platform)


@csrf_exempt
def telegram_webhook(request: HttpRequest) -> HttpResponse:
    """Telegram's webhook: one Update per POST, with the secret set by `manage.py telegram_webhook`."""
    payload = _verified_payload(
        request,
        platform="Telegram",
        enabled=config.telegram_enabled(),
        verify=verify_telegram,
        secret_name="TELEGRAM_WEBHOOK_SECRET",
    )
    if isinstance(payload, JsonResponse):
        return payload
    return _answer("Telegram", telegram.handle_update, payload)


@csrf_exempt
def slack_events(request: HttpRequest) -> HttpResponse:
    """Slack's Events API request URL: the url_verification handshake, then event callbacks."""
    payload = _verified_payload(
        request,
        platform="Slack",
        enabled=config.slack_enabled(),
        verify=verify_slack,
        secret_name="SLACK_SIGNING_SECRET",
    )
    if isinstance(payload, JsonResponse):
        return payload
    kind = payload.get("type")
    if kind == "url_verification":
        challenge = payload.get("challenge")
        if not isinstance(challenge, str):
            return JsonResponse({"ok": False, "detail": "challenge: text is required."}, status=400)
        return JsonResponse({"challenge": challenge})
    if kind != "event_callback":
        logger.info("Slack delivery of type %r ignored", kind)
        return JsonResponse({"ok": True, "result": "ignored", "detail": f"type {kind!r} is not handled"})
    return _answer("Slack", slack.handle_event_callback, payload)


@require_POST
@staff_member_required
def link_code(request: HttpRequest) -> HttpResponse:
    """Make a one-time code for the signed-in user and show it once (JSON, or a message on the page
    the form was posted from), in the user's language, as the desk is."""
    with translation.override(translation.get_language_from_request(request)):
        return _issue_link_code(request)


def _issue_link_code(request: HttpRequest) -> HttpResponse:
    if not roles.can_write(request.user):
        raise PermissionDenied(_("You may not write entries."))
    code, link = linking.issue_link_code(user=request.user)
    minutes = int(linking.CODE_LIFETIME.total_seconds() // 60)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"code": code, "expires_at": link.expires_at.isoformat()}, status=201)
    messages.success(
        request,
        ngettext(
            "Your linking code is %(code)s, valid for %(minutes)s minute, once. Send it to the Telegram "
            "bot as /link %(code)s, or post it in Slack as: link %(code)s",
            "Your linking code is %(code)s, valid for %(minutes)s minutes, once. Send it to the Telegram "
            "bot as /link %(code)s, or post it in Slack as: link %(code)s",
            minutes,
        )
        % {"code": code, "minutes": minutes},
    )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = "/admin/"
    return HttpResponseRedirect(back)
