"""Readers voting, reacting and asking in Debian's Chromium, an editor answering on the desk, and
another reader seeing all of it live."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import expect

from feeds import services
from feeds.participation.models import FeedParticipation, ReaderQuestion
from tests.fixtures.accessibility import serious_violations

from .conftest import make_poll

pytestmark = pytest.mark.django_db(transaction=True)


def open_as(browser, server, user, path: str):
    """A page in a browser context of its own (its own cookies: another browser), logged in as `user`."""
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


def open_reader(browser, server, feed):
    page = open_as(browser, server, None, feed.get_absolute_url())
    expect(page.locator("[data-livefeed]")).to_have_attribute("data-connection", "live")
    return page


@pytest.fixture
def race(start_daphne, live_feed, publisher):
    FeedParticipation.objects.create(feed=live_feed, reactions_enabled=True)
    poll = make_poll(live_feed, publisher, options=("Okafor", "Lindqvist", "Reyes"))
    entry = services.create_entry(feed=live_feed, by=publisher, headline="Green flag", body="Racing again.")
    return start_daphne(), poll, entry


def test_readers_vote_react_and_ask_and_an_editor_answers_live(browser, race, live_feed, make_member):
    server, poll, entry = race
    voter = open_reader(browser, server, live_feed)
    watcher = open_reader(browser, server, live_feed)
    desk = open_as(browser, server, make_member("Editor", "eve"), f"/admin/feeds/feed/{live_feed.pk}/desk/")
    expect(desk.locator("[data-desk]")).to_have_attribute("data-connection", "live")

    # A vote: the voter's buttons go, and the other reader's bar moves without a reload.
    poll_on = lambda page: page.locator(f'article[data-entry-id="{poll.pk}"] .entry-poll')  # noqa: E731
    poll_on(voter).locator("[data-vote='1']").click()
    expect(poll_on(voter).locator("[data-vote]")).to_have_count(0)
    expect(poll_on(voter).locator("[data-poll-state]")).to_contain_text("you voted")
    expect(poll_on(watcher).locator("li").nth(1).locator("[data-poll-tally]")).to_have_text(" 1 · 100%")
    expect(poll_on(watcher).locator("[data-poll-state]")).to_have_text("1 vote")

    # A second tab of the same browser cannot vote again.
    second_tab = voter.context.new_page()
    second_tab.goto(f"{server.url}{live_feed.get_absolute_url()}")
    expect(poll_on(second_tab).locator("[data-poll-state]")).to_contain_text("you voted")
    expect(poll_on(second_tab).locator("[data-vote]")).to_have_count(0)

    # A reaction, counted for the other reader live.
    reactions_on = lambda page: page.locator(f'article[data-entry-id="{entry.pk}"] [data-reactions]')  # noqa: E731
    reactions_on(voter).locator("[data-react='flag']").click()
    expect(reactions_on(watcher).locator("[data-react='flag']")).to_have_text("🏁 1")

    # A question, hostile text and all: the desk gets it live, as text; no reader sees it.
    voter.locator("[data-ask] [name=text]").fill('<img src=x onerror="alert(1)"> Tyres for the last stint?')
    voter.locator("[data-ask] [name=display_name]").fill("Sam")
    voter.locator("[data-ask] button[type=submit]").click()
    expect(voter.locator("[data-ask-message]")).to_contain_text("went to the editors")
    question = desk.locator("[data-question-queue] li")
    expect(question.locator(".question-text")).to_have_text(
        '<img src=x onerror="alert(1)"> Tyres for the last stint?'
    )
    expect(question.locator("img")).to_have_count(0)
    expect(watcher.locator("[data-stream]")).not_to_contain_text("Tyres for the last stint?")

    # The editor answers: readers see the answer quoting the question and the reader's name.
    question.locator("textarea[name=answer]").fill("Mediums, most likely.")
    question.locator("button[type=submit]").click()
    expect(desk.locator("[data-question-queue] li")).to_have_count(0)
    answer = watcher.locator("[data-stream] article", has_text="Mediums, most likely.")
    expect(answer.locator("blockquote")).to_contain_text("Tyres for the last stint?")
    expect(answer.locator("blockquote")).to_contain_text("— Sam")
    expect(answer.locator("img")).to_have_count(0)
    assert ReaderQuestion.objects.get().status == "answered"

    # The editor closes the poll: every reader sees the final result, and no one can vote.
    desk.locator(f"[data-close-poll='{poll.pk}']").click()
    expect(poll_on(watcher).locator(".poll-final")).to_have_text("Final result: 1 vote.")
    expect(poll_on(watcher).locator("[data-vote]")).to_have_count(0)
    assert serious_violations(watcher) == []


def test_the_question_form_works_without_javascript(browser, race, live_feed):
    server, _, _ = race
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server.url}{live_feed.get_absolute_url()}")
    # Results and options are on the page as HTML; voting needs the script.
    expect(page.locator(".entry-poll .poll-option")).to_have_text(["Okafor", "Lindqvist", "Reyes"])
    page.locator("[data-ask] [name=text]").fill("Is it raining at the circuit?")
    page.locator("[data-ask] button[type=submit]").click()
    expect(page.locator("[role=status]")).to_contain_text("went to the editors")
    assert ReaderQuestion.objects.get().text == "Is it raining at the circuit?"
    context.close()


def test_the_widget_shows_polls_and_counts_live(browser, race, live_feed):
    server, poll, _ = race
    widget = open_as(browser, server, None, f"/feeds/{live_feed.slug}/embed/")
    expect(widget.locator("[data-livefeed]")).to_have_attribute("data-connection", "live")
    reader = open_reader(browser, server, live_feed)
    reader.locator(f'article[data-entry-id="{poll.pk}"] [data-vote="2"]').click()
    expect(widget.locator(f'article[data-entry-id="{poll.pk}"] [data-poll-state]')).to_have_text("1 vote")
    # The widget has no question form: questions are sent from the feed's own page.
    expect(widget.locator("[data-ask]")).to_have_count(0)
