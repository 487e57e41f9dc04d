"""Reactions: off by default, a fixed set, one per reader per entry, counted live."""

from __future__ import annotations

import pytest
from django.test import Client

from feeds import services
from feeds.participation.models import FeedParticipation, Reaction
from feeds.participation.timers import timers

pytestmark = pytest.mark.django_db


def reaction_url(entry) -> str:
    return f"/api/feeds/{entry.feed.slug}/entries/{entry.pk}/reaction/"


@pytest.fixture
def entry(live_feed, publisher):
    return services.create_entry(feed=live_feed, by=publisher, body="Leader pits from the front.")


@pytest.fixture
def reactions_on(live_feed):
    FeedParticipation.objects.create(feed=live_feed, reactions_enabled=True)


def test_reactions_are_off_by_default(entry):
    response = Client().post(reaction_url(entry), {"reaction": "like"}, content_type="application/json")
    assert response.status_code == 403 and response.json()["detail"] == "Reactions are off for this feed."
    assert not Reaction.objects.exists()


def test_one_reaction_per_reader_per_entry(entry, reactions_on):
    browser = Client()
    assert (
        browser.post(reaction_url(entry), {"reaction": "like"}, content_type="application/json").status_code
        == 200
    )
    second = browser.post(reaction_url(entry), {"reaction": "wow"}, content_type="application/json")
    assert second.status_code == 409
    assert list(Reaction.objects.values_list("reaction", flat=True)) == ["like"]


def test_only_the_fixed_set_of_reactions(entry, reactions_on):
    response = Client().post(
        reaction_url(entry), {"reaction": "<script>alert(1)</script>"}, content_type="application/json"
    )
    assert response.status_code == 400 and "reaction" in response.json()


def test_draft_and_deleted_entries_take_no_reaction(live_feed, publisher, reactions_on):
    draft = services.create_entry(feed=live_feed, by=publisher, body="Not yet", status="draft")
    gone = services.create_entry(feed=live_feed, by=publisher, body="Soon gone")
    services.delete_entry(entry=gone, by=publisher)
    for entry in (draft, gone):
        response = Client().post(reaction_url(entry), {"reaction": "like"}, content_type="application/json")
        assert response.status_code == 404
    assert not Reaction.objects.exists()


def test_reactions_reach_readers_coalesced(entry, reactions_on, published):
    for name in ["like"] * 7 + ["flag"] * 3:
        assert (
            Client()
            .post(reaction_url(entry), {"reaction": name}, content_type="application/json")
            .status_code
            == 200
        )
    assert timers.run_waiting() == 1
    (tally,) = [m for m in published if m["type"] == "participation.tally"]
    assert tally["box"] == "reactions" and tally["counts"] == {"like": 7, "flag": 3}


def test_reaction_counts_in_the_participation_state(entry, reactions_on):
    Client().post(reaction_url(entry), {"reaction": "love"}, content_type="application/json")
    state = Client().get(f"/api/feeds/{entry.feed.slug}/participation/").json()
    assert state["reactions_enabled"] is True
    assert state["reaction_counts"] == [{"entry": entry.pk, "counts": {"love": 1}}]
