"""The portable backup path round-trips a feed: dumpdata, then loaddata into an empty database."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.forms.models import model_to_dict
from PIL import Image

from feeds import services
from feeds.models import ApiToken, Entry, Feed

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    return {
        "feeds": [
            model_to_dict(feed)
            | {"seq": feed.seq, "changed_seq": feed.changed_seq, "race_html": feed.race_html}
            for feed in Feed.objects.order_by("pk")
        ],
        "entries": [
            model_to_dict(entry)
            | {
                name: getattr(entry, name)
                for name in ("html", "seq", "created_seq", "published_at", "deleted_at", "version")
            }
            | {"image": entry.image.name if entry.image else ""}
            for entry in Entry.objects.order_by("pk")
        ],
        "tokens": list(ApiToken.objects.values("user__username", "key_hash", "revoked_at")),
    }


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 90, 160)).save(buffer, "PNG")
    return SimpleUploadedFile("pit.png", buffer.getvalue(), content_type="image/png")


def test_dumpdata_and_loaddata_round_trip_a_feed_with_every_kind(publisher, live_feed, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    services.update_race_status(
        feed=live_feed, by=publisher, changes={"flag": "yellow", "lap": 57}, announce=True
    )
    services.create_entry(
        feed=live_feed,
        by=publisher,
        kind="quote",
        body="Tight in the center.",
        details={"speaker": "Dana Okafor", "role": "driver, No. 75 truck"},
    )
    services.create_entry(
        feed=live_feed, by=publisher, kind="social", details={"url": "https://bsky.app/profile/a/post/1"}
    )
    services.create_entry(
        feed=live_feed,
        by=publisher,
        kind="image",
        image=png(),
        details={"alt": "Pit stop", "caption": "Stop 3", "credit": "Ana Lee"},
    )
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
    kinds = set(Entry.objects.visible_to_readers().values_list("kind", flat=True))
    assert kinds == {"text", "quote", "social", "image", "race_status"}
