"""axe-core over every page Livefeed draws, at phone (390 px) and desktop (1366 px) widths, in light
and dark themes: no serious or critical violation. (The reader's live page has its own check in
test_reader_page.)"""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import expect

from feeds import services
from tests.fixtures.accessibility import DESKTOP, PHONE, serious_violations

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def race_feed(publisher, live_feed):
    """A feed with pre-race notes, a pinned entry, key events, a draft and a race status."""
    for lap in range(14):
        services.create_entry(
            feed=live_feed, by=publisher, headline=f"Lap {lap}", body="Green flag *racing*."
        )
    services.create_entry(feed=live_feed, by=publisher, headline="Lights out", body="-", key_event=True)
    services.create_entry(
        feed=live_feed, by=publisher, headline="Welcome", body="Read this first.", pinned=True
    )
    services.create_entry(feed=live_feed, by=publisher, headline="Not yet", body="-", status="draft")
    return services.update_race_status(
        feed=live_feed,
        by=publisher,
        changes={"flag": "yellow", "lap": 45, "laps_total": 200, "leader": "Reyes"},
    )


def logged_in(context, server, user) -> None:
    client = Client()
    client.force_login(user)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": server.url}]
    )


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_desk_and_admin_pages_have_no_serious_accessibility_violations(
    browser, start_daphne, make_member, race_feed, viewport, scheme
):
    server = start_daphne()
    context = browser.new_context(viewport=viewport, color_scheme=scheme)
    logged_in(context, server, make_member("superuser", "sam"))
    try:
        page = context.new_page()
        found = []
        page.goto(f"{server.url}/admin/feeds/feed/{race_feed.pk}/desk/")
        expect(page.locator("[data-desk]")).to_have_attribute("data-connection", "live")
        expect(page.locator(".desk-entry").first).to_be_visible()
        found += serious_violations(page)
        page.goto(f"{server.url}/admin/feeds/feed/{race_feed.pk}/change/")
        found += serious_violations(page)
        page.goto(f"{server.url}/admin/")
        found += serious_violations(page)
        # Every list Livefeed adds to the admin (Django's own users and groups aside); the delivery
        # log in every width and theme, the rest (plain ModelAdmin lists) once per width and theme.
        lists = page.locator("#content-main .module:not(.app-auth) th[scope=row] a").evaluate_all(
            "links => links.map(link => link.href)"
        )
        assert any(url.endswith("/webhookdelivery/") for url in lists)
        every_list = (viewport is PHONE) == (scheme == "dark")
        for url in lists if every_list else [url for url in lists if url.endswith("/webhookdelivery/")]:
            page.goto(url)
            expect(page.locator("#changelist")).to_be_visible()
            found += serious_violations(page)
        assert not found, "\n".join(found)
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_widget_permalink_and_script_free_pages_have_no_serious_accessibility_violations(
    browser, start_daphne, race_feed, viewport, scheme
):
    server = start_daphne(LIVEFEED_PAGE_SIZE="6")
    context = browser.new_context(viewport=viewport, color_scheme=scheme)
    # The page as a browser without script gets it: the page's own scripts never load (axe still runs).
    script_free = browser.new_context(viewport=viewport, color_scheme=scheme)
    script_free.route(
        "**/*", lambda route: route.abort() if route.request.resource_type == "script" else route.continue_()
    )
    try:
        page = context.new_page()
        found = []
        for order in ("newest", "oldest"):
            page.goto(f"{server.url}/feeds/{race_feed.slug}/embed/?theme={scheme}&order={order}")
            expect(page.locator("[data-livefeed]")).to_have_attribute("data-connection", "live")
            found += serious_violations(page)
        entry = race_feed.entries.get(headline="Lap 3")
        page.goto(f"{server.url}/feeds/{race_feed.slug}/entries/{entry.pk}/")
        expect(page.locator(f"#entry-{entry.pk}")).to_be_focused()
        found += serious_violations(page)
        plain = script_free.new_page()
        for order in ("newest", "oldest"):
            plain.goto(f"{server.url}/feeds/{race_feed.slug}/?order={order}")
            found += serious_violations(plain)
            first_page = plain.url
            plain.locator("[data-pager] a[rel=next]").click()
            # Judged once loaded: mid-load, before the stylesheet applies, the skip link shows
            # in the browser's own dark colours (it failed that way once under load).
            expect(plain).not_to_have_url(first_page)
            plain.wait_for_load_state("load")
            found += serious_violations(plain)
        assert not found, "\n".join(found)
    finally:
        script_free.close()
        context.close()
