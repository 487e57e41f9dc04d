"""Two editors saving one entry: the second is told, nothing is lost; every change is kept and
can be restored."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from feeds import services
from feeds.models import Entry

pytestmark = pytest.mark.django_db


def test_a_save_based_on_an_old_version_is_refused_with_the_newer_entry(publisher, make_member, live_feed):
    colleague = make_member("Editor", "colleague")
    entry = services.create_entry(feed=live_feed, by=publisher, body="Leader pits")
    loaded = entry.version
    services.update_entry(
        entry=Entry.objects.get(pk=entry.pk),
        by=colleague,
        body="Leader pits, lap 50",
        expected_version=loaded,
    )
    with pytest.raises(services.StaleEdit) as conflict:
        services.update_entry(entry=entry, by=publisher, body="Leader pits from P1", expected_version=loaded)
    assert conflict.value.current.body == "Leader pits, lap 50"
    assert Entry.objects.get(pk=entry.pk).body == "Leader pits, lap 50"


def test_the_api_answers_409_with_the_current_entry(publisher, live_feed):
    entry = services.create_entry(feed=live_feed, by=publisher, body="v1")
    services.update_entry(entry=entry, by=publisher, body="v2")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {publisher.token}")
    response = client.patch(
        f"/api/feeds/{live_feed.slug}/entries/{entry.pk}/", {"body": "mine", "version": 1}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["current"]["body"] == "v2" and response.json()["current"]["version"] == 2
    assert "Someone else saved" in response.json()["detail"]


def test_every_change_is_kept_with_who_and_what(publisher, make_member, live_feed):
    colleague = make_member("Editor", "colleague")
    entry = services.create_entry(feed=live_feed, by=publisher, headline="Caution", body="Turn 3")
    services.update_entry(entry=entry, by=colleague, body="Turn 4")
    records = list(entry.history.order_by("history_id"))
    assert [(r.history_type, r.history_user.username, r.body) for r in records] == [
        ("+", "editor", "Turn 3"),
        ("~", "colleague", "Turn 4"),
    ]
    delta = records[1].diff_against(records[0], excluded_fields=["version"])
    assert [(c.field, c.old, c.new) for c in delta.changes] == [("body", "Turn 3", "Turn 4")]


def test_restoring_an_earlier_version_is_a_new_visible_change(publisher, live_feed):
    entry = services.create_entry(feed=live_feed, by=publisher, body="Right")
    services.update_entry(entry=entry, by=publisher, body="Wrong")
    first = entry.history.order_by("history_id").first()
    seq_before = entry.seq
    services.restore_entry_version(entry=entry, by=publisher, history_id=first.history_id)
    assert entry.body == "Right" and entry.html == "<p>Right</p>" and entry.seq == seq_before + 1
    assert entry.history.count() == 3


def test_restoring_an_image_entry_keeps_its_image(publisher, live_feed, settings, tmp_path):
    from tests.test_kinds import image_file

    settings.MEDIA_ROOT = tmp_path / "media"
    entry = services.create_entry(
        feed=live_feed,
        by=publisher,
        kind="image",
        body="First caption",
        details={"alt": "The grid"},
        image=image_file(size=(40, 30)),
    )
    services.update_entry(entry=entry, by=publisher, body="Second caption")
    first = entry.history.order_by("history_id").first()
    services.restore_entry_version(entry=entry, by=publisher, history_id=first.history_id)
    entry.refresh_from_db()
    assert entry.body == "First caption" and entry.image.name == first.image
    assert entry.details["src"] and "First caption" in entry.html
