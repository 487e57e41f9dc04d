"""The newsroom's groups: Contributor and Editor, with the permissions listed in feeds.roles."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CONTRIBUTOR_PERMISSIONS = ["view_feed", "view_entry", "add_entry", "change_entry"]
EDITOR_PERMISSIONS = [*CONTRIBUTOR_PERMISSIONS, "add_feed", "change_feed", "delete_entry", "publish_entry"]
# Copied here rather than imported: a migration must keep meaning what it meant when written.
GROUPS = {"Contributor": CONTRIBUTOR_PERMISSIONS, "Editor": EDITOR_PERMISSIONS}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    app_config = apps.get_app_config("feeds")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="feeds", codename__in=codenames)
        )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("feeds", "0002_entry_kinds_race_status_history_schedule"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
