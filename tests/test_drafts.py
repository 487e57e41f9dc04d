"""Drafts, scheduled entries and draft feeds never reach readers, and guessing their ids or slugs
tells nothing: a draft answers exactly as nothing at all does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from feeds import services

pytestmark = pytest.mark.django_db

ENTRY_PATHS = [
    "/feeds/{slug}/entries/{id}/",
    "/api/feeds/{slug}/entries/{id}/",
    "/oembed/?url=http://testserver/feeds/{slug}/entries/{id}/",
]
FEED_PATHS = [
    "/feeds/{slug}/",
    "/feeds/{slug}/embed/",
    "/feeds/{slug}/atom/",
    "/feeds/{slug}/rss/",
    "/feeds/{slug}/feed.json",
    "/api/feeds/{slug}/",
    "/api/feeds/{slug}/events/",
    "/oembed/?url=http://testserver/feeds/{slug}/",
]


def answer(path: str) -> tuple[int, bytes]:
    response = Client().get(path)
    return response.status_code, response.content


@pytest.fixture
def hidden_entries(publisher, live_feed):
    draft = services.create_entry(
        feed=live_feed, by=publisher, headline="Embargoed", body="x", status="draft"
    )
    scheduled = services.create_entry(
        feed=live_feed,
        by=publisher,
        headline="At the green flag",
        body="y",
        publish_at=timezone.now() + timedelta(hours=1),
    )
    deleted = services.create_entry(feed=live_feed, by=publisher, headline="Wrong", body="z")
    services.delete_entry(entry=deleted, by=publisher)
    return [draft, scheduled, deleted]


@pytest.mark.parametrize("template", ENTRY_PATHS)
def test_hidden_entries_answer_exactly_like_missing_ones(hidden_entries, publisher, live_feed, template):
    missing = answer(template.format(slug=live_feed.slug, id=999_999))
    assert missing[0] == 404
    for entry in hidden_entries:
        assert answer(template.format(slug=live_feed.slug, id=entry.pk)) == missing
    visible = services.create_entry(
        feed=live_feed, by=publisher, headline="Public", body="x"
    )  # positive control
    assert answer(template.format(slug=live_feed.slug, id=visible.pk))[0] == 200


@pytest.mark.parametrize("template", FEED_PATHS)
def test_a_draft_feed_answers_exactly_like_a_missing_one(publisher, template):
    feed = services.create_feed(by=publisher, title="Secret test session", slug="secret-test")
    services.create_entry(feed=feed, by=publisher, headline="Secret", body="x")
    assert answer(template.format(slug=feed.slug)) == answer(template.format(slug="no-such-feed"))
    assert answer(template.format(slug=feed.slug))[0] == 404
    services.update_feed(feed=feed, by=publisher, status="live")  # positive control
    assert answer(template.format(slug=feed.slug))[0] == 200


def test_hidden_entries_appear_on_no_listing(hidden_entries, publisher, live_feed):
    # Positive control: a published entry shows on every listing that shows entries.
    services.create_entry(feed=live_feed, by=publisher, headline="Checkered flag", body="x")
    client = Client()
    for path in (
        "/",
        f"/feeds/{live_feed.slug}/",
        f"/feeds/{live_feed.slug}/embed/",
        f"/feeds/{live_feed.slug}/atom/",
        f"/feeds/{live_feed.slug}/rss/",
        f"/feeds/{live_feed.slug}/feed.json",
        f"/api/feeds/{live_feed.slug}/",
        f"/api/feeds/{live_feed.slug}/events/?after=0",
        "/sitemap.xml",
    ):
        body = client.get(path).content.decode()
        assert "Embargoed" not in body and "At the green flag" not in body and "Wrong" not in body, path
        if path not in ("/", "/sitemap.xml"):
            assert "Checkered flag" in body, path
        else:
            assert f"/feeds/{live_feed.slug}/" in body, path
