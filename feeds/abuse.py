"""Limits that keep one client from hurting everyone: API write rates and admin login lockouts.

Both answer 429 with Retry-After, so a well-behaved client knows when to try again. Counters live
in the shared cache (Redis in production), so they hold across server processes.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class WriteRateThrottle(SimpleRateThrottle):
    """Writes per API token (per user for session writes); reads are never throttled here."""

    scope = "write"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        token = getattr(request, "auth", None)
        if token is not None and getattr(token, "pk", None) is not None:
            ident = f"token-{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: Any) -> bool:
        """Fail open: while the shared cache (Redis) is down, editors keep posting unthrottled."""
        try:
            return super().allow_request(request, view)
        except Exception:
            logger.warning("Write rate limit not applied: the cache is unreachable", exc_info=True)
            return True


def login_lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """The admin's answer once a client or an account has failed to log in too often."""
    cool_off = get_cool_off(request)
    seconds = math.ceil(cool_off.total_seconds()) if cool_off else 900
    response = HttpResponse(
        f"Too many failed login attempts. Try again in {math.ceil(seconds / 60)} minutes.",
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(seconds)
    return response
