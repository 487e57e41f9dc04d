"""The timing app's models, taken over from the feeds app (feeds 0008) with their tables as they are:
state only, plus their content types moved from `feeds` to `timing` in place, so the permissions on
them, and the groups and users holding those, carry over."""

import django.core.validators
import django.db.models.deletion
import feeds.outbound
import feeds.timing.registry
from django.conf import settings
from django.db import migrations, models

MODELS = ['timingsource']


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="feeds", model__in=MODELS).update(app_label="timing")
    ContentType.objects.clear_cache()


def restore_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="timing", model__in=MODELS).update(app_label="feeds")
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
                    name='TimingSource',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('format', models.CharField(choices=feeds.timing.registry.choices, default='livefeed', max_length=30)),
                        ('url', models.URLField(blank=True, help_text='Polled for the race status. Leave empty to only receive pushes to the API.', max_length=500, validators=[feeds.outbound.validate_public_url])),
                        ('enabled', models.BooleanField(default=True, help_text='Poll the URL and accept pushes.')),
                        ('interval_seconds', models.PositiveIntegerField(default=5, help_text='Seconds between polls.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(3600)])),
                        ('max_backoff_seconds', models.PositiveIntegerField(default=60, help_text='Longest wait between polls while the source keeps failing.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(3600)])),
                        ('stale_after_seconds', models.PositiveIntegerField(default=120, help_text='Report the source unhealthy when its data has not changed for this long under a green, yellow or white flag (0: never).', validators=[django.core.validators.MaxValueValidator(86400)])),
                        ('post_flag_changes', models.CharField(choices=[('off', "Don't post"), ('draft', 'Post as a draft'), ('published', 'Publish')], default='draft', help_text='A race status entry for each new flag.', max_length=10)),
                        ('post_lead_changes', models.CharField(choices=[('off', "Don't post"), ('draft', 'Post as a draft'), ('published', 'Publish')], default='off', help_text='An entry when the leader changes.', max_length=10)),
                        ('generation', models.PositiveIntegerField(default=0, editable=False, help_text='Raised to replace the polling chain.')),
                        ('last_timestamp', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('last_lap', models.PositiveIntegerField(blank=True, editable=False, null=True)),
                        ('last_fingerprint', models.TextField(blank=True, editable=False)),
                        ('last_ok_at', models.DateTimeField(blank=True, editable=False, help_text='Last good response.', null=True)),
                        ('last_change_at', models.DateTimeField(blank=True, editable=False, help_text='Last response that changed something.', null=True)),
                        ('last_error', models.CharField(blank=True, editable=False, max_length=300)),
                        ('last_error_at', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('failures', models.PositiveIntegerField(default=0, editable=False, help_text='Failed responses in a row.')),
                        ('next_poll_at', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('author', models.ForeignKey(help_text='Who changes the race status and signs automatic posts: an Editor.', on_delete=django.db.models.deletion.PROTECT, related_name='timing_sources', to=settings.AUTH_USER_MODEL)),
                        ('feed', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='timing_source', to='feeds.feed')),
                    ],
                    options={
                        'verbose_name': 'timing source',
                        'db_table': 'feeds_timingsource',
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]
