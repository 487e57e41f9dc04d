"""The messaging app's models, taken over from the feeds app (feeds 0008) with their tables as they are:
state only, plus their content types moved from `feeds` to `messaging` in place, so the permissions on
them, and the groups and users holding those, carry over."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MODELS = ['linkcode', 'messagingdelivery', 'slackchannel', 'messagingaccount', 'messagingentry']


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="feeds", model__in=MODELS).update(app_label="messaging")
    ContentType.objects.clear_cache()


def restore_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="messaging", model__in=MODELS).update(app_label="feeds")
    ContentType.objects.clear_cache()

class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('feeds', '0009_plugin_models_to_their_apps'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='LinkCode',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code_hash', models.CharField(editable=False, max_length=64, unique=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('expires_at', models.DateTimeField()),
                        ('used_at', models.DateTimeField(blank=True, null=True)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='messaging_link_codes', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'messaging link code',
                        'db_table': 'feeds_linkcode',
                    },
                ),
                migrations.CreateModel(
                    name='MessagingDelivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('platform', models.CharField(choices=[('telegram', 'Telegram'), ('slack', 'Slack')], max_length=10)),
                        ('delivery_id', models.CharField(max_length=64)),
                        ('received_at', models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        'db_table': 'feeds_messagingdelivery',
                        'constraints': [models.UniqueConstraint(fields=('platform', 'delivery_id'), name='messaging_delivery_unique')],
                    },
                ),
                migrations.CreateModel(
                    name='SlackChannel',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('channel_id', models.CharField(help_text="The channel's id (C…), from its details.", max_length=32, unique=True)),
                        ('name', models.CharField(blank=True, help_text='For your reference.', max_length=100)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('feed', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='slack_channels', to='feeds.feed')),
                    ],
                    options={
                        'verbose_name': 'Slack channel',
                        'db_table': 'feeds_slackchannel',
                    },
                ),
                migrations.CreateModel(
                    name='MessagingAccount',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('platform', models.CharField(choices=[('telegram', 'Telegram'), ('slack', 'Slack')], max_length=10)),
                        ('external_id', models.CharField(help_text="Telegram user id, or Slack member id (U…, shown in the member's profile).", max_length=64)),
                        ('display_name', models.CharField(blank=True, max_length=200)),
                        ('linked_at', models.DateTimeField(auto_now_add=True)),
                        ('feed', models.ForeignKey(blank=True, help_text="The feed a Telegram account's messages go to (chosen with /feed).", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='feeds.feed')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='messaging_accounts', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'messaging account',
                        'db_table': 'feeds_messagingaccount',
                        'constraints': [models.UniqueConstraint(fields=('platform', 'external_id'), name='messaging_account_unique')],
                    },
                ),
                migrations.CreateModel(
                    name='MessagingEntry',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('platform', models.CharField(choices=[('telegram', 'Telegram'), ('slack', 'Slack')], max_length=10)),
                        ('conversation_id', models.CharField(help_text='Telegram chat id or Slack channel id.', max_length=64)),
                        ('message_id', models.CharField(help_text='Telegram message_id or Slack ts.', max_length=64)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('entry', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='messaging_sources', to='feeds.entry')),
                    ],
                    options={
                        'db_table': 'feeds_messagingentry',
                        'constraints': [models.UniqueConstraint(fields=('platform', 'conversation_id', 'message_id'), name='messaging_entry_unique')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]
