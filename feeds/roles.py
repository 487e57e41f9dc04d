"""Who may do what: the newsroom's roles, shared by the services, the admin and the API.

Contributors write drafts and edit their own drafts; Editors publish, edit and delete any entry,
pin, mark key events and run the feed. Superusers may do everything.

The groups are made by migrations (feeds 0003). Plug-in apps name the permissions of their own
models that a role holds with `grant()` from their `ready()`; `permissions_of()` lists them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractBaseUser

if TYPE_CHECKING:
    from .models import Entry

CONTRIBUTOR = "Contributor"
EDITOR = "Editor"

CONTRIBUTOR_PERMISSIONS = ["view_feed", "view_entry", "add_entry", "change_entry"]
EDITOR_PERMISSIONS = [*CONTRIBUTOR_PERMISSIONS, "add_feed", "change_feed", "delete_entry", "publish_entry"]

# Permissions of plug-in models each role holds, as "app_label.codename".
_granted: dict[str, list[str]] = {CONTRIBUTOR: [], EDITOR: []}


def grant(role: str, app_label: str, codenames: list[str]) -> None:
    """Record that `role` holds these permissions of a plug-in app's models."""
    for codename in codenames:
        if f"{app_label}.{codename}" not in _granted[role]:
            _granted[role].append(f"{app_label}.{codename}")


def permissions_of(role: str) -> list[str]:
    """Every permission the role's group holds, as "app_label.codename"."""
    core = EDITOR_PERMISSIONS if role == EDITOR else CONTRIBUTOR_PERMISSIONS
    return [f"feeds.{codename}" for codename in core] + _granted[role]


def can_write(user: AbstractBaseUser) -> bool:
    """Whether the user may draft entries at all."""
    return user.is_active and user.has_perm("feeds.add_entry")


def can_publish(user: AbstractBaseUser) -> bool:
    """Whether the user may change what readers see (publish, pin, mark key events, delete)."""
    return user.is_active and user.has_perm("feeds.publish_entry")


def can_run_feed(user: AbstractBaseUser) -> bool:
    """Whether the user may open and end coverage and set the race status."""
    return user.is_active and user.has_perm("feeds.change_feed")


def can_edit_entry(user: AbstractBaseUser, entry: Entry) -> bool:
    """Publishers edit any entry; other writers only their own drafts."""
    if not user.is_active or not user.has_perm("feeds.change_entry"):
        return False
    if can_publish(user):
        return True
    return entry.author_id == user.pk and entry.status == entry.Status.DRAFT and entry.publish_at is None


def can_delete_entry(user: AbstractBaseUser, entry: Entry) -> bool:
    """Only publishers delete, since a deletion reaches readers."""
    return user.is_active and user.has_perm("feeds.delete_entry") and can_publish(user)


def can_watch_desk(user: AbstractBaseUser) -> bool:
    """Whether the user may open a feed's desk (and see its drafts)."""
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and (user.has_perm("feeds.view_entry") or user.has_perm("feeds.change_entry"))
    )
