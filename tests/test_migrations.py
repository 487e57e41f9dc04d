"""A database from the release before timing, messaging and webhooks became apps of their own
migrates forward with every row and every permission intact."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps as installed_apps
from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_plugins]

# The last migration of each app in that release; the plug-in apps did not exist yet.
RELEASE = [("feeds", "0007_messaging_accounts"), ("timing", None), ("messaging", None), ("webhooks", None)]
MOVED = {
    "timing": ["timingsource"],
    "messaging": ["linkcode", "messagingaccount", "slackchannel", "messagingdelivery", "messagingentry"],
    "webhooks": ["webhooksubscription", "webhookdelivery", "websubping"],
}


def migrate(targets: list[tuple[str, str | None]]) -> Any:
    """Migrate the test database to `targets`; the app registry as of there."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([target for target in targets if target[1] is not None]).apps


def migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    migrate(executor.loader.graph.leaf_nodes())


def release_groups(old_apps: Any) -> None:
    """The groups as that release's migrations made them (a transactional test's flush drops them)."""
    importlib.import_module("feeds.migrations.0003_newsroom_roles").create_groups(old_apps, None)
    importlib.import_module("feeds.migrations.0004_timing_sources").let_editors_link_timing_sources(
        old_apps, None
    )


def release_rows(old_apps: Any) -> dict[str, Any]:
    """A row in every table of the moved models, and the core rows they refer to."""
    model = lambda label: old_apps.get_model("feeds", label)  # noqa: E731
    User = old_apps.get_model(settings.AUTH_USER_MODEL)
    editor = User.objects.create(username="erin", is_staff=True)
    editor.groups.add(old_apps.get_model("auth", "Group").objects.get(name="Editor"))
    feed = model("Feed").objects.create(title="Harbor City 200", slug="harbor-city-200", status="live", seq=1)
    entry = model("Entry").objects.create(
        feed=feed, author=editor, body="Green flag", html="<p>Green flag</p>", seq=1
    )
    now = timezone.now()
    subscription = model("WebhookSubscription").objects.create(feed=feed, url="https://partner.example/hook")
    rows = {
        "timingsource": model("TimingSource").objects.create(
            feed=feed, author=editor, url="https://timing.example/"
        ),
        "webhooksubscription": subscription,
        "webhookdelivery": model("WebhookDelivery").objects.create(
            subscription=subscription, event="entry.created", seq=1, body="{}"
        ),
        "websubping": model("WebSubPing").objects.create(feed=feed, requested_seq=1),
        "linkcode": model("LinkCode").objects.create(
            user=editor, code_hash="a" * 64, expires_at=now + timedelta(minutes=5)
        ),
        "messagingaccount": model("MessagingAccount").objects.create(
            user=editor, platform="telegram", external_id="42", feed=feed
        ),
        "slackchannel": model("SlackChannel").objects.create(feed=feed, channel_id="C123"),
        "messagingdelivery": model("MessagingDelivery").objects.create(platform="slack", delivery_id="Ev1"),
        "messagingentry": model("MessagingEntry").objects.create(
            entry=entry, platform="telegram", conversation_id="7", message_id="9"
        ),
    }
    return {"editor": editor, "feed": feed, "entry": entry, **rows}


@pytest.fixture
def release_database() -> Any:
    """The test database taken back to the release's migrations; brought to the latest afterwards."""
    try:
        old_apps = migrate(RELEASE)
        release_groups(old_apps)
        yield old_apps
    finally:
        migrate_to_latest()
        ContentType.objects.clear_cache()


def test_every_row_of_the_moved_models_survives_the_migration(release_database):
    before = release_rows(release_database)
    migrate_to_latest()
    for app_label, model_names in MOVED.items():
        for model_name in model_names:
            model = installed_apps.get_model(app_label, model_name)
            assert model._meta.db_table == f"feeds_{model_name}"
            assert list(model.objects.values_list("pk", flat=True)) == [before[model_name].pk]
    timing_source = installed_apps.get_model("timing", "TimingSource").objects.get()
    assert (timing_source.feed.slug, timing_source.author.username) == ("harbor-city-200", "erin")
    delivery = installed_apps.get_model("webhooks", "WebhookDelivery").objects.get()
    assert delivery.subscription.url == "https://partner.example/hook"
    assert installed_apps.get_model("messaging", "MessagingEntry").objects.get().entry.body == "Green flag"


def test_content_types_move_in_place_so_editors_keep_their_permissions(release_database):
    before = release_rows(release_database)
    OldContentType = release_database.get_model("contenttypes", "ContentType")
    old_ids = {
        model_name: OldContentType.objects.get(app_label="feeds", model=model_name).pk
        for model_names in MOVED.values()
        for model_name in model_names
    }
    LogEntry.objects.create(
        user_id=before["editor"].pk,
        content_type_id=old_ids["timingsource"],
        object_id=str(before["timingsource"].pk),
        object_repr="Timing for Harbor City 200",
        action_flag=CHANGE,
    )
    migrate_to_latest()
    ContentType.objects.clear_cache()
    for app_label, model_names in MOVED.items():
        for model_name in model_names:
            content_type = ContentType.objects.get(app_label=app_label, model=model_name)
            assert content_type.pk == old_ids[model_name]
            assert not ContentType.objects.filter(app_label="feeds", model=model_name).exists()
    editor = installed_apps.get_model(settings.AUTH_USER_MODEL).objects.get(pk=before["editor"].pk)
    for action in ("view", "add", "change", "delete"):
        assert editor.has_perm(f"timing.{action}_timingsource")
    assert not editor.has_perm("webhooks.change_webhooksubscription")
    assert editor.has_perm("feeds.publish_entry")
    assert (
        Permission.objects.filter(content_type__app_label="timing", codename="change_timingsource").count()
        == 1
    )
    [log] = LogEntry.objects.all()
    assert log.get_edited_object().pk == before["timingsource"].pk
