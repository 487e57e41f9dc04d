# Joins two lines of migrations made side by side: corrections and time zones, audience and languages.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('feeds', '0010_entry_corrections_removal_notices_feed_time_zone'),
        ('feeds', '0011_feed_language'),
    ]

    operations = [
    ]
