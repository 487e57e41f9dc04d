"""The feed's time zone: where the event takes place, shown by name on the page without script."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from feeds import services

pytestmark = pytest.mark.django_db


def test_page_without_script_shows_times_in_the_feeds_named_time_zone(publisher, live_feed):
    feed = services.update_feed(feed=live_feed, by=publisher, time_zone="America/New_York")
    entry = services.create_entry(feed=feed, by=publisher, headline="Green flag", body="-")
    html = Client().get(feed.get_absolute_url()).content.decode()
    local = entry.published_at.astimezone(ZoneInfo("America/New_York"))
    assert "Times are the event's local time: America/New_York (EST)." in html
    assert f">{local:%H:%M}</time>" in html
    assert 'data-time-zone="America/New_York"' in html


def test_widget_names_the_feeds_time_zone(publisher, live_feed):
    services.update_feed(feed=live_feed, by=publisher, time_zone="Europe/Paris")
    html = Client().get(f"/feeds/{live_feed.slug}/embed/").content.decode()
    assert "Times are the event's local time: Europe/Paris (CET)." in html


def test_new_feed_takes_the_sites_time_zone(publisher, settings):
    settings.TIME_ZONE = "Europe/Madrid"
    feed = services.create_feed(by=publisher, title="Qualifying")
    assert feed.time_zone == "Europe/Madrid"


def test_unknown_time_zone_is_refused_naming_the_field(publisher, live_feed):
    with pytest.raises(ValidationError) as refused:
        services.update_feed(feed=live_feed, by=publisher, time_zone="Mars/Olympus_Mons")
    assert "time_zone" in refused.value.message_dict


def test_feed_payload_carries_its_time_zone(live_feed):
    feed = Client().get(f"/api/feeds/{live_feed.slug}/").json()["feed"]
    assert feed["time_zone"] == live_feed.time_zone


def test_the_api_sets_a_feeds_time_zone(publisher, live_feed):
    client = Client(headers={"Authorization": f"Bearer {publisher.token}"})
    created = client.post(
        "/api/feeds/", {"title": "Qualifying", "time_zone": "Europe/Paris"}, content_type="application/json"
    )
    assert created.status_code == 201 and created.json()["time_zone"] == "Europe/Paris"
    changed = client.patch(
        f"/api/feeds/{live_feed.slug}/", {"time_zone": "Asia/Tokyo"}, content_type="application/json"
    )
    assert changed.status_code == 200 and changed.json()["time_zone"] == "Asia/Tokyo"
    refused = client.patch(
        f"/api/feeds/{live_feed.slug}/", {"time_zone": "Mars/Olympus"}, content_type="application/json"
    )
    assert refused.status_code == 400 and "time_zone" in refused.json()
