from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request


class ReadOrPublish(permissions.BasePermission):
    """Anyone may read; only users allowed to publish entries may write."""

    message = "Only users allowed to publish may write through the API."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(
            request.user and request.user.is_authenticated and request.user.has_perm("feeds.publish_entry")
        )
