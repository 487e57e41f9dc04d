"""Polls: the kind, one vote per browser, refusals, closing, and the result on every reader path."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from feeds import services
from feeds.models import Entry
from feeds.participation import kind as poll_kind
from feeds.participation import services as participation
from feeds.participation.models import Ballot
from feeds.participation.timers import timers
from tests.fixtures.html_safety import active_content

from .conftest import make_poll, vote_url

pytestmark = pytest.mark.django_db

FEED_URL = "/feeds/{slug}/atom/"


def test_poll_renders_question_and_options_escaped(live_feed, publisher):
    poll = make_poll(
        live_feed,
        publisher,
        options=('<img src=x onerror="alert(1)">', "<script>alert(2)</script>"),
        details={"question": '"><svg onload=alert(3)>'},
    )
    assert active_content(poll.html) == []
    assert "&lt;img src=x" in poll.html and "&lt;script&gt;" in poll.html
    assert '<ol class="poll-options">' in poll.html


@pytest.mark.parametrize(
    "details, field",
    [
        ({"question": "Q?", "option_1": "Only one"}, "option_2"),
        ({"question": "", "option_1": "A", "option_2": "B"}, "question"),
        ({"question": "Q?", "option_1": "Same", "option_2": "same"}, "option_1"),
        ({"question": "Q?", "option_1": "A", "option_2": "B", "closes_at": "tomorrow"}, "closes_at"),
        ({"question": "Q?", "option_1": "A", "option_2": "B", "closes_at": "0001-01-01T00:00"}, "closes_at"),
        ({"question": "Q?", "option_1": "A", "option_2": "B", "result": {"counts": [9]}}, "result"),
    ],
)
def test_poll_refuses_bad_details_naming_the_field(live_feed, publisher, details, field):
    with pytest.raises(ValidationError) as refused:
        services.create_entry(feed=live_feed, by=publisher, kind="poll", details=details)
    assert field in refused.value.message_dict


def test_options_are_compacted_and_a_seventh_is_dropped(live_feed, publisher):
    poll = services.create_entry(
        feed=live_feed,
        by=publisher,
        kind="poll",
        details={"question": "Q?", "option_1": "A", "option_3": "C", "option_7": "G"},
    )
    assert poll.details == {"question": "Q?", "option_1": "A", "option_2": "C"}


def test_a_browser_votes_once_however_many_tabs(poll):
    browser = Client()
    first = browser.post(vote_url(poll), {"option": 1}, content_type="application/json")
    assert first.status_code == 200 and "livefeed_reader" in first.cookies
    for _ in range(5):  # other tabs share the cookie
        again = browser.post(vote_url(poll), {"option": 0}, content_type="application/json")
        assert again.status_code == 409
        assert "already voted" in again.json()["detail"]
    assert list(Ballot.objects.values_list("choice", flat=True)) == [1]


def test_a_forged_reader_cookie_is_a_new_reader_not_someone_else(poll):
    browser = Client()
    browser.cookies["livefeed_reader"] = "someone-else:forged"
    response = browser.post(vote_url(poll), {"option": 0}, content_type="application/json")
    assert response.status_code == 200
    assert response.cookies["livefeed_reader"].value != "someone-else:forged"


def test_many_requests_from_one_address_hit_its_limit(poll, settings, monkeypatch):
    settings.LIVEFEED = {**settings.LIVEFEED, "PARTICIPATION_VOTE_RATE": "5/min"}
    # Within one window: a slow run crossing a minute's end would start a fresh count.
    from types import SimpleNamespace

    from feeds.participation import limits

    monkeypatch.setattr(limits, "time", SimpleNamespace(time=lambda: 1_800_000_010.0))
    answers = [
        Client().post(vote_url(poll), {"option": 0}, content_type="application/json").status_code
        for _ in range(8)
    ]
    assert answers == [200] * 5 + [429] * 3
    assert Ballot.objects.count() == 5


def test_limited_answer_says_when_to_retry(poll, settings):
    settings.LIVEFEED = {**settings.LIVEFEED, "PARTICIPATION_VOTE_RATE": "1/min"}
    Client().post(vote_url(poll), {"option": 0}, content_type="application/json")
    refused = Client().post(vote_url(poll), {"option": 0}, content_type="application/json")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0


def test_draft_poll_takes_no_vote_and_says_not_found(live_feed, publisher):
    draft = make_poll(live_feed, publisher, status="draft")
    response = Client().post(vote_url(draft), {"option": 0}, content_type="application/json")
    assert response.status_code == 404 and response.json()["detail"] == "No such entry."
    assert not Ballot.objects.exists()


def test_deleted_poll_takes_no_vote(poll, publisher):
    services.delete_entry(entry=poll, by=publisher)
    response = Client().post(vote_url(poll), {"option": 0}, content_type="application/json")
    assert response.status_code == 404
    assert not Ballot.objects.exists()


def test_an_entry_that_is_not_a_poll_takes_no_vote(live_feed, publisher):
    entry = services.create_entry(feed=live_feed, by=publisher, body="Green flag")
    response = Client().post(vote_url(entry), {"option": 0}, content_type="application/json")
    assert response.status_code == 404 and "not a poll" in response.json()["detail"]


def test_an_option_the_poll_does_not_have_is_refused(poll):
    response = Client().post(vote_url(poll), {"option": 4}, content_type="application/json")
    assert response.status_code == 400
    response = Client().post(vote_url(poll), {"option": "first"}, content_type="application/json")
    assert response.status_code == 400 and "option" in response.json()


def test_a_poll_past_its_closing_time_takes_no_vote(live_feed, publisher):
    poll = make_poll(
        live_feed, publisher, details={"closes_at": (timezone.now() + timedelta(hours=1)).isoformat()}
    )
    services.update_entry(
        entry=poll,
        by=publisher,
        details={**poll.details, "closes_at": (timezone.now() - timedelta(seconds=1)).isoformat()},
    )
    response = Client().post(vote_url(poll), {"option": 0}, content_type="application/json")
    assert response.status_code == 409 and response.json()["detail"] == "This poll is closed."


def test_vote_from_another_sites_page_is_refused(poll):
    response = Client().post(
        vote_url(poll),
        {"option": 0},
        content_type="application/json",
        HTTP_ORIGIN="https://elsewhere.example",
    )
    assert response.status_code == 403
    assert not Ballot.objects.exists()


def test_closing_stores_the_final_result_in_the_entry_for_every_reader_path(
    poll, publisher, published, django_capture_on_commit_callbacks
):
    for option in (0, 1, 1):
        assert (
            Client().post(vote_url(poll), {"option": option}, content_type="application/json").status_code
            == 200
        )
    with django_capture_on_commit_callbacks(execute=True):
        participation.close_poll(entry=poll, by=publisher)
    poll.refresh_from_db()
    assert poll.details["result"]["counts"] == [1, 2, 0]
    assert "Final result: 3 votes." in poll.html and "2 votes · 67%" in poll.html
    # The page, the API, syndication and webhooks all carry the entry's stored HTML and details.
    api = Client().get(f"/api/feeds/{poll.feed.slug}/").json()
    assert [entry["details"]["result"]["counts"] for entry in api["entries"]] == [[1, 2, 0]]
    page = Client().get(f"/feeds/{poll.feed.slug}/").content.decode()
    assert "Final result: 3 votes." in page
    syndication = Client().get(FEED_URL.format(slug=poll.feed.slug)).content.decode()
    assert "Final result: 3 votes." in syndication
    updates = [message for message in published if message["type"] == "entry.updated"]
    assert updates and "Final result" in updates[-1]["entry"]["html"]
    closed = Client().post(vote_url(poll), {"option": 2}, content_type="application/json")
    assert closed.status_code == 409 and closed.json()["detail"] == "This poll is closed."


def test_the_result_survives_an_edit_from_the_desk(poll, publisher):
    Client().post(vote_url(poll), {"option": 2}, content_type="application/json")
    participation.close_poll(entry=poll, by=publisher)
    poll.refresh_from_db()
    services.update_entry(entry=poll, by=publisher, headline="Tonight's poll", details=dict(poll.details))
    poll.refresh_from_db()
    assert poll.details["result"]["counts"] == [0, 0, 1]


def test_only_editors_close_a_poll(poll, make_member):
    contributor = make_member("Contributor", "casey")
    with pytest.raises(Exception, match="Only Editors"):
        participation.close_poll(entry=poll, by=contributor)


def test_votes_reach_readers_as_one_coalesced_tally(poll, published):
    for _ in range(30):
        assert (
            Client().post(vote_url(poll), {"option": 0}, content_type="application/json").status_code == 200
        )
    assert [m for m in published if m["type"] == "participation.tally"] == []  # no message per vote
    assert timers.run_waiting() == 1
    tallies = [m for m in published if m["type"] == "participation.tally"]
    assert len(tallies) == 1
    assert tallies[0]["counts"] == {"0": 30} and tallies[0]["seq"] == 0 and tallies[0]["entry"] == poll.pk


def test_a_vote_after_an_announcement_is_announced_next_time(poll, published, settings):
    settings.LIVEFEED = {**settings.LIVEFEED, "PARTICIPATION_TALLY_SECONDS": 0.2}
    Client().post(vote_url(poll), {"option": 0}, content_type="application/json")
    timers.run_waiting()
    Client().post(vote_url(poll), {"option": 1}, content_type="application/json")
    deadline = time.monotonic() + 5
    while (
        len([m for m in published if m["type"] == "participation.tally"]) < 2 and time.monotonic() < deadline
    ):
        timers.run_waiting()
    tallies = [(m["counts"], m["at"]) for m in published if m["type"] == "participation.tally"]
    assert [counts for counts, _ in tallies] == [{"0": 1}, {"0": 1, "1": 1}]
    # The second waited for the gate the first closed.
    assert tallies[1][1] - tallies[0][1] >= 0.2


def test_participation_state_gives_live_counts_and_final_results(poll, publisher):
    Client().post(vote_url(poll), {"option": 1}, content_type="application/json")
    state = Client().get(f"/api/feeds/{poll.feed.slug}/participation/").json()
    assert state["polls"] == [{"entry": poll.pk, "counts": [0, 1, 0], "closed": False}]
    assert state["reactions_enabled"] is False and state["questions_enabled"] is True


def test_participation_state_of_a_draft_feed_is_not_found(publisher):
    feed = services.create_feed(by=publisher, title="Practice", slug="practice")
    assert Client().get(f"/api/feeds/{feed.slug}/participation/").status_code == 404


def test_a_poll_with_a_closing_time_queues_its_closing(live_feed, publisher):
    from django_tasks_db.models import DBTaskResult

    closing = timezone.now() + timedelta(hours=1)
    poll = make_poll(live_feed, publisher, details={"closes_at": closing.isoformat()})
    task = DBTaskResult.objects.get(task_path__endswith="close_when_due")
    assert task.run_after == closing and task.args_kwargs["kwargs"]["entry_id"] == poll.pk


def test_the_worker_stores_the_result_once_the_time_has_come(live_feed, publisher):
    from feeds.participation import closing

    poll = make_poll(
        live_feed, publisher, details={"closes_at": (timezone.now() + timedelta(hours=1)).isoformat()}
    )
    Client().post(vote_url(poll), {"option": 2}, content_type="application/json")
    due = poll_kind.closes_at(poll.details)
    assert closing.close_due_poll(entry_id=poll.pk, due=due) is False  # not yet
    past = timezone.now() - timedelta(seconds=1)
    Entry.objects.filter(pk=poll.pk).update(details={**poll.details, "closes_at": past.isoformat()})
    assert closing.close_due_poll(entry_id=poll.pk, due=due) is False  # its time was changed since
    assert closing.close_due_poll(entry_id=poll.pk, due=past) is True
    poll.refresh_from_db()
    assert poll.details["result"]["counts"] == [0, 0, 1] and "Final result: 1 vote." in poll.html
    assert closing.close_due_poll(entry_id=poll.pk, due=past) is False  # once


def test_queued_ballots_written_in_one_batch_read_back_once_per_reader_with_their_time(poll):
    from django.utils import timezone

    from feeds.participation import tally

    box = tally.Box(tally.POLL, poll.pk)
    before = timezone.now()
    tally._insert_once(box, [("reader-a", 0), ("reader-b", 2)])
    tally._insert_once(box, [("reader-a", 1), ("reader-c", 1)])  # reader-a is already stored
    ballots = {ballot.voter: ballot for ballot in Ballot.objects.filter(entry=poll)}
    assert {voter: ballot.choice for voter, ballot in ballots.items()} == {
        "reader-a": 0,
        "reader-b": 2,
        "reader-c": 1,
    }
    assert all(before <= ballot.created_at <= timezone.now() for ballot in ballots.values())
