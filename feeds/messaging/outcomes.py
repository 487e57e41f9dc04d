"""What handling one delivery came to, and the refusals the webhooks translate into answers."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Outcome:
    """`result` is posted, updated, deleted, linked, command, refused, ignored or duplicate."""

    result: str
    detail: str = ""


class BadDelivery(Exception):
    """The payload is not shaped as the platform documents it; the message names the field."""


class PlatformUnavailable(Exception):
    """A call back to the platform failed; nothing was written, and the platform should retry."""


def refusal_text(exc: ValidationError | PermissionDenied) -> str:
    """A service's refusal as one sentence for a chat reply."""
    if isinstance(exc, PermissionDenied):
        return str(exc) or _("You may not do that.")
    if hasattr(exc, "error_dict"):
        return " ".join(message for messages in exc.message_dict.values() for message in messages)
    return " ".join(exc.messages)
