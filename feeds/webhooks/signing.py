"""How a webhook request proves it came from Livefeed: Standard Webhooks signatures.

Per https://www.standardwebhooks.com: `webhook-id`, `webhook-timestamp` (unix seconds) and
`webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, one signature per
secret in use (space-separated) while a rotated secret is retiring, so partners verify with the
published libraries. Secrets are `whsec_<base64 key>`; an older secret without the prefix is its
own UTF-8 bytes as the key (its `whsec_` form is `standard_secret(secret)`).

Deprecated, kept for one release: `Livefeed-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>" under the secret's text>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
SIGNATURE_HEADER = "Livefeed-Signature"  # deprecated
EVENT_HEADER = "Livefeed-Event"
DELIVERY_HEADER = "Livefeed-Delivery"
SECRET_PREFIX = "whsec_"


def key_of(secret: str) -> bytes:
    """The HMAC key a secret stands for."""
    if secret.startswith(SECRET_PREFIX):
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    return secret.encode()


def standard_secret(secret: str) -> str:
    """The secret in the `whsec_` form the Standard Webhooks libraries take."""
    if secret.startswith(SECRET_PREFIX):
        return secret
    return SECRET_PREFIX + base64.b64encode(secret.encode()).decode()


def standard_signature(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` under the secret's key."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key_of(secret), signed, hashlib.sha256).digest()).decode()


def signature(*, secret: str, body: bytes, timestamp: int) -> str:
    """The deprecated Livefeed-Signature's hex HMAC-SHA256 of `<timestamp>.<body>`."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def headers(
    *, secrets: list[str], body: bytes, event: str, delivery_id: str, timestamp: int | None = None
) -> dict[str, str]:
    """The headers of one attempt, signed afresh (so retries pass a tolerance check) with every
    secret in `secrets`, the current one first; the deprecated header uses the current one."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    current = secrets[0]
    return {
        "Content-Type": "application/json; charset=utf-8",
        ID_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(timestamp),
        STANDARD_SIGNATURE_HEADER: " ".join(
            standard_signature(secret=secret, message_id=delivery_id, timestamp=timestamp, body=body)
            for secret in secrets
        ),
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery_id,
        SIGNATURE_HEADER: f"t={timestamp},v1={signature(secret=current, body=body, timestamp=timestamp)}",
    }
