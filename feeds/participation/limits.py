"""Per-address limits on what readers send (votes, reactions, questions), across server processes.

Counted in fixed windows in the shared cache (Redis in production). A crowd behind one address
(a circuit's Wi-Fi, a carrier's NAT) shares its limit, so the vote limit is generous; the one on
questions is not.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)

_DURATIONS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600}


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """ "30/min", "5/10min", "1000/s"."""
        count, _, period = text.partition("/")
        digits = "".join(ch for ch in period if ch.isdigit())
        unit = period[len(digits) :]
        return cls(int(count), int(digits or 1) * _DURATIONS[unit])


def rate(name: str) -> Rate:
    return Rate.parse(settings.LIVEFEED[name])


def client_address(request: HttpRequest) -> str:
    """The client's address as the API's throttles see it (honouring NUM_PROXIES)."""
    return BaseThrottle().get_ident(request)  # type: ignore[arg-type]


def window_key(*, scope: str, address: str, limit: Rate, now: float) -> tuple[str, int]:
    """The cache key counting this address's requests in the window `now` falls in, and the window."""
    window = int(now // limit.seconds)
    return f"participation:{scope}:{address}:{window}", window


def retry_after(request: HttpRequest, *, scope: str, limit: Rate) -> int | None:
    """Count one request from this address; None if allowed, else the seconds to wait.

    Fails open while the cache is down: readers keep voting rather than see errors.
    """
    now = time.time()
    key, window = window_key(scope=scope, address=client_address(request), limit=limit, now=now)
    try:
        if cache.add(key, 1, timeout=limit.seconds + 1):
            count = 1
        else:
            count = cache.incr(key)
    except Exception:
        logger.warning("Participation limit %s not applied: the cache is unreachable", scope, exc_info=True)
        return None
    if count <= limit.count:
        return None
    return max(1, int((window + 1) * limit.seconds - now) + 1)
