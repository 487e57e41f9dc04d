"""Every reader's time: the same moment read right in two browser time zones, with the event's
local time on hover and in the permalink."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from feeds import services

pytestmark = pytest.mark.django_db(transaction=True)

TRACK = "America/New_York"


def clock(moment) -> str:
    """The clock time as the page's language writes it: 17:36, or 05:36 PM in English."""
    return f"(?:{moment:%H:%M}|{moment:%I:%M %p})"


@pytest.fixture
def feed_at_the_track(live_feed, publisher):
    return services.update_feed(feed=live_feed, by=publisher, time_zone=TRACK)


@pytest.mark.parametrize("reader_zone", ["Europe/Paris", "Asia/Tokyo"])
def test_entry_times_are_in_the_readers_zone_with_the_events_on_hover(
    browser, start_daphne, publisher, feed_at_the_track, reader_zone
):
    server = start_daphne()
    entry = services.create_entry(feed=feed_at_the_track, by=publisher, headline="Green flag", body="-")
    mine = clock(entry.published_at.astimezone(ZoneInfo(reader_zone)))
    there = clock(entry.published_at.astimezone(ZoneInfo(TRACK)))
    context = browser.new_context(locale="en-GB", timezone_id=reader_zone)
    page = context.new_page()
    page.goto(f"{server.url}/feeds/{feed_at_the_track.slug}/")
    expect(page.locator("[data-livefeed]")).to_have_attribute("data-connection", "live")

    time = page.locator(f'[data-entry-id="{entry.pk}"] .entry-meta time')
    expect(time).to_have_text(re.compile(rf"{mine} · just now$"))
    title = time.get_attribute("title")
    assert re.search(rf"At the event: .*{there} (EST|GMT-5) \({TRACK}\)$", title), title
    expect(page.locator("[data-time-zone-note]")).to_have_text(
        f"Times are in your time zone; hover over one for the event's local time ({TRACK})."
    )

    # The permalink names the event's local time, as the server rendered it.
    page.goto(f"{server.url}/feeds/{feed_at_the_track.slug}/entries/{entry.pk}/")
    local = page.locator(f'[data-entry-id="{entry.pk}"] .entry-event-time')
    expect(local).to_contain_text("At the event: ")
    expect(local).to_contain_text(re.compile(there))
    expect(local).to_contain_text(f"({TRACK})")
    context.close()
