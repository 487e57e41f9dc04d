"""The desk's timing panel speaks its user's language, and the live refresh of it the feed's."""

from __future__ import annotations

import pytest
from django.test import Client

from feeds.models import Feed
from feeds.timing import health, ingest
from feeds.timing.models import TimingSource


@pytest.mark.django_db
def test_the_timing_panel_is_in_the_desk_users_language(publisher, live_feed):
    source = TimingSource.objects.create(feed=live_feed, author=publisher)
    ingest.ingest(source=source, payload=b"<html>502 Bad Gateway</html>")
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(publisher)
    page = client.get(f"/admin/feeds/feed/{live_feed.pk}/desk/").content.decode()
    assert "<h2>Chronométrage</h2>" in page
    assert "<strong data-timing-state>En panne</strong>" in page and "Dernière erreur à " in page


@pytest.mark.django_db
def test_the_panel_sent_to_every_desk_is_in_the_feeds_language(publisher, live_feed):
    Feed.objects.filter(pk=live_feed.pk).update(language="es")
    source = TimingSource.objects.create(feed=Feed.objects.get(pk=live_feed.pk), author=publisher)
    ingest.ingest(source=source, payload={"flag": "green", "lap": 4})
    html = health.render_health_for_desks(TimingSource.objects.get(pk=source.pk))
    assert "<h2>Cronometraje</h2>" in html and "Funciona" in html and "Última actualización correcta:" in html
