"""Race status: validated, rendered once, pushed to readers as `feed.updated`."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework.test import APIClient

from feeds import selectors, services
from feeds.models import Entry, Feed
from livefeed.asgi import application


def _api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {user.token}")
    return client


@pytest.mark.django_db
def test_race_status_is_rendered_into_the_feed_and_its_payload(publisher, live_feed):
    before = live_feed.seq
    services.update_race_status(
        feed=live_feed,
        by=publisher,
        changes={
            "series": "Truck Series",
            "session": "race",
            "flag": "yellow",
            "lap": 45,
            "laps_total": 200,
            "leader": "No. 75 Reyes",
            "cautions": 3,
            "running_order": ["Reyes", "Okafor"],
        },
    )
    feed = Feed.objects.get(pk=live_feed.pk)
    assert feed.race["flag"] == "yellow"
    assert 'class="race-flag flag-yellow"' in feed.race_html and "Lap 45 of 200" in feed.race_html
    assert "<li>Reyes</li><li>Okafor</li>" in feed.race_html
    message = selectors.changes_after(feed=feed, after=before)[-1]
    assert message["type"] == "feed.updated"
    assert message["feed_data"]["race"]["lap"] == 45 and message["feed_data"]["race_html"] == feed.race_html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"flag": "purple"}, "flag"),
        ({"lap": "ten"}, "lap"),
        ({"lap": 5, "laps_total": 3}, "lap"),
        ({"session": "warmup"}, "session"),
        ({"pit_road": "open"}, "pit_road"),
        ({"running_order": ["a"] * 11}, "running_order"),
    ],
)
def test_bad_race_status_is_refused_naming_the_field(publisher, live_feed, changes, field):
    with pytest.raises(ValidationError) as error:
        services.update_race_status(feed=live_feed, by=publisher, changes=changes)
    assert field in error.value.message_dict
    assert Feed.objects.get(pk=live_feed.pk).race == {}


@pytest.mark.django_db
def test_a_flag_change_can_post_a_race_status_entry(publisher, live_feed):
    services.update_race_status(
        feed=live_feed, by=publisher, changes={"flag": "green", "lap": 1, "laps_total": 200}
    )
    services.update_race_status(
        feed=live_feed, by=publisher, changes={"flag": "red", "lap": 88}, announce=True
    )
    services.update_race_status(feed=live_feed, by=publisher, changes={"lap": 89}, announce=True)
    entry = Entry.objects.get()
    assert entry.kind == "race_status" and entry.is_visible_to_readers and entry.key_event
    assert "Red flag" in entry.html and "Lap 88 of 200" in entry.html
    assert entry.details["flag"] == "red"


@pytest.mark.django_db
def test_contributors_cannot_change_the_race_status(make_member, live_feed):
    contributor = make_member("Contributor", "casey")
    with pytest.raises(PermissionDenied):
        services.update_race_status(feed=live_feed, by=contributor, changes={"flag": "green"})
    response = _api(contributor).patch(
        f"/api/feeds/{live_feed.slug}/", {"race": {"flag": "green"}}, format="json"
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_an_integration_sets_the_race_status_through_the_api(publisher, live_feed):
    response = _api(publisher).patch(
        f"/api/feeds/{live_feed.slug}/",
        {"race": {"flag": "white", "lap": 199, "laps_total": 200}},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["race"] == {"flag": "white", "lap": 199, "laps_total": 200}
    bad = _api(publisher).patch(f"/api/feeds/{live_feed.slug}/", {"race": {"flag": "blue"}}, format="json")
    assert bad.status_code == 400 and "flag" in bad.json()


@pytest.mark.django_db
def test_the_reader_page_shows_the_race_status_bar(client, publisher, live_feed):
    services.update_race_status(feed=live_feed, by=publisher, changes={"flag": "green", "lap": 12})
    html = client.get(live_feed.get_absolute_url()).content.decode()
    assert "data-race-status" in html and "Green flag" in html and "Lap 12" in html


@pytest.mark.django_db(transaction=True)
async def test_race_status_change_is_pushed_to_readers(publisher, live_feed):
    communicator = WebsocketCommunicator(application, f"/ws/feeds/{live_feed.slug}/?after={live_feed.seq}")
    assert (await communicator.connect())[0]
    await database_sync_to_async(services.update_race_status)(
        feed=live_feed, by=publisher, changes={"flag": "yellow"}
    )
    message = json.loads(await communicator.receive_from(timeout=10))
    assert message["type"] == "feed.updated" and message["feed_data"]["race"] == {"flag": "yellow"}
    assert "Caution" in message["feed_data"]["race_html"]
    await communicator.disconnect()
