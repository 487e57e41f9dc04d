"""The desk's audience chart in Debian's Chromium: it fills as readers connect, and shows each
published entry's reach."""

from __future__ import annotations

from contextlib import ExitStack

import httpx2 as httpx
import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect

from tests.browser.test_desk import open_desk

pytestmark = pytest.mark.django_db(transaction=True)


def test_desk_chart_fills_while_readers_connect(browser, start_daphne, make_member, live_feed):
    server = start_daphne(LIVEFEED_AUDIENCE_SAMPLE_SECONDS="1")
    editor = make_member("Editor", "eve")
    desk = open_desk(browser, server, editor, live_feed)
    chart = desk.locator("[data-audience-chart] svg")
    expect(chart).to_have_attribute("data-latest", "0")

    with ExitStack() as readers:
        for _ in range(3):
            readers.enter_context(connect(f"{server.ws_url}/ws/feeds/{live_feed.slug}/", open_timeout=10))
        expect(chart).to_have_attribute("data-latest", "3", timeout=15000)
        expect(desk.locator("[data-audience-current]")).to_have_text("3")
        expect(desk.locator("[data-audience-peak]")).to_have_text("3")
        assert int(chart.get_attribute("data-points")) >= 2
        assert desk.locator("[data-audience-chart] path.line").get_attribute("d").count("L") >= 1

        response = httpx.post(
            f"{server.url}/api/feeds/{live_feed.slug}/entries/",
            json={"headline": "Green flag", "body": "Racing."},
            headers={"Authorization": f"Bearer {editor.token}"},
            timeout=10,
        )
        assert response.status_code == 201
        row = desk.locator("[data-audience-entries] tr", has_text="Green flag")
        expect(row.locator("td").last).to_have_text("3", timeout=15000)
    expect(chart).to_have_attribute("data-latest", "0", timeout=15000)
    expect(desk.locator("[data-audience-peak]")).to_have_text("3")
