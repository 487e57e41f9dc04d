"""A Spanish feed's polls, reactions and question form, in Debian's Chromium and over the API:
the server's words, the scripts' words and the answers to readers all in the feed's language,
whatever the browser asks for."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import expect

from feeds import services
from feeds.participation import services as participation
from feeds.participation.models import FeedParticipation

from .conftest import make_poll, vote_url


@pytest.fixture
def spanish_feed(publisher):
    feed = services.create_feed(
        by=publisher, title="Gran Premio", slug="gran-premio", status="live", language="es"
    )
    FeedParticipation.objects.create(feed=feed, reactions_enabled=True)
    return feed


@pytest.mark.django_db(transaction=True)
def test_a_spanish_feeds_poll_reactions_and_questions_are_in_spanish(
    browser, start_daphne, spanish_feed, publisher
):
    poll = make_poll(
        spanish_feed, publisher, options=("Okafor", "Reyes"), details={"question": "¿Quién gana?"}
    )
    server = start_daphne()
    page = browser.new_context(locale="en-US").new_page()
    page.goto(f"{server.url}{spanish_feed.get_absolute_url()}")
    expect(page.locator("[data-livefeed]")).to_have_attribute("data-connection", "live")
    article = page.locator(f'article[data-entry-id="{poll.pk}"]')

    # The poll: its buttons and its state line.
    vote = article.locator("[data-vote='1']")
    expect(vote).to_have_text("Votar")
    expect(vote).to_have_attribute("aria-label", "Votar por Reyes")
    expect(article.locator("[data-poll-state]")).to_have_text("0 votos")

    # The reactions.
    reactions = article.locator("[data-reactions]")
    expect(reactions).to_have_attribute("aria-label", "Reacciones")
    expect(reactions.locator("[data-react='flag']")).to_have_attribute("aria-label", "Bandera a cuadros: 0")

    # The question form.
    ask = page.locator("#ask")
    expect(ask.locator("h2")).to_have_text("Envía una pregunta")
    expect(ask.locator("label").first).to_contain_text("Tu pregunta")
    expect(ask.locator("button[type=submit]")).to_have_text("Enviar pregunta")

    # A vote: its state and what the page announces.
    vote.click()
    expect(article.locator("[data-poll-state]")).to_have_text("1 voto · has votado")
    expect(page.locator("[data-announcer]")).to_have_text("Tu voto se ha contado.")

    # A reaction, and a question: the server's answer is in Spanish too.
    reactions.locator("[data-react='flag']").click()
    expect(page.locator("[data-announcer]")).to_have_text("Reacción enviada.")
    ask.locator("[name=text]").fill("¿Cuántas vueltas quedan?")
    ask.locator("button[type=submit]").click()
    expect(ask.locator("[data-ask-message]")).to_have_text(
        "Gracias: tu pregunta ha llegado a la redacción. Solo se muestra si la responden."
    )

    # The closed poll's result, rendered once in the feed's language.
    participation.close_poll(entry=poll, by=publisher)
    page.reload()
    expect(article.locator(".poll-final")).to_have_text("Resultado final: 1 voto.")
    expect(article.locator(".poll-count").nth(1)).to_have_text("1 voto · 100%")
    shown = article.inner_text() + ask.inner_text()
    for english in ("vote", "Reaction", "Send", "Your", "Final result"):
        assert english.casefold() not in shown.casefold(), english


@pytest.mark.django_db
def test_the_reader_api_refuses_in_the_feeds_language(spanish_feed, publisher):
    poll = make_poll(spanish_feed, publisher)
    reader = Client()
    assert reader.post(vote_url(poll), {"option": 0}, content_type="application/json").status_code == 200
    again = reader.post(vote_url(poll), {"option": 1}, content_type="application/json")
    assert again.status_code == 409
    assert again.json()["detail"] == "Este navegador ya ha votado en esta encuesta."
    off = reader.post(
        f"/api/feeds/{spanish_feed.slug}/entries/{poll.pk}/reaction/",
        {"reaction": "nope"},
        content_type="application/json",
    )
    assert off.status_code == 400


@pytest.mark.django_db
def test_the_question_page_without_javascript_is_in_the_feeds_language(spanish_feed):
    FeedParticipation.objects.filter(feed=spanish_feed).update(questions_enabled=True)
    page = Client().post(
        f"/participation/feeds/{spanish_feed.slug}/questions/", {"text": "   "}, HTTP_ACCEPT_LANGUAGE="en"
    )
    text = page.content.decode()
    assert '<html lang="es">' in text, text[:300]
    assert "Tu pregunta no se ha enviado: Escribe tu pregunta." in text
    assert "Volver al directo" in text and "Enviar pregunta" in text


@pytest.mark.django_db
def test_the_desk_panel_speaks_its_users_language(client, publisher, live_feed):
    client.force_login(publisher)
    page = client.get(f"/admin/feeds/feed/{live_feed.pk}/desk/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    for words in ("Lecteurs", "Sondages ouverts", "Questions en attente", "Réactions"):
        assert words in page, words
    refused = client.post(
        f"/participation/desk/feeds/{live_feed.slug}/switches/",
        "not json",
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    assert refused.status_code == 400 and refused.json()["detail"] == "Envoyez du JSON."
