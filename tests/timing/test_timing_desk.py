"""A timing source's health shows on the desk (live, over the desk's socket) and in the admin;
Editors link feeds to sources in the admin, and saving one starts its polling."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client, override_settings
from django_tasks_db.models import DBTaskResult

from feeds.timing import ingest
from feeds.timing.models import TimingSource
from tests.test_desk_consumer import next_message, open_desk, session_cookie


@pytest.fixture
def source(live_feed, publisher) -> TimingSource:
    return TimingSource.objects.create(feed=live_feed, author=publisher)


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_desk_shows_the_sources_health_last_error_and_last_good_update(publisher, live_feed, source):
    desk_url = f"/admin/feeds/feed/{live_feed.pk}/desk/"
    ingest.ingest(source=source, payload={"flag": "green", "lap": 4})
    page = logged_in(publisher).get(desk_url).content.decode()
    assert 'data-healthy="true"' in page and "Healthy" in page and "data-timing-ok" in page
    ingest.ingest(source=source, payload=b"<html>502 Bad Gateway</html>")
    page = logged_in(publisher).get(desk_url).content.decode()
    assert 'data-healthy="false"' in page and "<strong data-timing-state>Unhealthy</strong>" in page
    assert "malformed data: body: not valid JSON" in page
    assert "timing-health.js" in page


@pytest.mark.django_db
def test_a_desk_without_a_timing_source_has_no_timing_panel(publisher, live_feed):
    page = logged_in(publisher).get(f"/admin/feeds/feed/{live_feed.pk}/desk/").content.decode()
    assert "data-timing-health" not in page


@pytest.mark.django_db(transaction=True)
async def test_the_desk_hears_when_the_source_turns_unhealthy_and_recovers(publisher, live_feed):
    source = await database_sync_to_async(TimingSource.objects.create)(feed=live_feed, author=publisher)
    desk, connected, _ = await open_desk(
        live_feed.slug, cookie=await database_sync_to_async(session_cookie)(publisher)
    )
    assert connected
    await database_sync_to_async(ingest.ingest)(source=source, payload={"flag": "green"})
    message = await next_message(desk, "timing.health")
    assert 'data-healthy="false"' in message["html"] and "lap: missing" in message["html"]
    await database_sync_to_async(ingest.ingest)(source=source, payload={"flag": "green", "lap": 2})
    message = await next_message(desk, "timing.health")
    assert 'data-healthy="true"' in message["html"]
    await desk.disconnect()


@pytest.mark.django_db
def test_the_admin_lists_each_sources_health(make_member, live_feed, source):
    ingest.ingest(source=source, payload={"flag": "green", "lap": "x"})
    page = logged_in(make_member("Editor", "eve")).get("/admin/timing/timingsource/").content.decode()
    assert "Unhealthy: malformed data: lap: must be a whole number" in page


@pytest.mark.django_db
def test_an_editor_links_a_feed_in_the_admin_and_polling_starts(make_member, live_feed):
    editor = make_member("Editor", "eve")
    with override_settings(LIVEFEED={**settings.LIVEFEED, "OUTBOUND_ALLOW_PRIVATE": True}):
        response = logged_in(editor).post(
            "/admin/timing/timingsource/add/",
            {
                "feed": live_feed.pk,
                "format": "nascar",
                "url": "http://127.0.0.1:9/live_feed.json",
                "enabled": "on",
                "author": editor.pk,
                "interval_seconds": 5,
                "max_backoff_seconds": 60,
                "stale_after_seconds": 120,
                "post_flag_changes": "published",
                "post_lead_changes": "off",
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    source = TimingSource.objects.get(feed=live_feed)
    [task] = DBTaskResult.objects.all()
    assert task.args_kwargs["kwargs"] == {"source_id": source.pk, "generation": source.generation}


@pytest.mark.django_db
def test_the_admin_refuses_an_author_who_may_not_publish_what_the_source_posts(make_member, live_feed):
    editor, contributor = make_member("Editor", "eve"), make_member("Contributor", "casey")
    response = logged_in(editor).post(
        "/admin/timing/timingsource/add/",
        {
            "feed": live_feed.pk,
            "format": "livefeed",
            "url": "",
            "enabled": "on",
            "author": contributor.pk,
            "interval_seconds": 5,
            "max_backoff_seconds": 60,
            "stale_after_seconds": 120,
            "post_flag_changes": "published",
            "post_lead_changes": "off",
        },
    )
    assert response.status_code == 200 and "Choose an Editor" in response.content.decode()
    assert not TimingSource.objects.exists()
