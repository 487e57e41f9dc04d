"""A feed's whole life, as a model-based state machine: editors and readers act in random order,
and after every step every reader path must agree with the model.

Editors' rules call the services (what the admin, desk and API call); the worker's rule runs the
due publication tasks with the clock moved forward. Readers' rules connect in-process WebSocket
readers with any `after`, drop and resume them. The checks read every path a reader has: the
live page and its older pages, permalinks, the read API and its cursor, the events API, the
WebSocket (catch-up and live), Atom, RSS, JSON Feed, the widget, oEmbed, the sitemap and the
webhook outbox. Drafts appear on none of them; every visible entry appears on all of them, in its
latest version, in `seq` order, each change once.

Randomized every run: Hypothesis prints the failing steps and a `@reproduce_failure` blob.
`LIVEFEED_SOAK=1` (make soak) runs many more, longer lives.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import time
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from feeds import services
from feeds.models import Entry, Feed
from tests.fixtures.lifecycle_model import Content, ModelEntry, ModelFeed, token
from tests.fixtures.lifecycle_readers import ClientView, EventLoopThread, SocketReader, shown

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.needs_plugins]

SOAK = bool(os.environ.get("LIVEFEED_SOAK"))
# make test: a few short lives per database pass; make soak: many long ones.
EXAMPLES = 150 if SOAK else 5
STEPS = 120 if SOAK else 30
PAGE_SIZE = 3  # small, so the cursor of every paginated path is followed
MAX_ENTRIES = 40  # syndication shows the newest 50: keep every entry in it
MAX_FEEDS = 3
MAX_READERS = 4

KINDS = ["text", "quote", "social", "race_status", "image"]
FLAGS = ["green", "yellow", "red", "checkered"]


class Clock:
    """`timezone.now()` for everything in this process, moved forward by the worker's rule."""

    def __init__(self) -> None:
        self.offset = timedelta()
        self.real_now = timezone.now

    def now(self) -> Any:
        return self.real_now() + self.offset


def tiny_png() -> SimpleUploadedFile:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "PNG")
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


def new_content(kind: str, data: st.DataObject | None = None) -> Content:
    details: dict[str, Any] = {}
    if kind == "quote":
        details = {"speaker": "Driver", "role": "No. 7"}
    elif kind == "social":
        details = {"url": "https://bsky.app/profile/team/post/1", "author": "team"}
    elif kind == "race_status":
        details = {"flag": data.draw(st.sampled_from(FLAGS)) if data else "green"}
    elif kind == "image":
        details = {"alt": "The grid"}
    return Content(kind=kind, headline=token("h"), body_token=token("b"), details=details)


class FeedLifeMachine(RuleBasedStateMachine):
    """Editors, the worker and readers act; every reader path is checked after each step."""

    feeds = Bundle("feeds")
    entries = Bundle("entries")
    readers = Bundle("readers")

    # Set by the test before it runs the machine.
    editor: Any = None
    loop: EventLoopThread | None = None
    clock: Clock | None = None

    def __init__(self) -> None:
        super().__init__()
        self.model_feeds: list[ModelFeed] = []
        self.sockets: list[tuple[ModelFeed, SocketReader]] = []
        self.client = Client()
        self.ever_public: set[str] = set()
        self.entry_keys = 0
        # What the last step touched: only those feeds' pages are read again (readers always are).
        self.dirty_feeds: set[str] = set()
        self.dirty_entries: set[int] = set()

    def touched(self, feed: ModelFeed, entry: ModelEntry | None = None) -> None:
        self.dirty_feeds.add(feed.slug)
        if entry is None:
            self.dirty_entries.update(id(other) for other in feed.entries)
        else:
            self.dirty_entries.add(id(entry))

    # --- Feeds -------------------------------------------------------------------------------

    @precondition(lambda self: len(self.model_feeds) < MAX_FEEDS)
    @rule(target=feeds, status=st.sampled_from(["draft", "live"]))
    def create_feed(self, status: str) -> ModelFeed:
        from feeds.webhooks.models import WebhookSubscription

        key = len(self.model_feeds) + 1
        title, summary = token("t"), token("s")
        slug = f"life-{token('f')}"
        feed = services.create_feed(by=self.editor, title=title, slug=slug, summary=summary, status=status)
        model = ModelFeed(key=key, slug=slug, status=status, title=title, summary=summary)
        if model.visible:
            model.public_titles.add(title)
        # A partner subscribed from here on: the outbox must hold each later change once.
        WebhookSubscription.objects.create(feed=feed, url="https://partner.example/hook")
        model.webhook_from = Feed.objects.get(pk=feed.pk).seq
        self.model_feeds.append(model)
        self.touched(model)
        return model

    @rule(
        feed=feeds,
        status=st.sampled_from(["draft", "live", "ended"]),
        retitle=st.booleans(),
    )
    def change_feed(self, feed: ModelFeed, status: str, retitle: bool) -> None:
        """Take live, back to draft, end coverage, reopen; sometimes with a new title and summary."""
        changes: dict[str, Any] = {"status": status}
        if retitle:
            changes.update(title=token("t"), summary=token("s"))
        services.update_feed(feed=Feed.objects.get(slug=feed.slug), by=self.editor, **changes)
        feed.status = status
        if retitle:
            feed.title, feed.summary = changes["title"], changes["summary"]
        if feed.visible:
            feed.public_titles.add(feed.title)
        self.touched(feed)

    # --- Entries -----------------------------------------------------------------------------

    @precondition(lambda self: self.model_feeds)
    @rule(
        target=entries,
        feed=feeds,
        kind=st.sampled_from(KINDS),
        status=st.sampled_from(["published", "draft", "scheduled"]),
        pinned=st.booleans(),
        key_event=st.booleans(),
        minutes=st.integers(1, 30),
        data=st.data(),
    )
    def post_entry(
        self, feed: ModelFeed, kind: str, status: str, pinned: bool, key_event: bool, minutes: int, data: Any
    ) -> ModelEntry:
        if len(feed.entries) >= MAX_ENTRIES:
            return consumes_nothing()
        content = new_content(kind, data)
        self.entry_keys += 1
        entry = ModelEntry(
            key=self.entry_keys,
            feed=feed,
            content=content,
            status="draft" if status == "scheduled" else status,
            pinned=pinned,
            key_event=key_event,
        )
        publish_at = None
        if status == "scheduled":
            entry.scheduled_for = self.minutes_now() + minutes
            publish_at = self.clock.now() + timedelta(minutes=minutes)
        saved = services.create_entry(
            feed=Feed.objects.get(slug=feed.slug),
            by=self.editor,
            kind=kind,
            headline=content.headline,
            body=content.body,
            details=dict(content.details),
            image=tiny_png() if kind == "image" else None,
            status=entry.status,
            pinned=pinned,
            key_event=key_event,
            publish_at=publish_at,
        )
        entry.pk = saved.pk
        feed.entries.append(entry)
        feed.pinned_after_change(entry)
        self.touched(feed, entry)
        if pinned:
            self.touched(feed)
        return entry

    def _update(self, entry: ModelEntry, **changes: Any) -> None:
        services.update_entry(entry=Entry.objects.get(pk=entry.pk), by=self.editor, **changes)
        self.touched(entry.feed, entry)
        if entry.pinned or changes.get("pinned"):
            self.touched(entry.feed)  # pinning one entry may unpin the others

    @rule(entry=entries, data=st.data())
    def edit_entry(self, entry: ModelEntry, data: Any) -> None:
        """Edit an entry silently or, one readers see, as a visible correction: readers then see the
        note and the wording they saw before."""
        if entry.deleted:
            return
        content = new_content(entry.content.kind, data)
        changes = {"headline": content.headline, "body": content.body, "details": dict(content.details)}
        if entry.visible and data.draw(st.booleans(), label="as a correction"):
            saved = Entry.objects.get(pk=entry.pk)
            services.correct_entry(entry=saved, by=self.editor, note=f"Corrected {entry.key}", **changes)
            self.touched(entry.feed, entry)
            if entry.pinned:
                self.touched(entry.feed)
            entry.corrections.append(entry.content)
        else:
            self._update(entry, **changes)
        entry.versions.append(entry.content)
        entry.content = content
        entry.feed.pinned_after_change(entry)

    @rule(entry=entries, pinned=st.booleans())
    def pin(self, entry: ModelEntry, pinned: bool) -> None:
        if entry.deleted or entry.pinned == pinned:
            return
        self._update(entry, pinned=pinned)
        entry.pinned = pinned
        entry.feed.pinned_after_change(entry)

    @rule(entry=entries, key_event=st.booleans())
    def mark_key(self, entry: ModelEntry, key_event: bool) -> None:
        if entry.deleted or entry.key_event == key_event:
            return
        self._update(entry, key_event=key_event)
        entry.key_event = key_event
        entry.feed.pinned_after_change(entry)

    @rule(entry=entries, minutes=st.integers(1, 30))
    def schedule(self, entry: ModelEntry, minutes: int) -> None:
        """Schedule for later: a published entry is taken back until then."""
        if entry.deleted:
            return
        self._update(entry, publish_at=self.clock.now() + timedelta(minutes=minutes))
        entry.status = "draft"
        entry.scheduled_for = self.minutes_now() + minutes

    @rule(entry=entries)
    def publish(self, entry: ModelEntry) -> None:
        if entry.deleted or entry.status == "published":
            return
        self._update(entry, status="published")
        entry.status, entry.scheduled_for = "published", None
        entry.feed.pinned_after_change(entry)

    @rule(entry=entries)
    def unpublish(self, entry: ModelEntry) -> None:
        if entry.deleted or entry.status != "published":
            return
        self._update(entry, status="draft")
        entry.status = "draft"

    @rule(entry=consumes(entries))
    def delete(self, entry: ModelEntry) -> None:
        if entry.deleted:
            return
        services.delete_entry(entry=Entry.objects.get(pk=entry.pk), by=self.editor)
        self.touched(entry.feed, entry)
        entry.deleted, entry.pinned, entry.key_event, entry.scheduled_for = True, False, False, None
        entry.corrections = []

    @rule(entry=entries, data=st.data())
    def restore(self, entry: ModelEntry, data: Any) -> None:
        """Bring back an earlier version from the entry's history."""
        if entry.deleted or not entry.versions:
            return
        version = data.draw(st.sampled_from(entry.versions), label="version")
        saved = Entry.objects.get(pk=entry.pk)
        record = saved.history.filter(headline=version.headline).order_by("history_id").first()
        assert record is not None, f"version {version.headline} is missing from the entry's history"
        services.restore_entry_version(entry=saved, by=self.editor, history_id=record.history_id)
        self.touched(entry.feed)
        entry.versions.append(entry.content)
        entry.content = version
        entry.feed.pinned_after_change(entry)

    @rule(minutes=st.integers(1, 40))
    def worker_runs(self, minutes: int) -> None:
        """Time passes and the worker runs the publication tasks that are due."""
        from django_tasks_db.models import DBTaskResult

        from feeds.tasks import publish_at_time

        self.clock.offset += timedelta(minutes=minutes)
        now = self.minutes_now()
        for result in DBTaskResult.objects.ready().filter(task_path=publish_at_time.module_path):
            result.set_successful(publish_at_time.call(**result.args_kwargs["kwargs"]))
        for feed in self.model_feeds:
            due = sorted(
                (
                    entry
                    for entry in feed.entries
                    if entry.scheduled_for is not None and entry.scheduled_for <= now
                ),
                key=lambda entry: entry.scheduled_for,
            )
            for entry in due:
                entry.status, entry.scheduled_for = "published", None
                feed.pinned_after_change(entry)
                self.touched(feed)

    def minutes_now(self) -> float:
        return self.clock.offset.total_seconds() / 60

    # --- Readers -----------------------------------------------------------------------------

    @precondition(lambda self: self.model_feeds and len(self.sockets) < MAX_READERS)
    @rule(
        target=readers,
        feed=feeds,
        after=st.sampled_from(["none", "zero", "current", "snapshot", "ahead"]),
        data=st.data(),
    )
    def reader_connects(self, feed: ModelFeed, after: str, data: Any) -> SocketReader:
        from livefeed.asgi import application

        current = Feed.objects.get(slug=feed.slug).seq
        view = ClientView()
        reader = SocketReader(self.loop, application, feed.slug, view)
        if not feed.visible:
            start = None if after == "none" else 0  # refused whatever it asks
        elif after == "none":
            view.synced, view.last_seq, start = False, current, None
        elif after == "zero":
            start = 0
        elif after == "current" or (after == "snapshot" and not feed.snapshots):
            start = self.load_page_state(feed, view)
        elif after == "snapshot":
            start = data.draw(st.sampled_from(sorted(feed.snapshots)), label="snapshot seq")
            view.last_seq, view.entries = start, dict(feed.snapshots[start])
        else:
            start = current + data.draw(st.integers(1, 1000), label="ahead by")
            view.last_seq = start
        if start is not None:
            view.last_seq = start
        self.sockets.append((feed, reader))
        self.connect(feed, reader, start)
        return reader

    def connect(self, feed: ModelFeed, reader: SocketReader, after: int | None) -> None:
        """Connect and take the catch-up: never more than a page of changes, else a reset."""
        current = Feed.objects.get(slug=feed.slug).seq
        reader.connect(after)
        if after is not None and after > current:
            reader.expect_reset = True
        before = len(reader.view.seqs)
        self.drain(reader, until=current)
        burst = len(reader.view.seqs) - before
        assert burst <= PAGE_SIZE, f"a reader {current - (after or 0)} changes behind got a burst of {burst}"

    def load_page_state(self, feed: ModelFeed, view: ClientView) -> int:
        """What a reader's browser starts from: the read API, every page of it, and its seq."""
        seq, entries = self.read_api(feed)
        view.last_seq, view.entries = seq, entries
        return seq

    @rule(reader=readers)
    def reader_drops(self, reader: SocketReader) -> None:
        self.drain(reader)
        reader.drop()

    @rule(reader=readers)
    def reader_resumes(self, reader: SocketReader) -> None:
        if reader.connected:
            return
        self.connect(
            next(feed for feed, other in self.sockets if other is reader), reader, reader.view.last_seq
        )

    # --- Checks ------------------------------------------------------------------------------

    @invariant()
    def every_reader_path_agrees_with_the_model(self) -> None:
        for feed in self.model_feeds:
            self.ever_public |= feed.tokens_now_public() if feed.visible else set()
        for feed in self.model_feeds:
            self.check_feed(feed)
        if self.dirty_feeds:
            self.check_sitemap()
        self.dirty_feeds.clear()
        self.dirty_entries.clear()

    def check_feed(self, feed: ModelFeed) -> None:
        db_feed = Feed.objects.get(slug=feed.slug)
        assert db_feed.status == feed.status
        if feed.slug not in self.dirty_feeds:
            self.check_sockets(feed, db_feed.seq)
            return
        hidden = feed.tokens_not_shown()
        paths = [
            f"/feeds/{feed.slug}/",
            f"/api/feeds/{feed.slug}/",
            f"/api/feeds/{feed.slug}/events/",
            f"/feeds/{feed.slug}/atom/",
            f"/feeds/{feed.slug}/rss/",
            f"/feeds/{feed.slug}/feed.json",
            f"/feeds/{feed.slug}/embed/?entries=50",
        ]
        if not feed.visible:
            for path in paths:
                assert self.client.get(path).status_code == 404, f"{path} of a draft feed"
            for entry in self.dirty(feed):
                assert self.client.get(f"/feeds/{feed.slug}/entries/{entry.pk}/").status_code == 404
                assert self.oembed(f"/feeds/{feed.slug}/entries/{entry.pk}/").status_code == 404
            assert self.oembed(f"/feeds/{feed.slug}/").status_code == 404
        else:
            expected = feed.expected()
            self.check_read_api(feed, expected)
            self.check_live_page(feed, expected, hidden)
            self.check_permalinks(feed, expected, hidden)
            self.check_events_api(feed, expected, db_feed.seq)
            self.check_syndication(feed, expected, hidden)
            feed.snapshots[db_feed.seq] = {
                pk: self.as_model(value) for pk, value in self.read_api(feed)[1].items()
            }
        self.check_webhooks(feed, db_feed.seq)
        self.check_sockets(feed, db_feed.seq)

    # Each path, one by one.

    def read_api(self, feed: ModelFeed) -> tuple[int, dict[int, Any]]:
        """The feed's seq and every entry of the read API, following its `older` cursor."""
        response = self.client.get(f"/api/feeds/{feed.slug}/")
        assert response.status_code == 200, response.content[:300]
        first = response.json()
        seq = first["feed"]["seq"]
        entries: list[dict[str, Any]] = []
        body = first
        while True:
            entries.extend(body["entries"])
            if not body["older_cursor"]:
                break
            response = self.client.get(f"/api/feeds/{feed.slug}/", {"before": body["older_cursor"]})
            assert response.status_code == 200
            body = response.json()
        ids = [entry["id"] for entry in entries]
        assert len(ids) == len(set(ids)), f"an entry twice across the API's pages: {ids}"
        order = [(entry["published_at"], entry["id"]) for entry in entries]
        unpublished = [
            (entry["id"], entry["kind"], entry["seq"]) for entry in entries if entry["published_at"] is None
        ]
        assert not unpublished, f"visible entries without a publication time (id, kind, seq): {unpublished}"
        assert order == sorted(order, reverse=True), "the API's pages are not newest first"
        assert all(isinstance(entry["seq"], int) and 0 < entry["seq"] <= seq for entry in entries)
        if first["pinned"] is not None:
            assert first["pinned"]["id"] in ids
        self.api_pinned = first["pinned"]
        return seq, {entry["id"]: shown(entry) for entry in entries}

    @staticmethod
    def as_model(value: tuple[str, str, bool, bool]) -> tuple[str, str, bool, bool]:
        """A reader's copy (with HTML) in the model's terms (with the body's token)."""
        headline, html, pinned, key_event = value
        found = re.findall(r"\bb\d+z\b", html)
        return (headline, found[0] if len(found) == 1 else html, pinned, key_event)

    def assert_same(self, what: str, seen: dict[int, Any], expected: dict[int, Any]) -> None:
        seen_model = {pk: self.as_model(value) for pk, value in seen.items()}
        missing = sorted(set(expected) - set(seen_model))
        extra = sorted(set(seen_model) - set(expected))
        assert not missing and not extra, (
            f"{what}: missing entries {missing}, entries that should not be there {extra}"
        )
        stale = {pk: (seen_model[pk], expected[pk]) for pk in expected if seen_model[pk] != expected[pk]}
        assert not stale, f"{what}: entries not in their latest version (seen, expected): {stale}"

    def check_read_api(self, feed: ModelFeed, expected: dict[int, Any]) -> None:
        _, entries = self.read_api(feed)
        self.assert_same("read API", entries, expected)
        pinned = {pk for pk, value in expected.items() if value[2]}
        assert (self.api_pinned["id"] if self.api_pinned else None) in (pinned or {None})

    def assert_text(self, what: str, text: str, expected: dict[int, Any], hidden: set[str]) -> None:
        for pk, (_, body_token, _, _) in expected.items():
            assert body_token in text, f"{what}: entry {pk} ({body_token}) is missing"
        leaked = sorted(value for value in hidden if value in text)
        assert not leaked, f"{what}: shows what readers must not see: {leaked}"

    def check_live_page(self, feed: ModelFeed, expected: dict[int, Any], hidden: set[str]) -> None:
        pages, query = [], {}
        while True:
            response = self.client.get(f"/feeds/{feed.slug}/", query)
            assert response.status_code == 200, response.content[:300]
            pages.append(response.content.decode())
            cursor = response.context["next_cursor"]
            if not cursor:
                break
            query = {"before": cursor}
        text = "\n".join(pages)
        self.assert_text("live page", text, expected, hidden)
        earlier = {
            (entry.pk, version.body_token)
            for entry in feed.entries
            if entry.visible
            for version in entry.corrections
        }
        missing = sorted(pair for pair in earlier if pair[1] not in text)
        assert not missing, f"live page: corrected entries without their earlier wording: {missing}"
        assert feed.title in pages[0], "the live page does not show the feed's title"

    def dirty(self, feed: ModelFeed) -> list[ModelEntry]:
        return [entry for entry in feed.entries if id(entry) in self.dirty_entries]

    def check_permalinks(self, feed: ModelFeed, expected: dict[int, Any], hidden: set[str]) -> None:
        for entry in self.dirty(feed):
            path = f"/feeds/{feed.slug}/entries/{entry.pk}/"
            response = self.client.get(path)
            embed = self.oembed(path)
            if entry.pk in expected:
                assert response.status_code == 200, f"permalink {path}: {response.status_code}"
                assert entry.content.body_token in response.content.decode()
                assert embed.status_code == 200 and embed.json()["title"] in (
                    entry.content.headline,
                    feed.title,
                )
            else:
                assert response.status_code == 404, (
                    f"permalink of a hidden entry {path}: {response.status_code}"
                )
                assert embed.status_code == 404, f"oEmbed of a hidden entry {path}"
        embed = self.oembed(f"/feeds/{feed.slug}/")
        assert embed.status_code == 200 and embed.json()["title"] == feed.title

    def oembed(self, path: str) -> Any:
        return self.client.get("/oembed/", {"url": f"http://testserver{path}"})

    def check_events_api(self, feed: ModelFeed, expected: dict[int, Any], seq: int) -> None:
        response = self.client.get(f"/api/feeds/{feed.slug}/events/", {"after": 0})
        assert response.status_code == 200
        body = response.json()
        assert body["seq"] == seq
        view = ClientView()
        for message in body["events"]:
            view.apply(message)
            self.check_message(feed, message)
        assert not view.problems, f"events API: {view.problems}"
        self.assert_same("events API from 0", view.entries, expected)
        for start in sorted(feed.snapshots)[-2:]:
            later = self.client.get(f"/api/feeds/{feed.slug}/events/", {"after": start}).json()["events"]
            view = ClientView(last_seq=start, entries=self.snapshot_view(feed, start))
            for message in later:
                view.apply(message)
            assert not view.problems, f"events API after {start}: {view.problems}"
            self.assert_same(f"events API after {start}", view.entries, expected)

    def snapshot_view(self, feed: ModelFeed, seq: int) -> dict[int, Any]:
        """A snapshot in a reader's terms: its body token stands for the HTML."""
        return dict(feed.snapshots[seq])

    def check_message(self, feed: ModelFeed, message: dict[str, Any]) -> None:
        """No message names a title the feed never showed readers, or an entry's hidden version."""
        if message.get("type") == "feed.updated":
            title = message["feed_data"]["title"]
            assert title in feed.public_titles, f"feed message leaks a title readers never saw: {title}"
        text = json.dumps(message)
        leaked = [value for value in re.findall(r"\b[hb]\d+z\b", text) if value not in self.ever_public]
        assert not leaked, f"a message carries text readers never saw: {leaked}"

    def check_syndication(self, feed: ModelFeed, expected: dict[int, Any], hidden: set[str]) -> None:
        for path in ("atom/", "rss/", "feed.json", "embed/?entries=50"):
            response = self.client.get(f"/feeds/{feed.slug}/{path}")
            assert response.status_code == 200, f"{path}: {response.status_code}"
            self.assert_text(path, response.content.decode(), expected, hidden)

    def check_sitemap(self) -> None:
        text = self.client.get("/sitemap.xml").content.decode()
        for feed in self.model_feeds:
            assert (f"/feeds/{feed.slug}/<" in text) == feed.visible, (
                f"sitemap and feed {feed.slug} ({feed.status})"
            )

    def check_webhooks(self, feed: ModelFeed, seq: int) -> None:
        from feeds.webhooks.models import WebhookDelivery

        rows = list(
            WebhookDelivery.objects.filter(subscription__feed__slug=feed.slug)
            .order_by("id")
            .values("seq", "body")
        )
        seqs = [row["seq"] for row in rows]
        assert seqs == list(range(feed.webhook_from + 1, seq + 1)), (
            f"webhook outbox seqs {seqs}, feed at {seq}"
        )
        view = ClientView(last_seq=feed.webhook_from)
        for row in rows:
            message = json.loads(row["body"])
            view.apply(message)
            self.check_message(feed, message)
        assert not view.problems
        if feed.visible:
            self.assert_same("webhook outbox", view.entries, feed.expected())

    def check_sockets(self, feed: ModelFeed, seq: int) -> None:
        for reader_feed, reader in self.sockets:
            if reader_feed is not feed:
                continue
            if reader.connected:
                self.drain(reader, until=seq)
            if reader.close_code == 4404:
                assert not feed.visible, "a reader of a visible feed was refused"
                reader.close_code, reader.expect_reset = None, False
            elif reader.connected and not feed.visible and reader.view.last_seq < seq:
                pass  # it is told the feed was taken back (the last change), and nothing more
            view = reader.view
            assert not view.problems, f"WebSocket reader: {view.problems}"
            for message in view.messages:
                self.check_message(feed, message)
            view.messages.clear()
            if reader.connected and feed.visible:
                assert not reader.expect_reset, "a reader ahead of the feed was not told to reset"
                if view.synced:
                    self.assert_same("WebSocket reader", view.entries, feed.expected())
                else:
                    expected = feed.expected()
                    seen = {pk: self.as_model(value) for pk, value in view.entries.items()}
                    stale = {pk: value for pk, value in seen.items() if expected.get(pk) != value}
                    assert not stale, f"WebSocket reader (joined without after) holds stale entries {stale}"

    def drain(self, reader: SocketReader, until: int | None = None) -> None:
        """Apply what the reader was sent; with `until`, wait until it reached that seq (or a reset)."""
        while reader.connected:
            waiting = until is not None and (reader.view.last_seq < until or reader.expect_reset)
            message = reader.receive(timeout=3 if waiting else 0.01)
            if message is None:
                assert not waiting or not reader.connected, (
                    f"WebSocket reader stuck at seq {reader.view.last_seq}, feed at {until}"
                    + (" (expects a reset)" if reader.expect_reset else "")
                )
                return
            if message.get("type") == "feed.reset":
                reader.expect_reset = False
            reader.view.apply(message, reload=lambda: self.reload(reader))

    def reload(self, reader: SocketReader) -> tuple[int, dict[int, Any]]:
        feed = next(feed for feed, other in self.sockets if other is reader)
        return self.read_api(feed)

    def teardown(self) -> None:
        for _, reader in self.sockets:
            try:
                reader.drop()
            except Exception:
                pass


def consumes_nothing() -> Any:
    from hypothesis.stateful import multiple

    return multiple()


@pytest.fixture
def lifecycle_machine(publisher, settings, tmp_path):
    settings.LIVEFEED = {**settings.LIVEFEED, "PAGE_SIZE": PAGE_SIZE}
    settings.MEDIA_ROOT = tmp_path / "media"
    logging.getLogger("django.request").setLevel(logging.ERROR)  # the checks expect many 404s
    clock = Clock()
    loop = EventLoopThread()
    FeedLifeMachine.editor, FeedLifeMachine.loop, FeedLifeMachine.clock = publisher, loop, clock
    with mock.patch("django.utils.timezone.now", clock.now):
        yield FeedLifeMachine
    loop.close()


def test_every_reader_path_agrees_with_the_model_through_a_feeds_life(lifecycle_machine):
    phases = [Phase.generate] if os.environ.get("LIVEFEED_NO_SHRINK") else list(Phase)
    run_state_machine_as_test(
        lifecycle_machine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            print_blob=True,
            phases=phases,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


# --- Real processes ---------------------------------------------------------------------------
# A smaller machine with real processes: two Daphne servers sharing a real Redis, editors writing
# through either one's API, readers on real WebSockets that drop and resume with `?after=`, and
# Redis killed and brought back. After each step every reader must reach the model's state.

PROCESS_EXAMPLES = 10 if SOAK else 2
PROCESS_STEPS = 60 if SOAK else 14


class RedisProcess:
    """A Redis server the machine may kill and bring back on the same port."""

    def __init__(self, directory: Any) -> None:
        from contextlib import ExitStack

        self.directory, self.stack, self.server = directory, ExitStack(), None
        self.start()
        self.url = self.server.url

    def start(self) -> None:
        from tests.fixtures import servers

        port = self.server.port if self.server else None
        self.server = self.stack.enter_context(servers.redis_server(self.directory, port=port))
        self.up = True

    def kill(self) -> None:
        self.server.process.kill()
        self.server.process.wait()
        self.up = False

    def close(self) -> None:
        self.stack.close()


class NetworkReader:
    """A reader on a real WebSocket, resuming from its last seq like the page's script."""

    def __init__(self, view: ClientView) -> None:
        self.view, self.socket, self.close_code = view, None, None

    def connect(self, ws_url: str, slug: str) -> None:
        from websockets.sync.client import connect

        self.socket = connect(
            f"{ws_url}/ws/feeds/{slug}/?after={self.view.last_seq}",
            open_timeout=10,
            max_size=None,
            legacy=True,
        )

    def receive(self, timeout: float) -> dict[str, Any] | None:
        from websockets.exceptions import ConnectionClosed

        try:
            return json.loads(self.socket.recv(timeout=timeout))
        except TimeoutError:
            return None
        except ConnectionClosed as closed:
            self.close_code = closed.rcvd.code if closed.rcvd else None
            self.socket = None
            return None

    def drop(self) -> None:
        if self.socket is not None:
            self.socket.close()
            self.socket = None


class ProcessLifeMachine(RuleBasedStateMachine):
    editor: Any = None
    servers: list[Any] = []
    redis: RedisProcess | None = None

    def __init__(self) -> None:
        super().__init__()
        self.feed: ModelFeed | None = None
        self.readers: list[NetworkReader] = []
        self.ever_public: set[str] = set()

    def api(self, method: str, path: str, server: int = 0, **data: Any) -> Any:
        import httpx2 as httpx

        response = httpx.request(
            method,
            f"{self.servers[server].url}/api/feeds/{path}",
            json=data or None,
            headers={"Authorization": f"Bearer {self.editor.token}"},
            timeout=20,
        )
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text[:300]}"
        return response.json() if response.content else None

    @initialize()
    def a_live_feed_and_two_readers(self) -> None:
        title = token("t")
        slug = f"proc-{token('f')}"
        self.api("POST", "", title=title, slug=slug, status="live")
        self.feed = ModelFeed(key=1, slug=slug, status="live", title=title, summary="", public_titles={title})
        seq = Feed.objects.get(slug=slug).seq
        for server in self.servers:
            reader = NetworkReader(ClientView(last_seq=seq))
            reader.connect(server.ws_url, slug)
            self.readers.append(reader)

    @rule(server=st.integers(0, 1), status=st.sampled_from(["published", "draft"]), pinned=st.booleans())
    def post(self, server: int, status: str, pinned: bool) -> None:
        if len(self.feed.entries) >= 12:
            return
        content = Content(kind="text", headline=token("h"), body_token=token("b"), details={})
        saved = self.api(
            "POST",
            f"{self.feed.slug}/entries/",
            server,
            headline=content.headline,
            body=content.body,
            status=status,
            pinned=pinned,
        )
        entry = ModelEntry(
            key=saved["id"], feed=self.feed, content=content, status=status, pinned=pinned, pk=saved["id"]
        )
        self.feed.entries.append(entry)
        self.feed.pinned_after_change(entry)

    @rule(
        server=st.integers(0, 1),
        index=st.integers(0, 11),
        action=st.sampled_from(["edit", "publish", "pin", "delete"]),
    )
    def change_entry(self, server: int, index: int, action: str) -> None:
        alive = self.feed.live_entries()
        if not alive:
            return
        entry = alive[index % len(alive)]
        path = f"{self.feed.slug}/entries/{entry.pk}/"
        if action == "delete":
            self.api("DELETE", path, server)
            entry.deleted, entry.pinned = True, False
            return
        if action == "edit":
            content = Content(kind="text", headline=token("h"), body_token=token("b"), details={})
            self.api("PATCH", path, server, headline=content.headline, body=content.body)
            entry.versions.append(entry.content)
            entry.content = content
        elif action == "publish":
            if entry.status == "published":
                return
            self.api("PATCH", path, server, status="published")
            entry.status = "published"
        else:
            self.api("PATCH", path, server, pinned=not entry.pinned)
            entry.pinned = not entry.pinned
        self.feed.pinned_after_change(entry)

    @rule(server=st.integers(0, 1), status=st.sampled_from(["draft", "live", "ended"]))
    def change_feed(self, server: int, status: str) -> None:
        if status == self.feed.status:
            return
        self.api("PATCH", f"{self.feed.slug}/", server, status=status)
        self.feed.status = status

    @rule(index=st.integers(0, 1))
    def reader_drops(self, index: int) -> None:
        self.readers[index].drop()

    @rule(index=st.integers(0, 1), server=st.integers(0, 1))
    def reader_resumes(self, index: int, server: int) -> None:
        reader = self.readers[index]
        if reader.socket is None and self.feed.visible:
            reader.connect(self.servers[server].ws_url, self.feed.slug)

    @precondition(lambda self: self.redis.up)
    @rule()
    def redis_lost(self) -> None:
        self.redis.kill()

    @precondition(lambda self: not self.redis.up)
    @rule()
    def redis_back(self) -> None:
        self.redis.start()

    @invariant()
    def every_reader_reaches_the_model(self) -> None:
        if self.feed is None:
            return
        if self.feed.visible:
            self.ever_public |= self.feed.tokens_now_public()
        seq = Feed.objects.get(slug=self.feed.slug).seq
        # Live delivery needs Redis; without it a reader is only brought up to date by resuming.
        deadline = time.monotonic() + (40 if self.redis.up else 1)
        for number, reader in enumerate(self.readers):
            while reader.view.last_seq < seq and time.monotonic() < deadline:
                if reader.socket is None:
                    if not self.feed.visible or reader.close_code == 4404 and not self.redis.up:
                        break
                    # Like the page's script: a closed reader resumes from its last seq, on either server.
                    try:
                        reader.connect(self.servers[number % 2].ws_url, self.feed.slug)
                    except Exception:
                        time.sleep(0.2)
                        continue
                message = reader.receive(timeout=0.5)
                if message is not None:
                    reader.view.apply(message, reload=lambda: self.reload())
                    self.check_message(message)
            assert not reader.view.problems, f"reader {number}: {reader.view.problems}"
            if self.redis.up and self.feed.visible:
                assert reader.view.last_seq >= seq, (
                    f"reader {number} stuck at {reader.view.last_seq}, feed at {seq}"
                )
                expected = self.feed.expected()
                seen = {pk: FeedLifeMachine.as_model(value) for pk, value in reader.view.entries.items()}
                assert seen == expected, f"reader {number} sees {seen}, the model {expected}"

    def check_message(self, message: dict[str, Any]) -> None:
        if message.get("type") == "feed.updated":
            assert message["feed_data"]["title"] in self.feed.public_titles
        leaked = [
            value
            for value in re.findall(r"\b[hb]\d+z\b", json.dumps(message))
            if value not in self.ever_public
        ]
        assert not leaked, f"a message carries text readers never saw: {leaked}"

    def reload(self) -> tuple[int, dict[int, Any]]:
        import httpx2 as httpx

        seq, entries, query = None, {}, {}
        while True:
            body = httpx.get(
                f"{self.servers[0].url}/api/feeds/{self.feed.slug}/", params=query, timeout=20
            ).json()
            seq = body["feed"]["seq"] if seq is None else seq
            entries.update({entry["id"]: shown(entry) for entry in body["entries"]})
            if not body["older_cursor"]:
                return seq, entries
            query = {"before": body["older_cursor"]}

    def teardown(self) -> None:
        for reader in self.readers:
            reader.drop()
        if self.redis is not None and not self.redis.up:
            self.redis.start()


def test_readers_of_two_processes_agree_with_the_model_through_redis_faults(
    start_daphne, publisher, tmp_path
):
    redis = RedisProcess(tmp_path / "redis")
    try:
        ProcessLifeMachine.editor, ProcessLifeMachine.redis = publisher, redis
        ProcessLifeMachine.servers = [
            start_daphne(REDIS_URL=redis.url, LIVEFEED_PAGE_SIZE=str(PAGE_SIZE)) for _ in range(2)
        ]
        run_state_machine_as_test(
            ProcessLifeMachine,
            settings=settings(
                max_examples=PROCESS_EXAMPLES,
                stateful_step_count=PROCESS_STEPS,
                deadline=None,
                database=None,
                print_blob=True,
                phases=[Phase.generate] if os.environ.get("LIVEFEED_NO_SHRINK") else list(Phase),
                suppress_health_check=list(HealthCheck),
            ),
        )
    finally:
        redis.close()
