"""Oldest first: the whole story from its first entry, paged forward, kept live (arrivals join at
the end), in the URL, in the widget and without script; and what screen-reader and keyboard users
get from the live parts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from feeds import services
from tests.browser.test_live_page import api
from tests.browser.test_widget import other_site  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def server(start_daphne):
    return start_daphne(LIVEFEED_PAGE_SIZE="10")


@pytest.fixture
def story(publisher, live_feed):
    """A pinned welcome note before the race, then 25 laps; the green flag is a key event."""
    services.create_entry(
        feed=live_feed, by=publisher, headline="Welcome", body="Read this first.", pinned=True
    )
    for lap in range(25):
        services.create_entry(
            feed=live_feed, by=publisher, headline=f"Lap {lap}", body="-", key_event=lap in (0, 20)
        )
    return live_feed


def headlines(page, where: str = "[data-stream]"):
    return page.locator(f"{where} .entry-headline")


def laps(first: int, last: int) -> list[str]:
    return [f"Lap {lap}" for lap in range(first, last + 1)]


def test_oldest_first_starts_at_the_first_entry_pages_forward_and_joins_arrivals_at_the_end(
    server, browser, publisher, story
):
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/feeds/{story.slug}/")
        page.get_by_role("link", name="Show oldest first").click()
        root = page.locator("[data-livefeed]")
        expect(root).to_have_attribute("data-connection", "live")
        assert "order=oldest" in page.url
        # The choice is in the URL: a reload (or the link, shared) opens the same story.
        page.reload()
        expect(root).to_have_attribute("data-connection", "live")
        expect(headlines(page, "[data-pinned]")).to_have_text(["Welcome"])
        expect(headlines(page)).to_have_text(laps(0, 8))
        expect(page.locator("[data-key-list] li")).to_have_text([re.compile("Lap 0"), re.compile("Lap 20")])
        # An arrival past the pages still to load waits there for the reader, in order.
        early = api(server, publisher, f"{story.slug}/entries/", headline="Lap 25", body="-")
        page.wait_for_function(f"() => window.livefeed.lastSeq === {early['seq']}")
        expect(page.locator(f'[data-entry-id="{early["id"]}"]')).to_have_count(0)
        expect(page.locator("[data-new-updates]")).to_be_hidden()
        # Scrolling near the "Load newer" button loads the next page, as "Load older" does newest first.
        page.get_by_role("button", name="Load newer").scroll_into_view_if_needed()
        expect(headlines(page)).to_have_count(19)
        page.locator("[data-stream] [data-entry-id]").last.scroll_into_view_if_needed()
        expect(headlines(page)).to_have_text(laps(0, 25))
        expect(page.get_by_role("button", name="Load newer")).to_have_count(0)

        # A reader at the end of the story sees an arrival join it there.
        page.evaluate("scrollTo({top: document.documentElement.scrollHeight})")
        api(server, publisher, f"{story.slug}/entries/", headline="Lap 26", body="-")
        expect(headlines(page).last).to_have_text("Lap 26")
        # Read back up the story: the next arrival waits behind a prompt at the bottom.
        page.evaluate("scrollTo({top: 0})")
        arrival = api(server, publisher, f"{story.slug}/entries/", headline="Lap 27", body="-")
        button = page.get_by_role("button", name="1 new update")
        expect(button).to_be_visible()
        assert button.bounding_box()["y"] > PHONE["height"] / 2
        expect(page.locator(f'[data-entry-id="{arrival["id"]}"]')).to_have_count(0)
        assert page.evaluate("scrollY") == 0
        button.click()
        expect(headlines(page)).to_have_text(laps(0, 27))
        expect(page.locator(f'[data-entry-id="{arrival["id"]}"]')).to_be_focused()

        # A permalink opens in the reader's order: two entries before it, the story on after it.
        target = story.entries.get(headline="Lap 15")
        page.goto(f"{server.url}/feeds/{story.slug}/entries/{target.pk}/")
        expect(root).to_have_attribute("data-order", "oldest")
        expect(page.locator(f"#entry-{target.pk}")).to_be_focused()
        expect(headlines(page).first).to_have_text("Lap 13")
        expect(page.get_by_role("link", name="Earlier entries: back to the start")).to_be_visible()
        page.get_by_role("link", name="Show newest first").click()
        expect(root).to_have_attribute("data-order", "newest")
        expect(headlines(page).first).to_have_text("Lap 17")
    finally:
        context.close()


def test_widget_tells_the_story_oldest_first_and_stays_live(server, browser, publisher, story, other_site):  # noqa: F811
    folder, origin = other_site
    (folder / "index.html").write_text(
        f"""<!doctype html><title>Race fans</title>
        <div data-livefeed="{server.url}/feeds/{story.slug}/" data-order="oldest" data-entries="10"></div>
        <script async src="{server.url}/embed.js"></script>"""
    )
    page = browser.new_page()
    try:
        page.goto(f"{origin}/index.html")
        widget = page.frame_locator("iframe")
        expect(widget.locator("[data-livefeed]")).to_have_attribute("data-connection", "live")
        expect(headlines(widget, "[data-pinned]")).to_have_text(["Welcome"])
        expect(headlines(widget)).to_have_text(laps(0, 8))
        more = widget.get_by_role("button", name="Load newer")
        more.click()
        expect(headlines(widget)).to_have_count(19)
        more.click()
        expect(headlines(widget)).to_have_text(laps(0, 24))
        expect(more).to_have_count(0)
        api(server, publisher, f"{story.slug}/entries/", headline="Lap 25", body="-")
        expect(headlines(widget).last).to_have_text("Lap 25")
    finally:
        page.close()


def test_oldest_first_without_javascript_pages_forward_through_the_whole_story(server, browser, story):
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/feeds/{story.slug}/")
        page.get_by_role("link", name="Show oldest first").click()
        expect(headlines(page, "[data-pinned]")).to_have_text(["Welcome"])
        seen = headlines(page).all_text_contents()
        pages = 1
        while page.get_by_role("link", name="Newer entries", exact=True).count():
            page.get_by_role("link", name="Newer entries", exact=True).click()
            expect(page.get_by_role("link", name="Earlier entries: back to the start")).to_be_visible()
            seen += headlines(page).all_text_contents()
            pages += 1
        assert pages == 3
        assert seen == laps(0, 24)
    finally:
        context.close()


def test_screen_readers_hear_arrivals_and_flag_changes_once_and_keep_their_place(
    server, browser, publisher, story
):
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/feeds/{story.slug}/")
        expect(page.locator("[data-livefeed]")).to_have_attribute("data-connection", "live")
        region = page.get_by_role("status").and_(page.locator("[data-announcer]"))
        expect(region).to_have_attribute("aria-live", "polite")
        # The status bar changes every lap; only its flag changes are announced, through the region.
        expect(page.locator("[data-race-status]")).not_to_have_attribute("aria-live", re.compile("."))

        arrival = api(server, publisher, f"{story.slug}/entries/", headline="Green flag", body="-")
        expect(headlines(page).first).to_have_text("Green flag")
        expect(region).to_have_text("New update: Green flag")
        edited = api(
            server,
            publisher,
            f"{story.slug}/entries/{arrival['id']}/",
            method="PATCH",
            headline="Green, green",
        )
        page.wait_for_function(f"() => window.livefeed.lastSeq === {edited['seq']}")
        expect(headlines(page).first).to_have_text("Green, green")
        expect(region).to_have_text("New update: Green flag")

        def race(**changes) -> None:
            feed = api(server, publisher, f"{story.slug}/", method="PATCH", race=changes)
            page.wait_for_function(f"() => window.livefeed.feedSeq === {feed['seq']}")

        race(flag="yellow", lap=12, laps_total=200)
        expect(region).to_have_text("Race status: Caution · Lap 12 of 200")
        race(lap=13)
        expect(page.locator("[data-race-status]")).to_contain_text("Lap 13")
        expect(region).to_have_text("Race status: Caution · Lap 12 of 200")
        race(flag="green", lap=14)
        expect(region).to_have_text("Race status: Green flag · Lap 14 of 200")

        # A keyboard user inside the stream keeps their place: arrivals wait behind the labelled
        # button, an edit of the entry they are on keeps the focus on the same control.
        link = page.locator("[data-stream] [data-entry-id]").nth(2).locator("[data-permalink]")
        link.focus()
        entry_id = page.locator("[data-stream] [data-entry-id]").nth(2).get_attribute("data-entry-id")
        held = api(server, publisher, f"{story.slug}/entries/", headline="Pit stop", body="-")
        button = page.get_by_role("button", name="1 new update")
        expect(button).to_be_visible()
        expect(region).to_have_text("1 new update")
        expect(page.locator(f'[data-entry-id="{held["id"]}"]')).to_have_count(0)
        expect(link).to_be_focused()
        api(
            server,
            publisher,
            f"{story.slug}/entries/{entry_id}/",
            method="PATCH",
            headline="Edited while focused",
        )
        expect(page.locator(f'[data-entry-id="{entry_id}"] .entry-headline')).to_have_text(
            "Edited while focused"
        )
        expect(page.locator(f'[data-entry-id="{entry_id}"] [data-permalink]')).to_be_focused()
        button.focus()
        page.keyboard.press("Enter")
        expect(page.locator(f'[data-entry-id="{held["id"]}"]')).to_be_focused()
        expect(region).to_have_text("New update: Pit stop")
    finally:
        context.close()
