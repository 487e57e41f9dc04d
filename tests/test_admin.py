"""The editors' admin writes through the services, so readers hear of every save."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from feeds import selectors, services
from feeds.models import Entry, Feed

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(publisher) -> Client:
    client = Client()
    client.force_login(publisher)
    return client


def test_quick_post_from_the_feed_page_publishes(editor_client, live_feed):
    url = reverse("admin:feeds_feed_post_entry", args=[live_feed.pk])
    response = editor_client.post(url, {"headline": "Green flag", "body": "Go **go**", "publish": "on"})
    assert response.status_code == 302
    entry = Entry.objects.get()
    assert entry.is_visible_to_readers and entry.seq == live_feed.seq + 1
    assert entry.html == "<p>Go <strong>go</strong></p>"


def test_quick_post_without_publish_saves_a_draft(editor_client, live_feed):
    editor_client.post(reverse("admin:feeds_feed_post_entry", args=[live_feed.pk]), {"body": "later"})
    assert Entry.objects.get().status == Entry.Status.DRAFT
    assert selectors.changes_after(feed=live_feed, after=live_feed.seq) == []


def test_empty_quick_post_says_why_and_writes_nothing(editor_client, live_feed):
    response = editor_client.post(
        reverse("admin:feeds_feed_post_entry", args=[live_feed.pk]),
        {"body": " ", "publish": "on"},
        follow=True,
    )
    assert "could not be posted" in response.content.decode()
    assert not Entry.objects.exists()


def test_feed_page_lists_entries_newest_first_with_the_composer(editor_client, publisher, live_feed):
    services.create_entry(feed=live_feed, by=publisher, headline="Older entry", body="-")
    services.create_entry(feed=live_feed, by=publisher, headline="Newer entry", body="-")
    html = editor_client.get(reverse("admin:feeds_feed_change", args=[live_feed.pk])).content.decode()
    assert 'id="quick-entry"' in html
    assert html.index("Newer entry") < html.index("Older entry")


def test_saving_an_entry_in_the_admin_takes_a_seq(editor_client, publisher, live_feed):
    entry = services.create_entry(feed=live_feed, by=publisher, headline="Caution", body="Turn 3")
    response = editor_client.post(
        reverse("admin:feeds_entry_change", args=[entry.pk]),
        {"kind": "text", "headline": "Caution", "body": "Turn 4, not 3", "status": "published"},
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.html == "<p>Turn 4, not 3</p>" and entry.seq == entry.created_seq + 1


def test_adding_an_entry_in_the_admin_publishes_it(editor_client, live_feed):
    response = editor_client.post(
        reverse("admin:feeds_entry_add"),
        {"feed": live_feed.pk, "kind": "text", "headline": "Stage 1", "body": "Done", "status": "published"},
    )
    assert response.status_code == 302
    assert Entry.objects.visible_to_readers().get().headline == "Stage 1"


def test_deleting_in_the_admin_leaves_a_tombstone(editor_client, publisher, live_feed):
    entry = services.create_entry(feed=live_feed, by=publisher, body="wrong")
    editor_client.post(reverse("admin:feeds_entry_delete", args=[entry.pk]), {"post": "yes"})
    assert Entry.objects.get(pk=entry.pk).is_tombstone


def test_changing_feed_status_in_the_admin_is_a_visible_change(editor_client, live_feed):
    response = editor_client.post(
        reverse("admin:feeds_feed_change", args=[live_feed.pk]),
        {
            "title": live_feed.title,
            "summary": "",
            "language": "en",
            "status": "ended",
            "time_zone": "UTC",
            "coverage_start_0": "",
            "coverage_start_1": "",
            "coverage_end_0": "",
            "coverage_end_1": "",
            "entries-TOTAL_FORMS": "0",
            "entries-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    feed = Feed.objects.get(pk=live_feed.pk)
    assert feed.status == "ended" and feed.changed_seq == live_feed.seq + 1


def test_staff_without_permissions_cannot_post(django_user_model, live_feed):
    staff = django_user_model.objects.create_user(username="viewer", is_staff=True)
    client = Client()
    client.force_login(staff)
    client.post(reverse("admin:feeds_feed_post_entry", args=[live_feed.pk]), {"body": "x", "publish": "on"})
    assert not Entry.objects.exists()


def test_a_stale_edit_in_the_feed_pages_entry_list_is_refused_not_lost(editor_client, publisher, live_feed):
    entry = services.create_entry(feed=live_feed, by=publisher, headline="Caution", body="Debris in Turn 3")
    loaded_version = entry.version
    services.update_entry(
        entry=entry, by=publisher, body="Debris in Turn 3, cleared"
    )  # a colleague saves first
    response = editor_client.post(
        reverse("admin:feeds_feed_change", args=[live_feed.pk]),
        {
            "title": live_feed.title,
            "summary": "",
            "language": "en",
            "status": "live",
            "time_zone": "UTC",
            "coverage_start_0": "",
            "coverage_start_1": "",
            "coverage_end_0": "",
            "coverage_end_1": "",
            "entries-TOTAL_FORMS": "1",
            "entries-INITIAL_FORMS": "1",
            "entries-0-id": entry.pk,
            "entries-0-feed": live_feed.pk,
            "entries-0-headline": "Caution",
            "entries-0-body": "Debris in Turn 4",
            "entries-0-status": "published",
            "entries-0-loaded_version": loaded_version,
        },
        follow=True,
    )
    entry.refresh_from_db()
    assert entry.body == "Debris in Turn 3, cleared"
    assert [str(m) for m in response.context["messages"]] == [str(services.StaleEdit(entry))]


def entry_form(feed: Feed, **fields: str) -> dict[str, object]:
    return {"feed": feed.pk, "kind": "text", "headline": "", "body": "", "status": "published", **fields}


def test_a_quote_gets_its_speaker_from_its_own_field(editor_client, live_feed):
    response = editor_client.post(
        reverse("admin:feeds_entry_add"),
        entry_form(
            live_feed, kind="quote", body="Tight in the center.", speaker="Dana Okafor", role="No. 75"
        ),
    )
    assert response.status_code == 302
    entry = Entry.objects.get()
    assert entry.details == {"speaker": "Dana Okafor", "role": "No. 75"}
    assert "Dana Okafor" in entry.html


def test_a_missing_speaker_is_shown_on_the_field_and_the_quote_is_kept(editor_client, live_feed):
    response = editor_client.post(
        reverse("admin:feeds_entry_add"), entry_form(live_feed, kind="quote", body="Words worth keeping")
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["speaker"] == ["The speaker is required."]
    assert "Words worth keeping" in response.content.decode()
    assert not Entry.objects.exists()


def test_editing_an_images_alt_text_keeps_its_renditions(
    editor_client, publisher, live_feed, settings, tmp_path
):
    from tests.test_kinds import image_file

    settings.MEDIA_ROOT = tmp_path / "media"
    entry = services.create_entry(
        feed=live_feed,
        by=publisher,
        kind="image",
        image=image_file(),
        details={"alt": "Pit stop", "caption": "Stop 3"},
    )
    form = editor_client.get(reverse("admin:feeds_entry_change", args=[entry.pk])).context["adminform"].form
    assert form["alt"].value() == "Pit stop" and form["caption"].value() == "Stop 3"
    response = editor_client.post(
        reverse("admin:feeds_entry_change", args=[entry.pk]),
        entry_form(
            live_feed,
            kind="image",
            alt="Pit stop, No. 12",
            caption="Stop 3",
            loaded_version=str(entry.version),
        ),
    )
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.details["alt"] == "Pit stop, No. 12" and entry.details["caption"] == "Stop 3"
    assert [r["width"] for r in entry.details["renditions"]] == [480, 960, 1600]
    assert 'alt="Pit stop, No. 12"' in entry.html


def test_admin_links_to_the_api_reference(admin_client):
    response = admin_client.get("/admin/")
    assert response.status_code == 200 and b'href="/api/docs/"' in response.content
