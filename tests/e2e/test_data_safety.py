"""Kill a server in the middle of a burst of posts: only whole entries remain, each with its own
seq, nothing confirmed is lost, and readers' catch-up matches the database."""

from __future__ import annotations

import signal
import threading
import time

import httpx2 as httpx
import pytest

from feeds.models import Entry, Feed
from feeds.rendering import render_markdown

pytestmark = pytest.mark.django_db(transaction=True)

WRITERS = 6


def test_killing_a_server_mid_burst_leaves_only_whole_entries(start_daphne, publisher, live_feed):
    server = start_daphne(API_WRITE_RATE="100000/min")
    confirmed: dict[int, int] = {}  # entry id -> the post number n it was sent with
    stop = threading.Event()

    def write(writer: int) -> None:
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {publisher.token}"}, timeout=5
        ) as client:
            n = 0
            while not stop.is_set():
                try:
                    response = client.post(
                        f"/api/feeds/{live_feed.slug}/entries/",
                        json={"headline": f"Writer {writer} post {n}", "body": f"Lap **{n}** report " * 20},
                    )
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code == 201:
                    confirmed[response.json()["id"]] = n
                n += 1

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while len(confirmed) < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.process.send_signal(signal.SIGKILL)
    stop.set()
    for thread in threads:
        thread.join(10)
    server.process.wait(10)

    feed = Feed.objects.get(pk=live_feed.pk)
    entries = list(Entry.objects.filter(feed=feed))
    assert len(confirmed) >= 30
    assert set(confirmed) <= {entry.pk for entry in entries}, "every confirmed entry is stored"
    assert all(
        entry.seq and entry.published_at and entry.html == render_markdown(entry.body) for entry in entries
    )
    seqs = sorted([entry.seq for entry in entries] + [feed.changed_seq])
    assert seqs == list(range(1, feed.seq + 1)), "one seq per change, none shared, none skipped"

    restarted = start_daphne()
    events = httpx.get(f"{restarted.url}/api/feeds/{feed.slug}/events/?after=0", timeout=10).json()
    assert events["seq"] == feed.seq
    assert sorted(e["entry"]["id"] for e in events["events"] if e["type"] == "entry.created") == sorted(
        entry.pk for entry in entries
    )
    # Against what was posted and stored, not the code that built the answer: every change once,
    # in seq order, each confirmed entry exactly as it was sent.
    by_id = {entry.pk: entry for entry in entries}
    expected = sorted(
        [(feed.changed_seq, "feed.updated", None)] + [(e.seq, "entry.created", e.pk) for e in entries]
    )
    assert [(e["seq"], e["type"], e.get("entry", {}).get("id")) for e in events["events"]] == expected
    for event in events["events"]:
        if event["type"] != "entry.created":
            assert event["feed_data"]["status"] == "live" and event["feed_data"]["title"] == live_feed.title
            continue
        entry = event["entry"]
        assert entry["seq"] == event["seq"] == by_id[entry["id"]].seq
        assert entry["headline"].startswith("Writer ") and entry["author"] == "Eddie Tor"
        if entry["id"] in confirmed:
            n = confirmed[entry["id"]]
            assert entry["headline"].endswith(f" post {n}")
            assert entry["html"] == "<p>" + " ".join([f"Lap <strong>{n}</strong> report"] * 20) + "</p>"
