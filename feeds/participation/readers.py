"""Who a reader is, without an account: a random token in a signed cookie, one per browser.

Every tab of a browser sends the same cookie, so a browser votes once however many tabs it has
open. A client that drops the cookie gets a new token: that is what the per-address limits are for.
Only a keyed hash of the token is stored with a vote.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

COOKIE_NAME = "livefeed_reader"
COOKIE_MAX_AGE = 365 * 24 * 3600
_SALT = "feeds.participation.reader"


def reader_token(request: HttpRequest) -> str | None:
    """The token in the request's signed cookie, or None (no cookie, or one that was tampered with)."""
    value = request.COOKIES.get(COOKIE_NAME)
    if not value:
        return None
    try:
        return signing.Signer(salt=_SALT).unsign(value)
    except signing.BadSignature:
        return None


def new_reader_token() -> str:
    return secrets.token_urlsafe(16)


def voter_id(token: str) -> str:
    """What is stored with a vote or reaction: a keyed hash of the token (32 hex characters)."""
    return hashlib.sha256(f"{settings.SECRET_KEY}:{_SALT}:{token}".encode()).hexdigest()[:32]


def remember_reader(request: HttpRequest, response: HttpResponse, token: str) -> None:
    """Give the browser its token, unless it already sent this one.

    Over HTTPS the cookie is SameSite=None, so the widget framed on a partner's page keeps it.
    """
    if reader_token(request) == token:
        return
    _set_cookie(request, response, token)


def cookie_header(request: HttpRequest, token: str) -> bytes:
    """The Set-Cookie header `remember_reader` gives, for an answer made without a response object."""
    response = HttpResponse()
    _set_cookie(request, response, token)
    return response.cookies[COOKIE_NAME].OutputString().encode("latin-1")


def _set_cookie(request: HttpRequest, response: HttpResponse, token: str) -> None:
    secure = request.is_secure()
    response.set_cookie(
        COOKIE_NAME,
        signing.Signer(salt=_SALT).sign(token),
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        secure=secure,
        samesite="None" if secure else "Lax",
    )
