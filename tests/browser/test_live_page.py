"""The live page in Debian's Chromium: changes appear without a reload, and nothing is missed."""

from __future__ import annotations

import httpx2 as httpx
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def api(server, publisher, path: str, method: str = "POST", **data) -> dict:
    response = httpx.request(
        method,
        f"{server.url}/api/feeds/{path}",
        json=data or None,
        headers={"Authorization": f"Bearer {publisher.token}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json() if response.content else {}


@pytest.fixture
def page(browser, start_daphne, live_feed):
    server = start_daphne()
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.url}/feeds/{live_feed.slug}/")
    expect(page.locator("[data-livefeed]")).to_have_attribute("data-connection", "live")
    page.evaluate("window.loadedOnce = true")
    page.server = server
    yield page
    context.close()


def test_new_entry_appears_without_reload(page, publisher, live_feed):
    entry = api(
        page.server,
        publisher,
        f"{live_feed.slug}/entries/",
        headline="Caution on lap 57",
        body="Debris, *Turn 3*",
    )
    article = page.locator(f'[data-entry-id="{entry["id"]}"]')
    expect(article.locator(".entry-headline")).to_have_text("Caution on lap 57")
    expect(article.locator(".entry-body em")).to_have_text("Turn 3")
    assert page.evaluate("window.loadedOnce") is True


def test_edits_apply_in_place_and_deletions_remove(page, publisher, live_feed):
    slug = live_feed.slug
    first = api(page.server, publisher, f"{slug}/entries/", headline="First", body="one")
    second = api(page.server, publisher, f"{slug}/entries/", headline="Second", body="two")
    expect(page.locator("[data-stream] .entry-headline")).to_have_text(["Second", "First"])
    api(page.server, publisher, f"{slug}/entries/{first['id']}/", method="PATCH", headline="First, corrected")
    api(page.server, publisher, f"{slug}/entries/{second['id']}/", method="DELETE")
    expect(page.locator("[data-stream] .entry-headline")).to_have_text(["First, corrected"])
    assert page.evaluate("window.loadedOnce") is True


def test_after_a_dropped_connection_the_page_resumes_without_missing_anything(page, publisher, live_feed):
    slug = live_feed.slug
    kept = api(page.server, publisher, f"{slug}/entries/", headline="Kept", body="-")
    gone = api(page.server, publisher, f"{slug}/entries/", headline="Gone", body="-")
    expect(page.locator("[data-stream] .entry-headline")).to_have_text(["Gone", "Kept"])
    # Drop the connection and hold off reconnecting while three changes happen.
    page.evaluate("window.livefeed.pause()")
    expect(page.locator("[data-livefeed]")).to_have_attribute("data-connection", "offline")
    api(page.server, publisher, f"{slug}/entries/", headline="Missed", body="-")
    api(page.server, publisher, f"{slug}/entries/{kept['id']}/", method="PATCH", headline="Kept, edited")
    api(page.server, publisher, f"{slug}/entries/{gone['id']}/", method="DELETE")
    page.evaluate("window.livefeed.resume()")
    expect(page.locator("[data-stream] .entry-headline")).to_have_text(["Missed", "Kept, edited"])
    assert page.evaluate("window.loadedOnce") is True


def test_page_reconnects_by_itself_after_the_socket_drops(page, publisher, live_feed):
    page.evaluate("window.livefeed.socket.close()")
    expect(page.locator("[data-livefeed]")).to_have_attribute("data-connection", "live", timeout=10_000)
    entry = api(page.server, publisher, f"{live_feed.slug}/entries/", headline="Back online", body="-")
    expect(page.locator(f'[data-entry-id="{entry["id"]}"]')).to_be_visible()


@pytest.mark.parametrize("path", ["/feeds/{slug}/", "/feeds/{slug}/embed/"], ids=["reader-page", "widget"])
def test_a_page_ahead_of_the_feed_reloads_its_state_on_reset_and_follows_on(
    browser, start_daphne, live_feed, publisher, path
):
    """A stale tab or a restored backup: the server answers feed.reset, and the page (and the
    widget, which runs the same script) reloads its entries instead of waiting in silence."""
    server = start_daphne()
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url + path.format(slug=live_feed.slug))
    root = page.locator("[data-livefeed]")
    expect(root).to_have_attribute("data-connection", "live")
    page.evaluate("window.loadedOnce = true")
    page.evaluate("window.livefeed.pause()")
    expect(root).to_have_attribute("data-connection", "offline")
    missed = api(server, publisher, f"{live_feed.slug}/entries/", headline="Posted while away", body="-")
    page.evaluate("window.livefeed.connection.lastSeq = 10000; window.livefeed.resume()")
    expect(page.locator(f'[data-entry-id="{missed["id"]}"]')).to_be_visible()
    live = api(server, publisher, f"{live_feed.slug}/entries/", headline="After the reset", body="-")
    expect(page.locator("[data-stream] .entry-headline")).to_have_text(
        ["After the reset", "Posted while away"]
    )
    assert page.evaluate("window.livefeed.lastSeq") == live["seq"]
    assert page.evaluate("window.loadedOnce") is True
    context.close()
