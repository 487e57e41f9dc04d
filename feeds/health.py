"""The health check a proxy or supervisor polls: can this process reach the database and Redis?

`GET /healthz` answers 200 when both answer (Redis only when configured) and 503 naming what
failed, so a load balancer stops sending readers to a process that could not serve them.
"""

from __future__ import annotations

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .broadcast.hub import subscription_state
from .broadcast.publishing import redis_ping

logger = logging.getLogger(__name__)


def database_answers() -> bool:
    """Whether a trivial query succeeds on the default database."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.warning("Health check: the database does not answer", exc_info=True)
        return False


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """200 with each check's result when all pass, 503 otherwise."""
    database = database_answers()
    redis = redis_ping()
    checks = {
        "database": "ok" if database else "unavailable",
        "redis": "not configured" if redis is None else ("ok" if redis else "unavailable"),
        "subscription": subscription_state(),
    }
    healthy = database and redis is not False
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )
