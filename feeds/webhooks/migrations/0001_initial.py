"""The webhooks app's models, taken over from the feeds app (feeds 0008) with their tables as they are:
state only, plus their content types moved from `feeds` to `webhooks` in place, so the permissions on
them, and the groups and users holding those, carry over."""

import django.db.models.deletion
import django.utils.timezone
import feeds.outbound
import feeds.webhooks.models
import uuid
from django.db import migrations, models

MODELS = ['webhooksubscription', 'websubping', 'webhookdelivery']


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="feeds", model__in=MODELS).update(app_label="webhooks")
    ContentType.objects.clear_cache()


def restore_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="webhooks", model__in=MODELS).update(app_label="feeds")
    ContentType.objects.clear_cache()

class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('feeds', '0009_plugin_models_to_their_apps'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='WebhookSubscription',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('url', models.URLField(max_length=500, validators=[feeds.outbound.validate_public_url], verbose_name='URL')),
                        ('secret', models.CharField(default=feeds.webhooks.models.new_secret, help_text="Shared with the receiver, which checks each request's signature with it.", max_length=200)),
                        ('events', models.JSONField(default=feeds.webhooks.models.every_event, help_text='The kinds of change this URL receives.')),
                        ('active', models.BooleanField(default=True, help_text='Turn back on to resume from the oldest delivery still pending.')),
                        ('consecutive_failures', models.PositiveIntegerField(default=0, editable=False)),
                        ('disabled_reason', models.TextField(blank=True, editable=False)),
                        ('disabled_at', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('lease_owner', models.CharField(blank=True, editable=False, max_length=32)),
                        ('lease_until', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('feed', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhook_subscriptions', to='feeds.feed')),
                    ],
                    options={
                        'verbose_name': 'webhook subscription',
                        'db_table': 'feeds_webhooksubscription',
                        'ordering': ['feed', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='WebSubPing',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('requested_seq', models.PositiveBigIntegerField(default=0)),
                        ('pinged_seq', models.PositiveBigIntegerField(default=0)),
                        ('queued_at', models.DateTimeField(blank=True, help_text='When the pending ping was queued.', null=True)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('last_error', models.TextField(blank=True)),
                        ('feed', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='websub_ping', to='feeds.feed')),
                    ],
                    options={
                        'verbose_name': 'WebSub ping',
                        'db_table': 'feeds_websubping',
                    },
                ),
                migrations.CreateModel(
                    name='WebhookDelivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('delivery_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('event', models.CharField(max_length=30)),
                        ('seq', models.PositiveBigIntegerField()),
                        ('body', models.TextField(help_text='The JSON sent, identical to the WebSocket message.')),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('delivered', 'Delivered')], default='pending', max_length=10)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('next_attempt_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('last_attempt_at', models.DateTimeField(blank=True, null=True)),
                        ('delivered_at', models.DateTimeField(blank=True, null=True)),
                        ('response_status', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('error', models.TextField(blank=True)),
                        ('subscription', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='webhooks.webhooksubscription')),
                    ],
                    options={
                        'verbose_name_plural': 'webhook deliveries',
                        'db_table': 'feeds_webhookdelivery',
                        'ordering': ['-id'],
                        'indexes': [models.Index(fields=['subscription', 'status', 'id'], name='webhook_delivery_queue')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]
