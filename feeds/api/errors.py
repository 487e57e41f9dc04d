"""Translate the services' domain errors into API answers a person can act on."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .. import events
from ..services import StaleEdit

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    """The request is well formed but clashes with what is stored (a slug in use)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This change conflicts with what is stored.")
    default_code = "conflict"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's answers, plus 409 for stale edits and constraint clashes, 400 for model validation."""
    if isinstance(exc, StaleEdit):
        current = events.desk_entry_payload(exc.current)
        return Response({"detail": str(exc), "current": current}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, IntegrityError):
        logger.warning("Write refused by a database constraint: %s", exc)
        return Response(
            {"detail": gettext("This change conflicts with another one; reload and try again.")},
            status=status.HTTP_409_CONFLICT,
        )
    response = drf_exception_handler(exc, context)
    if response is not None and response.status_code == 400:
        logger.info("Refused bad input on %s: %s", context["request"].path, response.data)
    return response
