"""Corrections in the open and removal notices: the services' rules, and every path readers use
(page, WebSocket messages, read and events API, syndication, history)."""

from __future__ import annotations

import calendar
from datetime import timedelta
from unittest import mock

import feedparser
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from feeds import selectors, services, signals
from feeds.models import Entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(publisher, live_feed) -> Entry:
    return services.create_entry(feed=live_feed, by=publisher, headline="Caution", body="Debris in Turn 3")


@pytest.fixture
def recorded():
    """The changes readers are sent (the text of each), as plug-ins hear them."""
    texts: list[str] = []

    def receive(*, text: str, **kwargs: object) -> None:
        texts.append(text)

    signals.change_recorded.connect(receive)
    yield texts
    signals.change_recorded.disconnect(receive)


def test_correction_keeps_the_note_and_the_wording_readers_saw(publisher, published):
    seq = published.seq
    services.correct_entry(entry=published, by=publisher, note="It was Turn 4.", body="Debris in Turn 4")
    assert published.seq == seq + 1 and published.html == "<p>Debris in Turn 4</p>"
    [correction] = published.correction_list
    assert correction.note == "It was Turn 4."
    assert (correction.headline, correction.html) == ("Caution", "<p>Debris in Turn 3</p>")


def test_correction_reaches_readers_in_the_change_message(publisher, live_feed, published, recorded):
    services.correct_entry(entry=published, by=publisher, note="It was Turn 4.", body="Debris in Turn 4")
    [message] = selectors.changes_after(feed=live_feed, after=published.seq - 1)
    assert message["type"] == "entry.updated"
    [correction] = message["entry"]["corrections"]
    assert correction["note"] == "It was Turn 4." and correction["html"] == "<p>Debris in Turn 3</p>"
    assert correction["at"].endswith("Z")
    assert "It was Turn 4." in recorded[-1] and "Debris in Turn 3" in recorded[-1]


def test_plain_edit_stays_silent(publisher, live_feed, published):
    services.update_entry(entry=published, by=publisher, body="Debris in Turn 3.")
    [message] = selectors.changes_after(feed=live_feed, after=published.seq - 1)
    assert message["entry"]["corrections"] == [] and published.corrections == []


def test_later_plain_edit_keeps_the_correction_shown(publisher, published):
    services.correct_entry(entry=published, by=publisher, note="Turn 4.", body="Debris in Turn 4")
    services.update_entry(entry=published, by=publisher, body="Debris in Turn 4.")
    assert [item.note for item in Entry.objects.get(pk=published.pk).correction_list] == ["Turn 4."]


def test_correction_is_marked_in_the_entry_history(publisher, published):
    services.correct_entry(entry=published, by=publisher, note="It was Turn 4.", body="Debris in Turn 4")
    latest = published.history.order_by("-history_id").first()
    assert latest.history_change_reason == "Correction: It was Turn 4."
    assert latest.history_user == publisher


def test_a_draft_cannot_be_corrected_so_its_wording_never_reaches_readers(publisher, live_feed, recorded):
    draft = services.create_entry(feed=live_feed, by=publisher, body="Embargoed words", status="draft")
    with pytest.raises(ValidationError):
        services.correct_entry(entry=draft, by=publisher, note="Fix", body="Public words", status="published")
    assert Entry.objects.get(pk=draft.pk).status == "draft" and recorded == []


def test_unpublished_then_reworded_entry_cannot_be_corrected_back_into_view(publisher, live_feed, published):
    services.update_entry(entry=published, by=publisher, status="draft")
    services.update_entry(entry=published, by=publisher, body="Draft-only wording")
    with pytest.raises(ValidationError):
        services.correct_entry(
            entry=published, by=publisher, note="Fix", body="Public again", status="published"
        )
    services.update_entry(entry=published, by=publisher, body="Public again", status="published")
    messages = selectors.changes_after(feed=live_feed, after=0)
    assert "Draft-only wording" not in str(messages)


def test_correction_that_unpublishes_is_refused_and_writes_nothing(publisher, published):
    version = published.version
    with pytest.raises(ValidationError):
        services.correct_entry(entry=published, by=publisher, note="Gone", body="New", status="draft")
    assert Entry.objects.get(pk=published.pk).version == version


def test_correction_without_a_change_of_wording_is_refused(publisher, published):
    with pytest.raises(ValidationError):
        services.correct_entry(entry=published, by=publisher, note="Nothing", body=published.body)
    with pytest.raises(ValidationError):
        services.correct_entry(entry=published, by=publisher, note="Only pinned", pinned=True)
    assert Entry.objects.get(pk=published.pk).corrections == []


@pytest.mark.parametrize("note", ["", "   ", "x" * 201])
def test_correction_needs_a_short_note(publisher, published, note):
    with pytest.raises(ValidationError) as refused:
        services.correct_entry(entry=published, by=publisher, note=note, body="Debris in Turn 4")
    assert "correction_note" in refused.value.message_dict


def test_contributor_cannot_correct(make_member, published):
    contributor = make_member("Contributor", "casey")
    with pytest.raises(PermissionDenied):
        services.correct_entry(entry=published, by=contributor, note="Fix", body="Debris in Turn 4")


def test_reader_page_shows_the_note_and_the_earlier_wording_struck_through(publisher, live_feed, published):
    services.correct_entry(entry=published, by=publisher, note="It was Turn 4.", body="Debris in Turn 4")
    html = Client().get(live_feed.get_absolute_url()).content.decode()
    assert "Corrected <time" in html and "— It was Turn 4." in html
    earlier = html.split('<aside class="correction">')[1].split("<details>")[1].split("</details>")[0]
    assert "<del>" in earlier and "Debris in Turn 3" in earlier and "Caution" in earlier


def test_read_and_events_api_carry_the_correction(publisher, live_feed, published):
    services.correct_entry(entry=published, by=publisher, note="It was Turn 4.", body="Debris in Turn 4")
    client = Client()
    page = client.get(f"/api/feeds/{live_feed.slug}/").json()
    assert page["entries"][0]["corrections"][0]["note"] == "It was Turn 4."
    single = client.get(f"/api/feeds/{live_feed.slug}/entries/{published.pk}/").json()
    assert single["corrections"][0]["html"] == "<p>Debris in Turn 3</p>"
    events = client.get(f"/api/feeds/{live_feed.slug}/events/?after={published.seq - 1}").json()
    assert events["events"][0]["entry"]["corrections"][0]["note"] == "It was Turn 4."


def test_api_edit_with_a_note_is_a_correction_and_without_is_silent(publisher, live_feed, published):
    client = Client(headers={"Authorization": f"Bearer {publisher.token}"})
    url = f"/api/feeds/{live_feed.slug}/entries/{published.pk}/"
    silent = client.patch(url, {"body": "Debris in Turn 3."}, content_type="application/json")
    assert silent.status_code == 200 and silent.json()["corrections"] == []
    corrected = client.patch(
        url, {"body": "Debris in Turn 4", "correction_note": "Turn 4."}, content_type="application/json"
    )
    assert corrected.status_code == 200 and corrected.json()["corrections"][0]["note"] == "Turn 4."
    refused = client.patch(
        url, {"body": "Debris in Turn 4", "correction_note": "Again"}, content_type="application/json"
    )
    assert refused.status_code == 400 and "wording" in str(refused.json())


@pytest.mark.parametrize("path", ["atom", "rss"])
def test_syndication_shows_the_correction_as_an_update(publisher, live_feed, published, path):
    services.correct_entry(entry=published, by=publisher, note="It was Turn 4.", body="Debris in Turn 4")
    parsed = feedparser.parse(Client().get(f"/feeds/{live_feed.slug}/{path}/").content)
    assert not parsed.bozo
    [item] = parsed.entries
    assert "It was Turn 4." in item.summary and "<del>" in item.summary and "Turn 3" in item.summary


def test_atom_dates_an_entry_by_its_correction_not_by_a_plain_edit(publisher, live_feed, published):
    def updated() -> int:
        [item] = feedparser.parse(Client().get(f"/feeds/{live_feed.slug}/atom/").content).entries
        return calendar.timegm(item.updated_parsed)

    services.update_entry(entry=published, by=publisher, body="Debris in Turn 3.")
    assert updated() == int(published.published_at.timestamp())
    later = published.published_at + timedelta(minutes=5)
    with mock.patch("django.utils.timezone.now", return_value=later):
        services.correct_entry(entry=published, by=publisher, note="Turn 4.", body="Debris in Turn 4")
    assert updated() == int(later.timestamp())


def test_json_feed_dates_the_correction(publisher, live_feed, published):
    services.correct_entry(entry=published, by=publisher, note="It was Turn 4.", body="Debris in Turn 4")
    [item] = Client().get(f"/feeds/{live_feed.slug}/feed.json").json()["items"]
    assert item["date_modified"] == published.corrections[0]["at"]
    assert "It was Turn 4." in item["content_html"]


# --- Removal notices --------------------------------------------------------------------------


def test_deletion_with_a_notice_leaves_it_on_the_page_without_content(publisher, live_feed, published):
    services.correct_entry(entry=published, by=publisher, note="Turn 4.", body="Debris in Turn 4")
    services.delete_entry(entry=published, by=publisher, removal_notice=True)
    tombstone = Entry.objects.get(pk=published.pk)
    assert tombstone.removal_notice and tombstone.corrections == [] and tombstone.details == {}
    [message] = selectors.changes_after(feed=live_feed, after=tombstone.seq - 1)
    assert message["type"] == "entry.deleted"
    assert message["entry"] == {"id": published.pk, "removal_notice": True}
    html = Client().get(live_feed.get_absolute_url()).content.decode()
    assert "This update was removed." in html and "Debris" not in html
    [listed] = Client().get(f"/api/feeds/{live_feed.slug}/").json()["entries"]
    assert listed["removed"] is True and listed["html"] == listed["headline"] == ""
    assert listed["corrections"] == []


def test_deletion_without_a_notice_simply_disappears(publisher, live_feed, published):
    services.delete_entry(entry=published, by=publisher)
    assert "This update was removed." not in Client().get(live_feed.get_absolute_url()).content.decode()
    assert Client().get(f"/api/feeds/{live_feed.slug}/").json()["entries"] == []


def test_a_draft_deleted_with_a_notice_leaves_nothing_for_readers(publisher, live_feed, published):
    services.update_entry(entry=published, by=publisher, status="draft")
    services.delete_entry(entry=published, by=publisher, removal_notice=True)
    assert not Entry.objects.on_readers_page().exists()
    assert "removal_notice" not in str(selectors.changes_after(feed=live_feed, after=0))


def test_syndication_leaves_removal_notices_out(publisher, live_feed, published):
    services.delete_entry(entry=published, by=publisher, removal_notice=True)
    assert feedparser.parse(Client().get(f"/feeds/{live_feed.slug}/atom/").content).entries == []


def test_api_delete_asks_for_a_notice_with_a_strict_boolean(publisher, live_feed, published):
    client = Client(headers={"Authorization": f"Bearer {publisher.token}"})
    url = f"/api/feeds/{live_feed.slug}/entries/{published.pk}/"
    assert client.delete(f"{url}?removal_notice=yes").status_code == 400
    assert not Entry.objects.get(pk=published.pk).is_tombstone
    assert client.delete(f"{url}?removal_notice=true").status_code == 204
    assert Entry.objects.get(pk=published.pk).removal_notice


# --- Desk and admin ----------------------------------------------------------------------------


def test_desk_edit_with_a_note_is_a_correction(make_member, live_feed, published):
    client = Client()
    client.force_login(make_member("Editor", "eve"))
    url = reverse("admin:feeds_desk_entry", args=[live_feed.pk, published.pk])
    answer = client.post(
        url,
        {"kind": "text", "headline": "Caution", "body": "Debris in Turn 4", "correction_note": "Turn 4."},
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["entry"]["corrections"][0]["note"] == "Turn 4."
    history = client.get(reverse("admin:feeds_desk_entry_history", args=[live_feed.pk, published.pk])).json()
    assert history["versions"][0]["reason"] == "Correction: Turn 4."


def test_desk_delete_can_leave_a_notice(make_member, live_feed, published):
    client = Client()
    client.force_login(make_member("Editor", "eve"))
    url = reverse("admin:feeds_desk_entry_delete", args=[live_feed.pk, published.pk])
    assert client.post(url, {"removal_notice": "1"}).status_code == 200
    assert Entry.objects.get(pk=published.pk).removal_notice


def test_admin_saves_an_edit_with_a_note_as_a_correction(publisher, published):
    client = Client()
    client.force_login(publisher)
    response = client.post(
        reverse("admin:feeds_entry_change", args=[published.pk]),
        {
            "kind": "text",
            "headline": "Caution",
            "body": "Debris in Turn 4",
            "status": "published",
            "correction_note": "It was Turn 4.",
        },
    )
    assert response.status_code == 302
    assert Entry.objects.get(pk=published.pk).corrections[0]["note"] == "It was Turn 4."


def test_admin_action_deletes_leaving_a_notice(publisher, published):
    client = Client()
    client.force_login(publisher)
    client.post(
        reverse("admin:feeds_entry_changelist"),
        {"action": "delete_leaving_notice", "_selected_action": [published.pk]},
    )
    tombstone = Entry.objects.get(pk=published.pk)
    assert tombstone.is_tombstone and tombstone.removal_notice
