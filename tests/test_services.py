"""The model rules, as the services enforce them on every path."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from feeds import broadcast, selectors, services
from feeds.models import Entry, Feed

pytestmark = pytest.mark.django_db


def test_each_visible_change_takes_the_next_seq(publisher, live_feed):
    start = live_feed.seq
    first = services.create_entry(feed=live_feed, by=publisher, body="one")
    second = services.create_entry(feed=live_feed, by=publisher, body="two")
    services.update_entry(entry=first, by=publisher, body="one, edited")
    live_feed.refresh_from_db()
    assert (second.seq, first.seq, live_feed.seq) == (start + 2, start + 3, start + 3)


def test_draft_takes_no_seq_until_published(publisher, live_feed):
    start = live_feed.seq
    draft = services.create_entry(feed=live_feed, by=publisher, body="later", status=Entry.Status.DRAFT)
    services.update_entry(entry=draft, by=publisher, body="later, reworded")
    live_feed.refresh_from_db()
    assert draft.seq is None and live_feed.seq == start
    services.update_entry(entry=draft, by=publisher, status=Entry.Status.PUBLISHED)
    assert draft.seq == draft.created_seq == start + 1
    assert draft.published_at is not None


def test_unchanged_save_takes_no_seq(publisher, live_feed):
    entry = services.create_entry(feed=live_feed, by=publisher, body="same")
    services.update_entry(entry=entry, by=publisher, body="same")
    live_feed.refresh_from_db()
    assert live_feed.seq == entry.seq


def test_feed_status_change_takes_a_seq(publisher):
    feed = services.create_feed(by=publisher, title="Qualifying", slug="qualifying")
    assert feed.seq == 0
    services.update_feed(feed=feed, by=publisher, status=Feed.Status.LIVE)
    assert feed.seq == feed.changed_seq == 1
    assert feed.coverage_start is not None
    services.update_feed(feed=feed, by=publisher, status=Feed.Status.ENDED)
    assert feed.changed_seq == 2 and feed.coverage_end >= feed.coverage_start


def test_markdown_is_sanitized_once_on_save(publisher, live_feed):
    entry = services.create_entry(
        feed=live_feed, by=publisher, body="**Green** <script>alert(1)</script> [x](javascript:alert(1))"
    )
    assert "<strong>Green</strong>" in entry.html
    assert "<script" not in entry.html and 'href="javascript' not in entry.html


def test_deleting_a_published_entry_leaves_a_tombstone(publisher, live_feed):
    entry = services.create_entry(feed=live_feed, by=publisher, headline="Crash", body="Turn 3")
    services.delete_entry(entry=entry, by=publisher)
    tombstone = Entry.objects.get(pk=entry.pk)
    assert tombstone.is_tombstone
    assert tombstone.headline == tombstone.body == tombstone.html == ""
    assert tombstone.seq == entry.created_seq + 1
    assert not Entry.objects.visible_to_readers().filter(pk=entry.pk).exists()


def test_deleting_a_never_published_draft_leaves_nothing(publisher, live_feed):
    draft = services.create_entry(feed=live_feed, by=publisher, body="x", status=Entry.Status.DRAFT)
    services.delete_entry(entry=draft, by=publisher)
    assert not Entry.objects.filter(pk=draft.pk).exists()


def test_drafts_are_invisible_to_readers(publisher, live_feed):
    services.create_entry(feed=live_feed, by=publisher, body="secret", status=Entry.Status.DRAFT)
    published = services.create_entry(feed=live_feed, by=publisher, body="public")
    page = selectors.entries_page(feed=live_feed)
    assert [entry.pk for entry in page.entries] == [published.pk]
    assert all("secret" not in str(message) for message in selectors.changes_after(feed=live_feed, after=0))


def test_entries_of_a_draft_feed_are_invisible(publisher):
    feed = services.create_feed(by=publisher, title="Not yet", slug="not-yet")
    services.create_entry(feed=feed, by=publisher, body="early")
    assert not Entry.objects.visible_to_readers().exists()
    with pytest.raises(Feed.DoesNotExist):
        selectors.feed_for_readers(slug="not-yet")


def test_pinning_an_entry_unpins_the_previous_one(publisher, live_feed):
    first = services.create_entry(feed=live_feed, by=publisher, body="first", pinned=True)
    second = services.create_entry(feed=live_feed, by=publisher, body="second", pinned=True)
    first.refresh_from_db()
    assert second.pinned and not first.pinned
    assert first.seq == second.seq + 1
    assert selectors.pinned_entry(feed=live_feed).pk == second.pk


def test_unpublishing_tells_readers_the_entry_is_gone(publisher, live_feed):
    entry = services.create_entry(feed=live_feed, by=publisher, body="oops")
    services.update_entry(entry=entry, by=publisher, status=Entry.Status.DRAFT)
    [message] = selectors.changes_after(feed=live_feed, after=entry.created_seq)
    assert message == {
        "type": "entry.deleted",
        "seq": entry.seq,
        "feed": live_feed.slug,
        "entry": {"id": entry.pk},
    }


def test_writing_needs_permission(django_user_model, live_feed):
    reader = django_user_model.objects.create_user(username="reader")
    with pytest.raises(PermissionDenied):
        services.create_entry(feed=live_feed, by=reader, body="hi")
    assert not Entry.objects.exists()


def test_empty_entry_is_refused_naming_the_field(publisher, live_feed):
    with pytest.raises(ValidationError) as error:
        services.create_entry(feed=live_feed, by=publisher, body="   ")
    assert "body" in error.value.message_dict


class RecordingListener:
    """A listener outside any event loop, so the broadcast hands it changes synchronously."""

    def __init__(self) -> None:
        self.changes: list[broadcast.Change] = []

    def deliver(self, change: broadcast.Change) -> None:
        self.changes.append(change)

    def interrupted(self) -> None:
        raise AssertionError("no Redis here, nothing to interrupt")


@pytest.fixture
def listener(live_feed):
    listener = RecordingListener()
    broadcast.hub.hub.add(live_feed.slug, listener, None)
    yield listener
    broadcast.hub.hub.remove(live_feed.slug, listener)


def test_change_is_broadcast_only_after_commit(
    publisher, live_feed, listener, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.create_entry(feed=live_feed, by=publisher, body="after commit")
        assert listener.changes == []
    assert len(listener.changes) == 1


def test_rolled_back_change_is_never_broadcast_and_returns_its_seq(
    publisher, live_feed, django_capture_on_commit_callbacks
):
    start = live_feed.seq
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                services.create_entry(feed=live_feed, by=publisher, body="rolled back")
                raise RuntimeError
    live_feed.refresh_from_db()
    assert callbacks == [] and live_feed.seq == start


def test_committed_change_is_broadcast_once_with_its_seq(
    publisher, live_feed, listener, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        entry = services.create_entry(feed=live_feed, by=publisher, body="hello")
    [change] = listener.changes
    assert change.seq == entry.seq and '"entry.created"' in change.text


def test_entries_posted_while_a_feed_is_a_draft_reach_readers_catching_up_when_it_goes_live(publisher):
    feed = services.create_feed(by=publisher, title="Prepared", slug="prepared")
    entry = services.create_entry(feed=feed, by=publisher, body="Written before the start")
    assert entry.seq is None
    services.update_feed(feed=feed, by=publisher, status="live")
    changes = selectors.changes_after(feed=Feed.objects.get(pk=feed.pk), after=0)
    assert [(change["type"], change.get("entry", {}).get("id")) for change in changes][-1] == (
        "entry.created",
        entry.pk,
    )
