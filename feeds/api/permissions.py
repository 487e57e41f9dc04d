from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from .. import roles


class ReadOrPublish(permissions.BasePermission):
    """Anyone may read; writers (Contributors and up) may write, and the services decide what
    each role may change, answering 403 for the rest."""

    message = "Only the newsroom's writers may write through the API."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_authenticated and roles.can_write(request.user))


class WatchesDesks(permissions.BasePermission):
    """Audience figures are the newsroom's: staff who may open the desk, by token or session."""

    message = "Only the newsroom's staff may read audience figures."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and roles.can_watch_desk(request.user))
