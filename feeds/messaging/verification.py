"""Checking that a webhook call comes from Telegram or Slack, in constant time."""

from __future__ import annotations

import hashlib
import hmac
import time

from django.http import HttpRequest

# Slack's documented replay window: a request signed more than five minutes ago is refused.
SLACK_MAX_AGE_SECONDS = 5 * 60


class NotVerified(Exception):
    """The request is not signed by the platform; the message says why (for the log)."""


def verify_telegram(request: HttpRequest, *, secret: str) -> None:
    """Telegram sends the secret given to setWebhook in X-Telegram-Bot-Api-Secret-Token."""
    supplied = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not supplied:
        raise NotVerified("no X-Telegram-Bot-Api-Secret-Token header")
    if not hmac.compare_digest(supplied.encode(), secret.encode()):
        raise NotVerified("wrong X-Telegram-Bot-Api-Secret-Token")


def slack_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """`v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the signing secret."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify_slack(request: HttpRequest, *, secret: str, now: float | None = None) -> None:
    """Check X-Slack-Signature over the raw body, and refuse timestamps outside the replay window."""
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    if not timestamp or not signature:
        raise NotVerified("no X-Slack-Request-Timestamp or X-Slack-Signature header")
    if not timestamp.isdigit():
        raise NotVerified("X-Slack-Request-Timestamp is not a number")
    age = (time.time() if now is None else now) - int(timestamp)
    if abs(age) > SLACK_MAX_AGE_SECONDS:
        raise NotVerified(f"X-Slack-Request-Timestamp is {int(age)} s old (a replay?)")
    expected = slack_signature(secret=secret, timestamp=timestamp, body=request.body)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        raise NotVerified("wrong X-Slack-Signature")
