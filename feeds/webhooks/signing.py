"""How a webhook request proves it came from Livefeed: HMAC-SHA256 over the timestamp and body.

`Livefeed-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the secret>`.
The timestamp is signed too, so a receiver can refuse a captured request replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Livefeed-Signature"
EVENT_HEADER = "Livefeed-Event"
DELIVERY_HEADER = "Livefeed-Delivery"


def signature(*, secret: str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def headers(*, secret: str, body: bytes, event: str, delivery_id: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers of one attempt; signed afresh at each attempt, so retries pass a tolerance check."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json; charset=utf-8",
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery_id,
        SIGNATURE_HEADER: f"t={timestamp},v1={signature(secret=secret, body=body, timestamp=timestamp)}",
    }
