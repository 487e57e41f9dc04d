"""Two widgets embedded with the loader on a page of another origin, updating live and growing."""

from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import expect

from feeds import services
from tests.fixtures.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def other_site(tmp_path: Path):
    """A plain static site on another port of localhost: another origin than Livefeed's."""
    port = free_port()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://localhost:{port}"
    server.shutdown()


def test_entry_appears_in_the_right_widget_which_grows_to_fit(
    browser, start_daphne, other_site, publisher, live_feed
):
    other = services.create_feed(by=publisher, title="Truck practice", slug="truck-practice", status="live")
    server = start_daphne()
    folder, origin = other_site
    (folder / "index.html").write_text(
        f"""<!doctype html><title>Race fans</title><h1>Race fans forum</h1>
        <div data-livefeed="{server.url}/feeds/{live_feed.slug}/" data-height="150"></div>
        <div data-livefeed="{server.url}/feeds/{other.slug}/" data-theme="dark"></div>
        <script async src="{server.url}/embed.js"></script>"""
    )
    page = browser.new_page()
    page.goto(f"{origin}/index.html")
    frames = page.locator("iframe")
    expect(frames).to_have_count(2)
    first, second = page.frame_locator("iframe").nth(0), page.frame_locator("iframe").nth(1)
    for frame in (first, second):
        expect(frame.locator("[data-livefeed]")).to_have_attribute("data-connection", "live")
    page.wait_for_function("() => document.querySelectorAll('iframe')[0].style.height !== '150px'")
    before = frames.nth(0).bounding_box()["height"]

    for lap in range(3):
        httpx.post(
            f"{server.url}/api/feeds/{live_feed.slug}/entries/",
            json={"headline": f"Lap {lap} report", "body": "Green flag racing.\n\nStill green."},
            headers={"Authorization": f"Bearer {publisher.token}"},
            timeout=10,
        ).raise_for_status()

    expect(first.locator(".entry-headline")).to_have_text(["Lap 2 report", "Lap 1 report", "Lap 0 report"])
    expect(second.locator(".entry-headline")).to_have_count(0)
    page.wait_for_function(
        f"() => document.querySelectorAll('iframe')[0].getBoundingClientRect().height > {before + 50}"
    )
    inner = first.locator("body").evaluate("body => document.documentElement.getBoundingClientRect().height")
    assert abs(frames.nth(0).bounding_box()["height"] - inner) <= 2

    # The race status bar follows the feed live, as on the live page, and links go to Livefeed.
    httpx.patch(
        f"{server.url}/api/feeds/{live_feed.slug}/",
        json={"race": {"flag": "green", "lap": 12}},
        headers={"Authorization": f"Bearer {publisher.token}"},
        timeout=10,
    ).raise_for_status()
    expect(first.locator("[data-race-status]")).to_contain_text("Lap 12")
    expect(second.locator("[data-race-status]")).to_be_hidden()
    permalink = first.locator("[data-permalink]").first
    expect(permalink).to_have_attribute("href", re.compile(rf"/feeds/{live_feed.slug}/entries/\d+/$"))
    page.close()
