"""Timing, messaging and webhook models now belong to apps of their own (labels `timing`,
`messaging`, `webhooks`). Their tables stay as they are, under their old names: this only drops the
models from the feeds app's state; each app's 0001_initial adds them to its own state and moves
their content types, so permissions and the groups holding them carry over."""

from django.db import migrations

MOVED = [
    # Models referring to other moved models go first.
    "WebhookDelivery", "WebhookSubscription", "WebSubPing", "TimingSource",
    "MessagingEntry", "MessagingAccount", "SlackChannel", "LinkCode", "MessagingDelivery",
]


class Migration(migrations.Migration):
    dependencies = [
        ("feeds", "0008_entry_kind_choices_from_registry"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name=name) for name in MOVED],
            database_operations=[],
        ),
    ]
