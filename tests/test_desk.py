"""The live desk's page and actions: the same rules as the admin and the API, answers the page
can show (400 naming the field, 403, 409 with the newer entry)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from feeds import services
from feeds.models import Entry, Feed

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk_client(make_member):
    def login(role: str, username: str) -> Client:
        client = Client()
        client.user = make_member(role, username)
        client.force_login(client.user)
        return client

    return login


def entries_url(feed: Feed) -> str:
    return reverse("admin:feeds_desk_entries", args=[feed.pk])


def test_desk_page_lists_drafts_and_published_entries_newest_first(desk_client, publisher, live_feed):
    services.create_entry(feed=live_feed, by=publisher, headline="Published one", body="-")
    services.create_entry(feed=live_feed, by=publisher, headline="Draft one", body="-", status="draft")
    response = desk_client("Contributor", "casey").get(reverse("admin:feeds_feed_desk", args=[live_feed.pk]))
    assert response.status_code == 200
    state = json.loads(
        response.content.decode().split('id="desk-state" type="application/json">')[1].split("</script>")[0]
    )
    assert [e["headline"] for e in state["entries"]] == ["Draft one", "Published one"]
    assert state["user"]["can_publish"] is False


def test_desk_needs_a_staff_login(client, live_feed):
    response = client.get(reverse("admin:feeds_feed_desk", args=[live_feed.pk]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_contributor_composer_saves_a_draft_and_cannot_publish(desk_client, live_feed):
    client = desk_client("Contributor", "casey")
    draft = client.post(entries_url(live_feed), {"kind": "text", "body": "Tyres gone"})
    assert draft.status_code == 201 and draft.json()["entry"]["status"] == "draft"
    refused = client.post(entries_url(live_feed), {"kind": "text", "body": "Now!", "publish": "on"})
    assert refused.status_code == 403 and "draft" in refused.json()["detail"]
    assert Entry.objects.count() == 1


def test_editor_publishes_a_contributors_draft_from_the_desk(desk_client, live_feed):
    draft = (
        desk_client("Contributor", "casey")
        .post(entries_url(live_feed), {"kind": "text", "body": "Tyres"})
        .json()
    )
    response = desk_client("Editor", "eve").post(
        f"{entries_url(live_feed)}{draft['entry']['id']}/", {"action": "publish"}
    )
    assert response.status_code == 200
    assert Entry.objects.get().is_visible_to_readers


def test_a_failed_post_says_which_field(desk_client, live_feed):
    response = desk_client("Editor", "eve").post(
        entries_url(live_feed), {"kind": "social", "url": "https://evil.example/p/1", "publish": "on"}
    )
    assert response.status_code == 400
    assert "url" in response.json()["errors"] and "not supported" in response.json()["detail"]


def test_one_pinned_entry_per_feed(desk_client, publisher, live_feed):
    client = desk_client("Editor", "eve")
    first = services.create_entry(feed=live_feed, by=publisher, body="one")
    second = services.create_entry(feed=live_feed, by=publisher, body="two")
    client.post(f"{entries_url(live_feed)}{first.pk}/", {"action": "pin"})
    client.post(f"{entries_url(live_feed)}{second.pk}/", {"action": "pin"})
    assert list(Entry.objects.filter(pinned=True).values_list("pk", flat=True)) == [second.pk]


def test_conflicting_edit_answers_409_with_the_newer_text(desk_client, publisher, live_feed):
    entry = services.create_entry(feed=live_feed, by=publisher, body="Leader pits")
    url = f"{entries_url(live_feed)}{entry.pk}/"
    first = desk_client("Editor", "eve").post(
        url, {"kind": "text", "body": "Leader pits on lap 50", "version": 1}
    )
    second = desk_client("Editor", "flo").post(
        url, {"kind": "text", "body": "Leader pits from P1", "version": 1}
    )
    assert first.status_code == 200 and second.status_code == 409
    assert second.json()["current"]["body"] == "Leader pits on lap 50"
    assert Entry.objects.get().body == "Leader pits on lap 50"


def test_delete_is_refused_to_contributors_and_done_for_editors(desk_client, publisher, live_feed):
    entry = services.create_entry(feed=live_feed, by=publisher, body="oops")
    url = f"{entries_url(live_feed)}{entry.pk}/delete/"
    assert desk_client("Contributor", "casey").post(url).status_code == 403
    assert desk_client("Editor", "eve").post(url).status_code == 200
    assert Entry.objects.get().is_tombstone


def test_history_lists_versions_and_restore_brings_one_back(desk_client, publisher, live_feed):
    client = desk_client("Editor", "eve")
    entry = services.create_entry(feed=live_feed, by=publisher, body="Right")
    client.post(f"{entries_url(live_feed)}{entry.pk}/", {"kind": "text", "body": "Wrong"})
    versions = client.get(f"{entries_url(live_feed)}{entry.pk}/history/").json()["versions"]
    assert [(v["who"], v["type"]) for v in versions] == [("Eve", "changed"), ("Eddie Tor", "created")]
    assert versions[0]["changes"] == [{"field": "body", "old": "Right", "new": "Wrong"}]
    restored = client.post(
        f"{entries_url(live_feed)}{entry.pk}/restore/", {"history_id": versions[1]["history_id"]}
    )
    assert restored.status_code == 200 and Entry.objects.get().body == "Right"


def test_feed_controls_and_race_status_need_an_editor(desk_client, live_feed):
    status_url = reverse("admin:feeds_desk_status", args=[live_feed.pk])
    race_url = reverse("admin:feeds_desk_race", args=[live_feed.pk])
    contributor = desk_client("Contributor", "casey")
    assert contributor.post(status_url, {"status": "ended"}).status_code == 403
    body = json.dumps({"changes": {"flag": "green"}})
    assert contributor.post(race_url, body, content_type="application/json").status_code == 403
    editor = desk_client("Editor", "eve")
    assert editor.post(race_url, body, content_type="application/json").status_code == 200
    assert editor.post(status_url, {"status": "ended"}).status_code == 200
    feed = Feed.objects.get(pk=live_feed.pk)
    assert feed.status == "ended" and feed.race == {"flag": "green"}


def test_scheduling_from_the_desk_keeps_the_entry_invisible(desk_client, live_feed):
    response = desk_client("Editor", "eve").post(
        entries_url(live_feed),
        {"kind": "text", "body": "At the green flag", "publish_at": "2099-01-01T12:00:00Z"},
    )
    assert response.status_code == 201
    entry = Entry.objects.get()
    assert entry.status == "draft" and entry.publish_at is not None and not entry.is_visible_to_readers


def test_a_race_status_entry_can_be_reworded_from_the_desk(desk_client, publisher, live_feed):
    services.update_race_status(
        feed=live_feed, by=publisher, changes={"flag": "red", "lap": 88}, announce=True
    )
    entry = Entry.objects.get()
    response = desk_client("Editor", "eve").post(
        f"{entries_url(live_feed)}{entry.pk}/",
        {"kind": "race_status", "body": "Rain on the backstretch.", "version": 1},
    )
    assert response.status_code == 200
    entry = Entry.objects.get()
    assert "Red flag" in entry.html and "Rain on the backstretch." in entry.html


def test_a_photo_sent_with_a_quote_is_refused_naming_the_field(desk_client, live_feed, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    photo = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(photo, "PNG")
    response = desk_client("Editor", "eve").post(
        entries_url(live_feed),
        {
            "kind": "quote",
            "body": "Flat out.",
            "speaker": "Sam Reyes",
            "image": SimpleUploadedFile("photo.png", photo.getvalue(), content_type="image/png"),
            "publish": "on",
        },
    )
    assert response.status_code == 400
    assert "image" in response.json()["errors"] and "no image" in response.json()["detail"]
    assert not Entry.objects.exists()
