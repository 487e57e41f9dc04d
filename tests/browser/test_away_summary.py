""" "While you were away": a reader back after an absence (a background tab, a dropped connection)
gets the key events and race status changes missed, and the count of the rest. The absence is
simulated with the Page Visibility API and Playwright's clock, not waited for."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from feeds.models import Feed
from tests.browser.test_live_page import api
from tests.fixtures import accessibility

pytestmark = pytest.mark.django_db(transaction=True)

HIDE = """() => {
  Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
  document.dispatchEvent(new Event("visibilitychange"));
}"""
SHOW = """() => {
  Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


@pytest.fixture
def server(start_daphne):
    return start_daphne(LIVEFEED_AWAY_SUMMARY_AFTER="180")


@pytest.fixture
def context(browser):
    context = browser.new_context(locale="en-GB")
    yield context
    context.close()


def open_with_clock(context, url: str):
    page = context.new_page()
    page.clock.install()
    page.goto(url)
    expect(page.locator("[data-livefeed]")).to_have_attribute("data-connection", "live")
    return page


def applied_everything(page, slug: str) -> None:
    seq = Feed.objects.get(slug=slug).seq
    page.wait_for_function(f"() => window.livefeed.lastSeq >= {seq}")


def miss_a_stretch_of_the_race(server, publisher, slug: str, older: dict) -> dict:
    """While the reader is away: a key event, a flag change posted to the stream, two plain
    updates (one edited twice) and an edit to an entry the reader had already seen."""
    crash = api(
        server, publisher, f"{slug}/entries/", headline="Leader into the wall", body="-", key_event=True
    )
    api(server, publisher, f"{slug}/", method="PATCH", race={"flag": "yellow", "lap": 45}, announce=True)
    plain = api(server, publisher, f"{slug}/entries/", headline="Pit stops", body="-")
    api(server, publisher, f"{slug}/entries/", headline="Fuel only for the leaders", body="-")
    api(server, publisher, f"{slug}/entries/{plain['id']}/", method="PATCH", body="All four tyres")
    api(server, publisher, f"{slug}/entries/{plain['id']}/", method="PATCH", body="Four tyres and fuel")
    api(server, publisher, f"{slug}/entries/{older['id']}/", method="PATCH", body="Green, lap 1")
    return crash


def test_returning_to_a_background_tab_shows_what_was_missed(server, context, publisher, live_feed):
    slug = live_feed.slug
    older = api(server, publisher, f"{slug}/entries/", headline="Green flag", body="-")
    page = open_with_clock(context, f"{server.url}/feeds/{slug}/")
    page.evaluate(HIDE)
    crash = miss_a_stretch_of_the_race(server, publisher, slug, older)
    applied_everything(page, slug)
    page.clock.fast_forward("06:00")
    page.evaluate(SHOW)

    summary = page.locator("[data-away]")
    expect(summary.locator("h2")).to_have_text("While you were away")
    expect(summary.locator("li")).to_have_text(
        [
            "Race status: Caution · Lap 45",
            "Key event: Leader into the wall",
        ]
    )
    # Two new plain updates and one edit, whatever the number of saves: three, each counted once.
    expect(summary.locator("[data-away-others]")).to_have_text("And 3 other updates.")
    expect(page.locator("[data-announcer]")).to_have_text(
        "While you were away: 2 key moments and 3 other updates, summarized at the top."
    )
    assert accessibility.serious_violations(page) == []

    summary.get_by_role("link", name="Leader into the wall").click()
    target = page.locator(f"#entry-{crash['id']}")
    expect(target).to_be_focused()
    expect(target).to_be_in_viewport()
    summary.get_by_role("button", name="Dismiss").click()
    expect(page.locator("[data-away]")).to_have_count(0)


def test_a_short_absence_shows_no_summary(server, context, publisher, live_feed):
    slug = live_feed.slug
    older = api(server, publisher, f"{slug}/entries/", headline="Green flag", body="-")
    page = open_with_clock(context, f"{server.url}/feeds/{slug}/")
    page.evaluate(HIDE)
    miss_a_stretch_of_the_race(server, publisher, slug, older)
    applied_everything(page, slug)
    page.clock.fast_forward("01:00")
    page.evaluate(SHOW)
    # Back in a minute: the page is as it was, updates behind "new updates", no summary.
    expect(page.locator("[data-new-updates]")).to_have_text("4 new updates")
    expect(page.locator("[data-away]")).to_have_count(0)


def test_resuming_after_a_dropped_connection_shows_what_was_missed(server, context, publisher, live_feed):
    slug = live_feed.slug
    older = api(server, publisher, f"{slug}/entries/", headline="Green flag", body="-")
    page = open_with_clock(context, f"{server.url}/feeds/{slug}/")
    page.evaluate("window.livefeed.pause()")
    expect(page.locator("[data-livefeed]")).to_have_attribute("data-connection", "offline")
    miss_a_stretch_of_the_race(server, publisher, slug, older)
    page.clock.fast_forward("10:00")
    page.evaluate("window.livefeed.resume()")
    summary = page.locator("[data-away]")
    expect(summary.locator("li")).to_have_text(
        ["Race status: Caution · Lap 45", "Key event: Leader into the wall"]
    )
    expect(summary.locator("[data-away-others]")).to_have_text("And 3 other updates.")


def test_the_widget_shows_the_summary_too(server, context, publisher, live_feed):
    slug = live_feed.slug
    older = api(server, publisher, f"{slug}/entries/", headline="Green flag", body="-")
    page = open_with_clock(context, f"{server.url}/feeds/{slug}/embed/")
    page.evaluate(HIDE)
    miss_a_stretch_of_the_race(server, publisher, slug, older)
    applied_everything(page, slug)
    page.clock.fast_forward("04:00")
    page.evaluate(SHOW)
    summary = page.locator("[data-away]")
    expect(summary.locator("li")).to_have_text(
        ["Race status: Caution · Lap 45", "Key event: Leader into the wall"]
    )
    expect(summary.locator("[data-away-others]")).to_have_text("And 3 other updates.")


def test_a_flag_change_not_posted_to_the_stream_is_told_from_the_race_status(
    server, context, publisher, live_feed
):
    slug = live_feed.slug
    api(server, publisher, f"{slug}/", method="PATCH", race={"flag": "green", "lap": 40})
    page = open_with_clock(context, f"{server.url}/feeds/{slug}/")
    page.evaluate(HIDE)
    api(server, publisher, f"{slug}/", method="PATCH", race={"flag": "red", "lap": 44})
    api(server, publisher, f"{slug}/entries/", headline="Cars stopped on pit road", body="-")
    applied_everything(page, slug)
    page.clock.fast_forward("05:00")
    page.evaluate(SHOW)
    summary = page.locator("[data-away]")
    expect(summary.locator("li")).to_have_text(["Race status now: Red flag · Lap 44"])
    expect(summary.locator("[data-away-others]")).to_have_text("And 1 other update.")
