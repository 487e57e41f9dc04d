"""The live page in Spanish and in French, in Debian's Chromium: the server's words, the
scripts' messages, live arrivals and the race status all in the feed's language."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from feeds import services
from feeds.models import Entry
from tests.browser.test_live_page import api

pytestmark = pytest.mark.django_db(transaction=True)


def open_page(browser, server, feed):
    page = browser.new_context(locale="en-US").new_page()
    page.goto(f"{server.url}{feed.get_absolute_url()}")
    expect(page.locator("[data-livefeed]")).to_have_attribute("data-connection", "live")
    return page


def test_the_page_in_spanish(browser, start_daphne, publisher):
    feed = services.create_feed(
        by=publisher, title="Gran Premio", slug="gran-premio", status="live", language="es"
    )
    server = start_daphne()
    page = open_page(browser, server, feed)

    # The browser asks for English; the feed is in Spanish, and so is everything on its page.
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator(".connection[data-connection]")).to_have_text("Actualizando en directo")
    expect(page.locator("[data-empty]")).to_have_text("Todavía no hay entradas.")
    expect(page.locator("[data-key-events] summary")).to_contain_text("Momentos clave")

    entry = api(
        server, publisher, f"{feed.slug}/entries/", headline="Salida", body="¡Arrancan!", key_event=True
    )
    article = page.locator(f'[data-entry-id="{entry["id"]}"]')
    expect(article.locator(".badge-key")).to_have_text("Momento clave")
    expect(article.locator(".entry-link")).to_contain_text("Enlace")
    expect(article.locator("[data-share]")).to_have_text("Copiar enlace")
    # The reader's clock (24-hour, as Spanish writes it), then the relative time.
    expect(article.locator("time")).to_have_text(re.compile(r"^\d\d:\d\d · ahora mismo$"))

    api(
        server,
        publisher,
        f"{feed.slug}/",
        method="PATCH",
        race={"flag": "yellow", "lap": 12, "laps_total": 200},
    )
    expect(page.locator("[data-race-status] .race-flag")).to_have_text("Bandera amarilla · Vuelta 12 de 200")
    expect(page.locator("[data-announcer]")).to_have_text(
        "Estado de la carrera: Bandera amarilla · Vuelta 12 de 200"
    )


def test_the_page_in_french(browser, start_daphne, publisher):
    feed = services.create_feed(
        by=publisher, title="Grand Prix", slug="grand-prix", status="live", language="fr"
    )
    start = services.create_entry(feed=feed, by=publisher, headline="Départ", body="C’est parti.")
    Entry.objects.filter(pk=start.pk).update(published_at=timezone.now() - timedelta(minutes=5))
    server = start_daphne()
    page = open_page(browser, server, feed)

    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator(".connection[data-connection]")).to_have_text("Mise à jour en direct")
    expect(page.locator("[data-feed-status]")).to_have_text("En direct")
    expect(page.locator(".entry-link").first).to_contain_text("Lien")
    # Relative times in the page's language, whatever the browser's.
    expect(page.locator(f'[data-entry-id="{start.pk}"] .entry-meta time')).to_have_text(
        re.compile(r"^\d\d:\d\d · il\sy\sa\s5\smin$")  # French spaces are non-breaking
    )
    expect(page.locator("[data-order-toggle]")).to_have_text("Afficher d’abord les plus anciennes")

    api(server, publisher, f"{feed.slug}/", method="PATCH", status="ended")
    expect(page.locator("[data-feed-status]")).to_have_text("Terminé")
    expect(page.locator("[data-coverage]")).to_have_text("Le direct est terminé.")
    expect(page.locator(".connection[data-connection]")).to_have_text("Mises à jour arrêtées.")
