"""The portable backup path round-trips a feed: dumpdata, then loaddata into an empty database."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.forms.models import model_to_dict

from feeds import services
from feeds.models import ApiToken, Entry, Feed

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    return {
        "feeds": [model_to_dict(feed) | {"seq": feed.seq, "changed_seq": feed.changed_seq} for feed in Feed.objects.order_by("pk")],
        "entries": [
            model_to_dict(entry)
            | {name: getattr(entry, name) for name in ("html", "seq", "created_seq", "published_at", "deleted_at")}
            for entry in Entry.objects.order_by("pk")
        ],
        "tokens": list(ApiToken.objects.values("user__username", "key_hash", "revoked_at")),
    }


def test_dumpdata_and_loaddata_round_trip_a_feed(publisher, live_feed, tmp_path):
    services.create_entry(feed=live_feed, by=publisher, headline="Green flag", body="**Go**", key_event=True)
    services.create_entry(feed=live_feed, by=publisher, body="Read me first", pinned=True)
    services.create_entry(feed=live_feed, by=publisher, body="Not yet", status="draft")
    gone = services.create_entry(feed=live_feed, by=publisher, body="Wrong")
    services.delete_entry(entry=gone, by=publisher)
    before = snapshot()
    # XML keeps timestamps to the microsecond (JSON fixtures round them to milliseconds).
    backup = tmp_path / "livefeed.xml"
    call_command(
        "dumpdata", "auth.user", "feeds", format="xml", natural_foreign=True, output=str(backup), verbosity=0
    )

    Feed.objects.all().delete()
    ApiToken.objects.all().delete()
    get_user_model().objects.all().delete()
    call_command("loaddata", str(backup), verbosity=0)

    assert snapshot() == before
    assert Entry.objects.visible_to_readers().count() == 2
