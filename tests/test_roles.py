"""Contributors, Editors and superusers: every role × every action, in the admin and the API.

Allowed actions take effect; refused ones answer 403 and change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from feeds import roles, services
from feeds.models import Entry, Feed

pytestmark = pytest.mark.django_db

ROLES = ["Contributor", "Editor", "superuser"]
ACTIONS = ["create_draft", "publish", "edit_own", "edit_other", "delete", "pin", "change_feed_status"]
ALLOWED = {
    "Contributor": {"create_draft", "edit_own"},
    "Editor": set(ACTIONS),
    "superuser": set(ACTIONS),
}


def test_migrations_give_the_newsroom_groups_the_permissions_of_their_roles():
    for name in (roles.CONTRIBUTOR, roles.EDITOR):
        held = {
            f"{permission.content_type.app_label}.{permission.codename}"
            for permission in Group.objects.get(name=name).permissions.select_related("content_type")
            # Without a plug-in app installed, its models' permissions are left over, unused.
            if permission.content_type.model_class() is not None
        }
        assert held == set(roles.permissions_of(name))


@pytest.fixture
def world(make_member, publisher) -> Callable[[str], dict[str, Any]]:
    """A live feed with another editor's draft and published entry, and a member of `role`."""

    def build(role: str) -> dict[str, Any]:
        feed = services.create_feed(by=publisher, title="Night Race", slug="night-race", status="live")
        member = make_member(role, "member")
        return {
            "feed": feed,
            "member": member,
            "own_draft": services.create_entry(feed=feed, by=member, body="mine", status="draft"),
            "other_draft": services.create_entry(feed=feed, by=publisher, body="theirs", status="draft"),
            "other_published": services.create_entry(feed=feed, by=publisher, body="live"),
        }

    return build


def _entry(pk: int) -> Entry:
    return Entry.objects.get(pk=pk)


def api_action(world: dict[str, Any], action: str) -> tuple[int, bool]:
    """Do `action` through the API; return the status code and whether it took effect."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {world['member'].token}")
    slug = world["feed"].slug
    entries = f"/api/feeds/{slug}/entries/"
    if action == "create_draft":
        response = client.post(entries, {"body": "a draft", "status": "draft"}, format="json")
        return response.status_code, Entry.objects.filter(body="a draft").exists()
    if action == "publish":
        response = client.post(entries, {"body": "at once"}, format="json")
        return response.status_code, Entry.objects.filter(body="at once", status="published").exists()
    if action == "edit_own":
        response = client.patch(f"{entries}{world['own_draft'].pk}/", {"body": "mine, better"}, format="json")
        return response.status_code, _entry(world["own_draft"].pk).body == "mine, better"
    if action == "edit_other":
        response = client.patch(f"{entries}{world['other_draft'].pk}/", {"body": "changed"}, format="json")
        return response.status_code, _entry(world["other_draft"].pk).body == "changed"
    if action == "delete":
        response = client.delete(f"{entries}{world['other_published'].pk}/")
        return response.status_code, _entry(world["other_published"].pk).is_tombstone
    if action == "pin":
        response = client.patch(f"{entries}{world['own_draft'].pk}/", {"pinned": True}, format="json")
        return response.status_code, _entry(world["own_draft"].pk).pinned
    if action == "change_feed_status":
        response = client.patch(f"/api/feeds/{slug}/", {"status": "ended"}, format="json")
        return response.status_code, Feed.objects.get(slug=slug).status == "ended"
    raise AssertionError(action)


def admin_action(world: dict[str, Any], action: str) -> tuple[int, bool]:
    """Do `action` through the admin's forms; return the status code and whether it took effect."""
    client = Client()
    client.force_login(world["member"])
    feed = world["feed"]

    def entry_form(entry: Entry | None, **changes: Any) -> dict[str, Any]:
        data = {
            "feed": feed.pk,
            "kind": "text",
            "headline": "",
            "body": "",
            "details": "{}",
            "status": "draft",
            "publish_at_0": "",
            "publish_at_1": "",
        }
        if entry is not None:
            data.update(body=entry.body, status=entry.status, loaded_version=entry.version)
            data.update({name: "on" for name in ("pinned", "key_event") if getattr(entry, name)})
        data.update(changes)
        return data

    add = reverse("admin:feeds_entry_add")
    change = lambda entry: reverse("admin:feeds_entry_change", args=[entry.pk])  # noqa: E731
    if action == "create_draft":
        response = client.post(add, entry_form(None, body="a draft"))
        return response.status_code, Entry.objects.filter(body="a draft").exists()
    if action == "publish":
        response = client.post(change(world["own_draft"]), entry_form(world["own_draft"], status="published"))
        return response.status_code, _entry(world["own_draft"].pk).status == "published"
    if action == "edit_own":
        response = client.post(
            change(world["own_draft"]), entry_form(world["own_draft"], body="mine, better")
        )
        return response.status_code, _entry(world["own_draft"].pk).body == "mine, better"
    if action == "edit_other":
        response = client.post(change(world["other_draft"]), entry_form(world["other_draft"], body="changed"))
        return response.status_code, _entry(world["other_draft"].pk).body == "changed"
    if action == "delete":
        entry = world["other_published"]
        response = client.post(reverse("admin:feeds_entry_delete", args=[entry.pk]), {"post": "yes"})
        return response.status_code, _entry(entry.pk).is_tombstone
    if action == "pin":
        response = client.post(change(world["own_draft"]), entry_form(world["own_draft"], pinned="on"))
        return response.status_code, _entry(world["own_draft"].pk).pinned
    if action == "change_feed_status":
        response = client.post(
            reverse("admin:feeds_feed_change", args=[feed.pk]),
            {
                "title": feed.title,
                "summary": "",
                "language": "en",
                "status": "ended",
                "time_zone": "UTC",
                "coverage_start_0": "",
                "coverage_start_1": "",
                "coverage_end_0": "",
                "coverage_end_1": "",
                "entries-TOTAL_FORMS": "0",
                "entries-INITIAL_FORMS": "0",
            },
        )
        return response.status_code, Feed.objects.get(pk=feed.pk).status == "ended"
    raise AssertionError(action)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", ROLES)
def test_api_permission_matrix(world, role, action):
    status, took_effect = api_action(world(role), action)
    if action in ALLOWED[role]:
        assert status in (200, 201, 204) and took_effect, status
    else:
        assert status == 403 and not took_effect, status


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", ROLES)
def test_admin_permission_matrix(world, role, action):
    status, took_effect = admin_action(world(role), action)
    if action in ALLOWED[role]:
        assert status == 302 and took_effect, status
    else:
        assert status == 403 and not took_effect, status


def test_contributor_cannot_edit_own_draft_once_published(world, publisher):
    setup = world("Contributor")
    services.update_entry(entry=setup["own_draft"], by=publisher, status="published")
    status, took_effect = api_action(setup, "edit_own")
    assert status == 403 and not took_effect
