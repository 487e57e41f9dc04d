"""The Editor group answers reader questions and sets each feed's switches (feeds.roles.grant)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Copied here rather than imported from the app, as in the core's role migrations.
EDITOR_PERMISSIONS = [
    "view_readerquestion",
    "change_readerquestion",
    "view_feedparticipation",
    "change_feedparticipation",
    "add_feedparticipation",
]


def let_editors_moderate(apps, schema_editor):
    app_config = apps.get_app_config("participation")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Editor")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="participation", codename__in=EDITOR_PERMISSIONS)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("participation", "0001_initial"),
        ("feeds", "0003_newsroom_roles"),
    ]

    operations = [migrations.RunPython(let_editors_moderate, migrations.RunPython.noop)]
