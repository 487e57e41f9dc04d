"""A timing source drives the reader's status bar: a scripted race served by a local HTTP server,
polled by the real background worker, followed by Chromium; the desk shows the source's health."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from feeds.models import Entry
from feeds.timing import poller
from feeds.timing.models import TimingSource
from tests.browser.test_desk import open_desk, open_reader
from tests.fixtures.nascar_weekend import weekend
from tests.fixtures.timing_server import Response, timing_server

pytestmark = pytest.mark.django_db(transaction=True)

ORDER = [{"driver": "Kyle Larson", "number": "5"}, {"driver": "Denny Hamlin", "number": "11"}]
RACE = [
    Response({"flag": "green", "lap": 1, "laps_total": 200, "running_order": ORDER}),
    Response(
        {
            "flag": "yellow",
            "lap": 57,
            "laps_total": 200,
            "cautions": 1,
            "flag_reason": "debris, Turn 3",
            "running_order": ORDER,
        }
    ),
    Response({"flag": "green", "lap": 62, "laps_total": 200, "cautions": 1, "running_order": ORDER}),
    Response(b'{"flag": "green", "lap": 6'),  # cut off mid-answer
    Response({"flag": "yellow", "lap": 40, "laps_total": 200}),  # a stale snapshot from earlier
    Response({"flag": "checkered", "lap": 200, "laps_total": 200, "cautions": 1, "running_order": ORDER}),
]


def test_the_status_bar_follows_a_scripted_race(
    browser, start_daphne, start_worker, redis, make_member, live_feed
):
    editor = make_member("Editor", "eve")
    with timing_server(RACE) as timing:
        source = TimingSource.objects.create(
            feed=live_feed,
            author=editor,
            url=timing.url,
            interval_seconds=1,
            max_backoff_seconds=2,
            post_flag_changes="published",
        )
        server = start_daphne(REDIS_URL=redis.url)
        reader = open_reader(browser, server, live_feed)
        desk = open_desk(browser, server, editor, live_feed)
        start_worker(REDIS_URL=redis.url, LIVEFEED_OUTBOUND_ALLOW_PRIVATE="true")
        poller.start(source=source)
        status = reader.locator("[data-race-status] .race-status")
        stream = reader.locator("[data-stream] .entry-headline")
        health = desk.locator("[data-timing-health]")

        expect(status).to_have_class(re.compile(r"\bflag-green\b"), timeout=20_000)
        expect(status).to_contain_text("Lap 1 of 200")
        expect(status).to_contain_text("Kyle Larson")
        expect(health).to_have_attribute("data-healthy", "true")

        timing.advance()  # caution
        expect(status).to_have_class(re.compile(r"\bflag-yellow\b"), timeout=20_000)
        expect(status).to_contain_text("Lap 57 of 200")
        expect(stream.first).to_have_text("Caution on lap 57 (debris, Turn 3)")

        timing.advance()  # restart
        expect(status).to_have_class(re.compile(r"\bflag-green\b"), timeout=20_000)
        expect(status).to_contain_text("Lap 62 of 200")
        expect(stream.first).to_have_text("Restart on lap 62")

        timing.advance()  # malformed: the bar keeps the last good status, the desk says why
        timing.wait_for_hits(2)
        expect(health).to_have_attribute("data-healthy", "false", timeout=20_000)
        expect(health).to_contain_text("malformed data: body: not valid JSON")
        expect(status).to_contain_text("Lap 62 of 200")
        expect(status).to_have_class(re.compile(r"\bflag-green\b"))

        timing.advance()  # stale
        timing.wait_for_hits(2)
        expect(health).to_contain_text("stale data: lap 40 is behind the last applied lap 62", timeout=20_000)
        expect(status).to_contain_text("Lap 62 of 200")
        expect(status).to_have_class(re.compile(r"\bflag-green\b"))

        timing.advance()  # checkered
        expect(status).to_have_class(re.compile(r"\bflag-checkered\b"), timeout=20_000)
        expect(status).to_contain_text("Lap 200 of 200")
        expect(stream.first).to_have_text("Checkered flag: Kyle Larson wins")
        expect(health).to_have_attribute("data-healthy", "true", timeout=20_000)

    # Each flag posted once; the malformed and stale answers posted nothing.
    assert list(Entry.objects.filter(feed=live_feed).order_by("id").values_list("headline", flat=True)) == [
        "Green flag: the race is under way",
        "Caution on lap 57 (debris, Turn 3)",
        "Restart on lap 62",
        "Checkered flag: Kyle Larson wins",
    ]
    assert reader.evaluate("window.loadedOnce") is True


def test_the_status_bar_follows_a_nascar_session_change(
    browser, start_daphne, start_worker, redis, make_member, live_feed
):
    """Last week's finish served days later, then this week's practice, then the race at a lower
    lap than last week's finish: each shown as the session it is, none refused as stale."""
    editor = make_member("Editor", "eve")
    steps = dict(weekend())
    answers = [
        Response(steps[name])
        for name in (
            "00_last_week_finished.json",
            "01_idle.json",
            "02_practice.json",
            "06_race_lap_233.json",
        )
    ]
    with timing_server(answers) as timing:
        source = TimingSource.objects.create(
            feed=live_feed,
            author=editor,
            url=timing.url,
            format="nascar",
            interval_seconds=1,
            max_backoff_seconds=2,
            post_flag_changes="published",
        )
        server = start_daphne(REDIS_URL=redis.url)
        reader = open_reader(browser, server, live_feed)
        desk = open_desk(browser, server, editor, live_feed)
        start_worker(REDIS_URL=redis.url, LIVEFEED_OUTBOUND_ALLOW_PRIVATE="true")
        poller.start(source=source)
        status = reader.locator("[data-race-status] .race-status")
        facts = reader.locator("[data-race-status] .race-facts")
        stream = reader.locator("[data-stream] .entry-headline")
        health = desk.locator("[data-timing-health]")

        expect(status).to_have_class(re.compile(r"\bflag-checkered\b"), timeout=20_000)
        expect(status.locator(".race-flag")).to_have_text("Checkered flag · Lap 367 of 367")
        expect(facts).to_contain_text("WinnerChase Briscoe")
        expect(stream.first).to_have_text("Checkered flag: Chase Briscoe wins the Cook Out Southern 500")

        timing.advance()  # between sessions the feed answers with an empty body
        timing.wait_for_hits(2)
        expect(health).to_have_attribute("data-healthy", "true", timeout=20_000)
        expect(status.locator(".race-flag")).to_have_text("Checkered flag · Lap 367 of 367")

        timing.advance()  # this week's practice
        expect(status).to_have_class(re.compile(r"\bflag-green\b"), timeout=20_000)
        expect(status.locator(".race-flag")).to_have_text("Green flag · Lap 16")
        expect(facts).to_contain_text("SessionFinal Practice")
        expect(facts).not_to_contain_text("Leader")
        expect(facts).not_to_contain_text("Winner")
        expect(stream.first).to_have_text("Final Practice: green flag")

        timing.advance()  # the race, at lap 233: lower than last week's 367, a new session
        expect(status.locator(".race-flag")).to_have_text(
            "Green flag · Lap 233 of 260, 27 to go", timeout=20_000
        )
        expect(facts).to_contain_text("SessionAmbetter Health 400 (race)")
        expect(facts).to_contain_text("Stage3 (ends lap 260), 27 laps left")
        expect(facts).to_contain_text("LeaderBrad Keselowski")
        expect(health).to_have_attribute("data-healthy", "true")
        expect(health).not_to_contain_text("stale")
