"""The live desk in Debian's Chromium, next to a reader's page in another browser context."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def open_as(browser, server, user, path: str):
    """A page in a fresh browser context, logged in as `user` (no login form needed)."""
    context = browser.new_context()
    if user is not None:
        client = Client()
        client.force_login(user)
        context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": server.url}]
        )
    page = context.new_page()
    page.goto(f"{server.url}{path}")
    return page


def open_desk(browser, server, user, feed):
    page = open_as(browser, server, user, f"/admin/feeds/feed/{feed.pk}/desk/")
    expect(page.locator("[data-desk]")).to_have_attribute("data-connection", "live")
    return page


def open_reader(browser, server, feed):
    page = open_as(browser, server, None, feed.get_absolute_url())
    expect(page.locator("[data-livefeed]")).to_have_attribute("data-connection", "live")
    page.evaluate("window.loadedOnce = true")
    return page


@pytest.fixture
def server(start_daphne):
    return start_daphne()


def test_contributor_drafts_editor_publishes_reader_sees_it(browser, server, make_member, live_feed):
    contributor, editor = make_member("Contributor", "casey"), make_member("Editor", "eve")
    reader = open_reader(browser, server, live_feed)
    editor_desk = open_desk(browser, server, editor, live_feed)
    contributor_desk = open_desk(browser, server, contributor, live_feed)

    body = contributor_desk.locator("[data-composer] [name=body]")
    contributor_desk.locator("[data-composer] [name=headline]").fill("Leader pits")
    body.fill("Reyes pits from the lead, **four tyres**.")
    body.press("Control+Enter")
    expect(contributor_desk.locator("[data-composer-message]")).to_have_text("Draft saved.")
    expect(body).to_have_value("")
    expect(body).to_be_focused()

    # The editor's desk shows the contributor's draft live; readers see nothing yet.
    draft = editor_desk.locator(".desk-entry", has_text="Leader pits")
    expect(draft).to_have_attribute("data-status", "draft")
    expect(reader.locator("[data-stream] .entry-headline")).to_have_count(0)

    draft.locator("[data-action=publish]").click()
    expect(reader.locator("[data-stream] .entry-headline")).to_have_text(["Leader pits"])
    expect(reader.locator("[data-stream] .entry-body strong")).to_have_text("four tyres")
    expect(contributor_desk.locator(".desk-entry", has_text="Leader pits")).to_have_attribute(
        "data-status", "published"
    )
    assert reader.evaluate("window.loadedOnce") is True


def test_a_failed_post_keeps_the_text_and_says_why(browser, server, make_member, live_feed):
    desk = open_desk(browser, server, make_member("Editor", "eve"), live_feed)
    desk.locator("[data-kind]").select_option("social")
    desk.locator("[data-composer] [name=url]").fill("https://evil.example/post/1")
    desk.locator("[data-composer] [name=body]").fill("Look at this")
    desk.locator("[data-composer] [name=body]").press("Control+Enter")
    expect(desk.locator("[data-composer-message]")).to_contain_text("not supported")
    expect(desk.locator("[data-composer] [name=body]")).to_have_value("Look at this")


def test_a_flag_change_on_the_desk_reaches_the_readers_status_bar(browser, server, make_member, live_feed):
    reader = open_reader(browser, server, live_feed)
    desk = open_desk(browser, server, make_member("Editor", "eve"), live_feed)
    desk.locator("[data-flag=green]").click()
    expect(reader.locator("[data-race-status] .race-flag")).to_contain_text("Green flag")
    desk.locator("[data-flag=yellow]").click()
    expect(reader.locator("[data-race-status] .race-flag")).to_contain_text("Caution")
    # The flag change was also posted to the stream.
    expect(reader.locator("[data-stream] .entry-race").first).to_contain_text("Caution")
    desk.locator("[data-lap-step='1']").click()
    expect(reader.locator("[data-race-status] .race-flag")).to_contain_text("Lap 1")
    assert reader.evaluate("window.loadedOnce") is True


def test_a_conflicting_edit_shows_the_conflict_and_the_newer_text(
    browser, server, make_member, publisher, live_feed
):
    from feeds import services

    services.create_entry(feed=live_feed, by=publisher, headline="Caution", body="Debris in turn 3")
    first = open_desk(browser, server, make_member("Editor", "eve"), live_feed)
    second = open_desk(browser, server, make_member("Editor", "flo"), live_feed)
    for desk in (first, second):
        desk.locator(".desk-entry [data-action=edit]").click()
    first.locator("[data-edit-form] [name=body]").fill("Debris in turn 4")
    first.locator("[data-edit-form] [type=submit]").click()
    expect(first.locator(".desk-entry-body")).to_have_text("Debris in turn 4")

    second.locator("[data-edit-form] [name=body]").fill("Oil in turn 3")
    second.locator("[data-edit-form] [type=submit]").click()
    expect(second.locator("[data-conflict]")).to_contain_text("Someone else saved this entry")
    expect(second.locator("[data-edit-form] [name=body]")).to_have_value("Debris in turn 4")
    expect(second.locator("[data-yours] pre")).to_contain_text("Oil in turn 3")


def test_editor_publishes_with_ctrl_enter_and_restores_an_earlier_version(
    browser, server, make_member, live_feed
):
    reader = open_reader(browser, server, live_feed)
    desk = open_desk(browser, server, make_member("Editor", "eve"), live_feed)
    desk.locator("[data-composer] [name=body]").fill("Okafor leads lap 10")
    desk.locator("[data-composer] [name=body]").press("Control+Enter")
    expect(reader.locator("[data-stream] .entry-body")).to_have_text(["Okafor leads lap 10"])

    desk.locator(".desk-entry [data-action=edit]").click()
    desk.locator("[data-edit-form] [name=body]").fill("Okafor leads lap 11")
    desk.locator("[data-edit-form] [type=submit]").click()
    expect(reader.locator("[data-stream] .entry-body")).to_have_text(["Okafor leads lap 11"])

    desk.locator(".desk-entry [data-action=history]").click()
    versions = desk.locator("[data-history] .history-version")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("Eve")
    expect(versions.first).to_contain_text("lap 10")
    versions.last.get_by_role("button", name="Restore this version").click()
    expect(reader.locator("[data-stream] .entry-body")).to_have_text(["Okafor leads lap 10"])
    assert reader.evaluate("window.loadedOnce") is True


def test_each_kind_shows_its_own_inputs_and_body_label_from_the_kinds_registry(
    browser, server, make_member, live_feed
):
    desk = open_desk(browser, server, make_member("Editor", "eve"), live_feed)
    composer = desk.locator("[data-composer]")
    for kind, label, visible, hidden in [
        ("quote", "The quote", "speaker", "social_author"),
        ("social", "Quoted text (optional)", "social_author", "alt"),
        ("image", "Text under the image (optional)", "alt", "speaker"),
        ("text", "Body (Markdown)", None, "speaker"),
    ]:
        composer.locator("[data-kind]").select_option(kind)
        expect(composer.locator("[data-body-label]")).to_have_text(label)
        if visible:
            expect(composer.locator(f"[name={visible}]")).to_be_visible()
        expect(composer.locator(f"[name={hidden}]")).to_be_hidden()


def test_editing_a_quote_inline_fills_and_saves_its_speaker_and_role(
    browser, server, make_member, publisher, live_feed
):
    from feeds import services
    from feeds.models import Entry

    services.create_entry(
        feed=live_feed,
        by=publisher,
        kind="quote",
        body="Tight in the center.",
        details={"speaker": "Dana Okafor", "role": "No. 75"},
    )
    desk = open_desk(browser, server, make_member("Editor", "eve"), live_feed)
    desk.locator(".desk-entry [data-action=edit]").click()
    editor = desk.locator("[data-edit-form]")
    expect(editor.locator("[name=speaker]")).to_have_value("Dana Okafor")
    expect(editor.locator("[name=role]")).to_have_value("No. 75")
    expect(editor.locator("[name=url]")).to_have_count(0)
    editor.locator("[name=role]").fill("driver of the No. 75")
    editor.locator("[type=submit]").click()
    expect(desk.locator("[data-edit-form]")).to_have_count(0)
    assert Entry.objects.get().details == {"speaker": "Dana Okafor", "role": "driver of the No. 75"}
