"""Reader questions: a queue only editors see, answered as a new entry or dismissed, with history."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds import services as core_services
from feeds.models import Entry
from feeds.participation import services
from feeds.participation.models import FeedParticipation, ReaderQuestion
from tests.fixtures.html_safety import active_content

pytestmark = pytest.mark.django_db


def ask_url(feed) -> str:
    return f"/api/feeds/{feed.slug}/questions/"


def test_a_question_waits_in_the_queue_and_reaches_no_reader(
    live_feed, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            ask_url(live_feed),
            {"text": "Tyres for the last stint?", "display_name": "Sam"},
            content_type="application/json",
        )
    assert response.status_code == 202
    question = ReaderQuestion.objects.get()
    assert (question.text, question.display_name, question.status) == (
        "Tyres for the last stint?",
        "Sam",
        "pending",
    )
    assert published == []  # nothing to readers
    assert not Entry.objects.exists()
    page = Client().get(f"/feeds/{live_feed.slug}/").content.decode()
    assert "Tyres for the last stint?" not in page
    api = Client().get(f"/api/feeds/{live_feed.slug}/").content.decode()
    assert "Tyres for the last stint?" not in api


def test_answering_publishes_an_entry_quoting_the_question_and_name(live_feed, publisher):
    question = services.ask(
        feed=live_feed, text="Who leads on *fuel*? [x](javascript:alert(1))", display_name="Sam"
    )
    entry = services.answer_question(question=question, by=publisher, answer="Car 75, by two laps.")
    assert entry.is_visible_to_readers and entry.headline == "Reader question"
    assert "<blockquote>" in entry.html and "— Sam" in entry.html and "Car 75, by two laps." in entry.html
    # The reader's text shows as typed: no emphasis, no link.
    assert "*fuel*" in entry.html and "<a " not in entry.html and active_content(entry.html) == []
    question.refresh_from_db()
    assert question.status == "answered" and question.answer == entry and question.handled_by == publisher


def test_an_anonymous_question_is_quoted_as_from_a_reader(live_feed, publisher):
    question = services.ask(feed=live_feed, text="Is it raining?")
    entry = services.answer_question(question=question, by=publisher, answer="Not yet.")
    assert "— A reader" in entry.html


def test_dismissing_keeps_it_from_readers_and_in_the_history(live_feed, publisher):
    question = services.ask(feed=live_feed, text="Spam spam spam")
    services.dismiss_question(question=question, by=publisher)
    question.refresh_from_db()
    assert question.status == "dismissed" and not Entry.objects.exists()
    history = list(question.history.order_by("history_date").values_list("status", "history_user"))
    assert history == [("pending", None), ("dismissed", publisher.pk)]


def test_a_question_is_handled_once(live_feed, publisher):
    question = services.ask(feed=live_feed, text="Pit window?")
    services.dismiss_question(question=question, by=publisher)
    with pytest.raises(Exception, match="already handled"):
        services.answer_question(question=question, by=publisher, answer="Lap 40.")


def test_contributors_cannot_answer(live_feed, make_member):
    question = services.ask(feed=live_feed, text="Pit window?")
    with pytest.raises(Exception, match="Only Editors"):
        services.answer_question(question=question, by=make_member("Contributor", "casey"), answer="Now")


def test_the_honeypot_drops_a_bots_question_quietly(live_feed):
    response = Client().post(
        ask_url(live_feed),
        {"text": "Buy pills", "website": "http://spam.example"},
        content_type="application/json",
    )
    assert response.status_code == 202
    assert not ReaderQuestion.objects.exists()


def test_a_field_longer_than_the_schema_allows_is_refused_even_when_trimming_would_fit_it(live_feed):
    # "\x85" (next line) is whitespace to Python: trimmed, these 201 characters would be 200.
    response = Client().post(
        ask_url(live_feed),
        {"text": "Pit window?", "website": "\x85" + "*" * 200},
        content_type="application/json",
    )
    assert response.status_code == 400 and "website" in response.json()
    assert not ReaderQuestion.objects.exists()


def test_questions_are_limited_per_address(live_feed, settings):
    settings.LIVEFEED = {**settings.LIVEFEED, "PARTICIPATION_QUESTION_RATE": "2/10min"}
    answers = [
        Client()
        .post(ask_url(live_feed), {"text": f"Question {n}"}, content_type="application/json")
        .status_code
        for n in range(4)
    ]
    assert answers == [202, 202, 429, 429]
    assert ReaderQuestion.objects.count() == 2


def test_questions_can_be_switched_off(live_feed):
    FeedParticipation.objects.create(feed=live_feed, questions_enabled=False)
    response = Client().post(ask_url(live_feed), {"text": "Hello?"}, content_type="application/json")
    assert response.status_code == 403 and not ReaderQuestion.objects.exists()


def test_a_draft_feed_takes_no_question(publisher):
    feed = core_services.create_feed(by=publisher, title="Practice", slug="practice")
    assert (
        Client().post(ask_url(feed), {"text": "Hello?"}, content_type="application/json").status_code == 404
    )


def test_a_blank_or_overlong_question_is_refused_with_a_reason(live_feed):
    blank = Client().post(ask_url(live_feed), {"text": " \u200b\x00 "}, content_type="application/json")
    assert blank.status_code == 400 and "text" in blank.json()
    long = Client().post(ask_url(live_feed), {"text": "x" * 501}, content_type="application/json")
    assert long.status_code == 400 and "text" in long.json()
    assert not ReaderQuestion.objects.exists()


def test_the_form_works_without_javascript(live_feed):
    page = Client().get(f"/feeds/{live_feed.slug}/").content.decode()
    assert f'action="/participation/feeds/{live_feed.slug}/questions/"' in page
    response = Client().post(
        f"/participation/feeds/{live_feed.slug}/questions/", {"text": "Plain form?", "display_name": ""}
    )
    assert response.status_code == 202 and "your question went to the editors" in response.content.decode()
    assert ReaderQuestion.objects.get().text == "Plain form?"
    refused = Client().post(f"/participation/feeds/{live_feed.slug}/questions/", {"text": ""})
    assert refused.status_code == 400 and "Write your question." in refused.content.decode()


def test_the_desk_lists_the_queue_and_answers_it(live_feed, make_member, client):
    editor = make_member("Editor", "edie", password="pw-for-the-desk")
    client.force_login(editor)
    question = services.ask(feed=live_feed, text="<b>Bold</b> move?")
    queue = client.get(f"/participation/desk/feeds/{live_feed.slug}/questions/").json()
    assert [q["text"] for q in queue["questions"]] == ["<b>Bold</b> move?"]
    answered = client.post(
        f"/participation/desk/questions/{question.pk}/answer/",
        {"answer": "Yes."},
        content_type="application/json",
    )
    assert answered.status_code == 200 and answered.json()["question"]["status"] == "answered"
    assert client.get(f"/participation/desk/feeds/{live_feed.slug}/questions/").json()["questions"] == []


def test_readers_cannot_use_the_desk(live_feed):
    question = services.ask(feed=live_feed, text="Pit window?")
    response = Client().post(f"/participation/desk/questions/{question.pk}/dismiss/")
    assert response.status_code == 302  # to the admin login
    question.refresh_from_db()
    assert question.status == "pending"


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(min_size=1, max_size=500), name=st.text(max_size=60))
def test_any_question_text_stays_plain_text_in_its_answer(live_feed, publisher, text, name):
    try:
        question = services.ask(feed=live_feed, text=text, display_name=name)
    except Exception as refused:  # only blank text may be refused, with a reason
        assert "Write your question." in str(refused)
        return
    entry = services.answer_question(question=question, by=publisher, answer="Answered.")
    assert active_content(entry.html) == []
    assert "<a " not in entry.html and "<img" not in entry.html
