"""Corrections and removal notices reach an open reader page live, in Debian's Chromium."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from playwright.sync_api import expect

from tests.browser.test_live_page import api
from tests.browser.test_reader_times import clock
from tests.fixtures import accessibility

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reader(browser, start_daphne, live_feed):
    server = start_daphne()
    context = browser.new_context(locale="en-GB", timezone_id="Europe/London")
    page = context.new_page()
    page.goto(f"{server.url}/feeds/{live_feed.slug}/")
    expect(page.locator("[data-livefeed]")).to_have_attribute("data-connection", "live")
    page.evaluate("window.loadedOnce = true")
    page.server = server
    yield page
    context.close()


def test_correction_is_seen_live_with_its_note_and_earlier_wording(reader, publisher, live_feed):
    slug = live_feed.slug
    entry = api(reader.server, publisher, f"{slug}/entries/", headline="Caution", body="Debris in *Turn 3*")
    article = reader.locator(f'[data-entry-id="{entry["id"]}"]')
    expect(article.locator(".entry-body")).to_have_text("Debris in Turn 3")
    api(
        reader.server, publisher, f"{slug}/entries/{entry['id']}/", method="PATCH", body="Debris in *Turn 3*."
    )
    expect(article.locator(".entry-body")).to_have_text("Debris in Turn 3.")
    expect(article.locator(".correction")).to_have_count(0)  # a plain edit stays silent

    corrected = api(
        reader.server,
        publisher,
        f"{slug}/entries/{entry['id']}/",
        method="PATCH",
        body="Debris in *Turn 4*",
        correction_note="It was Turn 4, not Turn 3.",
    )
    expect(article.locator(".entry-body")).to_have_text("Debris in Turn 4")
    note = article.locator(".correction p").first
    expect(note).to_contain_text("Corrected")
    expect(note).to_contain_text("— It was Turn 4, not Turn 3.")
    # The correction's time, in the reader's clock (Europe/London is UTC in December).
    at = corrected["corrections"][0]["at"]
    expect(note.locator("time")).to_have_text(re.compile(clock(datetime.fromisoformat(at))))
    earlier = article.locator(".correction details")
    expect(earlier.locator("del")).to_be_hidden()
    earlier.locator("summary").click()
    expect(earlier.locator("del")).to_be_visible()
    expect(earlier.locator("del")).to_contain_text("Caution")
    expect(earlier.locator("del em")).to_have_text("Turn 3")
    assert accessibility.serious_violations(reader) == []
    assert reader.evaluate("window.loadedOnce") is True

    # A reload shows the same, rendered by the server.
    reader.reload()
    expect(article.locator(".correction p").first).to_contain_text("— It was Turn 4, not Turn 3.")


def test_removal_notice_replaces_the_entry_live(reader, publisher, live_feed):
    slug = live_feed.slug
    kept = api(reader.server, publisher, f"{slug}/entries/", headline="Kept", body="-")
    gone = api(reader.server, publisher, f"{slug}/entries/", headline="Wrong driver named", body="-")
    quiet = api(reader.server, publisher, f"{slug}/entries/", headline="Quietly gone", body="-")
    expect(reader.locator("[data-stream] .entry-headline")).to_have_count(3)
    api(reader.server, publisher, f"{slug}/entries/{gone['id']}/?removal_notice=true", method="DELETE")
    api(reader.server, publisher, f"{slug}/entries/{quiet['id']}/", method="DELETE")
    notice = reader.locator(f'[data-entry-id="{gone["id"]}"]')
    expect(notice).to_have_text("This update was removed.")
    expect(reader.locator(f'[data-entry-id="{quiet["id"]}"]')).to_have_count(0)
    expect(reader.locator("[data-stream] .entry-headline")).to_have_text(["Kept"])
    assert reader.locator(f'[data-entry-id="{kept["id"]}"]').count() == 1
    reader.reload()
    expect(notice).to_have_text("This update was removed.")


def test_editor_corrects_and_removes_from_the_desk_and_the_reader_sees_it(
    browser, start_daphne, make_member, publisher, live_feed
):
    from feeds import services
    from tests.browser.test_desk import open_desk, open_reader

    server = start_daphne()
    entry = services.create_entry(feed=live_feed, by=publisher, headline="Pit stop", body="Reyes pits")
    gone = services.create_entry(feed=live_feed, by=publisher, headline="Wrong call", body="-")
    reader = open_reader(browser, server, live_feed)
    desk = open_desk(browser, server, make_member("Editor", "eve"), live_feed)

    row = desk.locator(f'.desk-entry[data-entry-id="{entry.pk}"]')
    row.locator("[data-action=edit]").click()
    editor = row.locator("[data-edit-form]")
    editor.locator("[name=body]").fill("Okafor pits")
    editor.get_by_label("Correction note").fill("It was Okafor who pitted.")
    editor.get_by_role("button", name="Save").click()
    expect(row.locator(".badge-corrected")).to_have_text("Corrected: It was Okafor who pitted.")

    article = reader.locator(f"#entry-{entry.pk}")
    expect(article.locator(".entry-body")).to_have_text("Okafor pits")
    expect(article.locator(".correction p").first).to_contain_text("— It was Okafor who pitted.")
    expect(article.locator(".correction del")).to_contain_text("Reyes pits")

    desk.once("dialog", lambda dialog: dialog.accept())
    desk.locator(f'.desk-entry[data-entry-id="{gone.pk}"] [data-action=remove-notice]').click()
    expect(reader.locator(f"#entry-{gone.pk}")).to_have_text("This update was removed.")
    assert reader.evaluate("window.loadedOnce") is True
