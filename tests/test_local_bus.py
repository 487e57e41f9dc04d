"""The local bus of the embedded mode: what one process sends reaches the sockets of the others,
stale sockets are removed, oversized changes travel as their seq alone, and a server hands what
it receives to its readers and desk groups. Processes are played here by sockets and event loops
of this one; tests/e2e/test_embedded_mode.py runs the real ones."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from pathlib import Path
from unittest import mock

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connections

from feeds import services
from feeds.broadcast import local_bus
from feeds.broadcast.desk import desk_group_name
from feeds.broadcast.hub import hub
from feeds.broadcast.writers import Change
from livefeed.asgi import application
from tests.test_desk_consumer import ORIGIN, open_desk, session_cookie


@pytest.fixture
def bus(settings, tmp_path: Path) -> Path:
    directory = tmp_path / "bus"
    settings.LIVEFEED = {**settings.LIVEFEED, "BUS_DIR": str(directory)}
    settings.REDIS_URL = ""
    return directory


def other_process(directory: Path, name: str = "other.sock") -> socket.socket:
    """A socket on the bus, as another server process binds it."""
    directory.mkdir(parents=True, exist_ok=True)
    peer = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    peer.bind(str(directory / name))
    peer.settimeout(5)
    return peer


class Readers:
    def __init__(self) -> None:
        self.changes: list[tuple[str, Change]] = []
        self.arrived = asyncio.Event()

    def fan_out(self, feed_slug: str, change: Change) -> None:
        self.changes.append((feed_slug, change))
        self.arrived.set()


def test_the_bus_directory_follows_the_sqlite_file(settings, monkeypatch, tmp_path):
    settings.LIVEFEED = {**settings.LIVEFEED, "BUS_DIR": ""}
    database = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "site.sqlite3")}
    monkeypatch.setattr(connections["default"], "settings_dict", database)
    assert local_bus.bus_directory() == tmp_path / "site.sqlite3-bus"


def test_another_database_has_a_bus_directory_of_its_own_in_var(settings, monkeypatch, tmp_path):
    settings.LIVEFEED = {**settings.LIVEFEED, "BUS_DIR": ""}
    settings.VAR_DIR = tmp_path
    found = []
    for name in ("livefeed", "other_site"):
        database = {"ENGINE": "django.db.backends.postgresql", "HOST": "db", "PORT": 5432, "NAME": name}
        monkeypatch.setattr(connections["default"], "settings_dict", database)
        found.append(local_bus.bus_directory())
    assert [path.parent for path in found] == [tmp_path, tmp_path]
    assert found[0] != found[1] and all(path.name.startswith("bus-") for path in found)


def test_the_bus_directory_can_be_chosen(bus):
    assert local_bus.bus_directory() == bus


def test_a_change_reaches_every_other_process_and_not_the_sender(bus):
    peers = [other_process(bus, "a.sock"), other_process(bus, "b.sock")]
    local_bus.send_change(feed_slug="night-race", seq=7, text='{"seq":7}')
    assert local_bus.sender.flush(5)
    assert [peer.recv(1000) for peer in peers] == [b'change night-race 7 {"seq":7}'] * 2


def test_a_change_too_big_for_a_datagram_travels_as_its_seq_alone(bus):
    peer = other_process(bus)
    local_bus.send_change(feed_slug="night-race", seq=8, text="x" * (local_bus.MAX_DATAGRAM_BYTES + 1))
    assert local_bus.sender.flush(5)
    assert peer.recv(local_bus.MAX_DATAGRAM_BYTES * 2) == b"change night-race 8"


def test_a_desk_message_too_big_for_a_datagram_asks_the_desks_to_reload(bus):
    peer = other_process(bus)
    local_bus.send_to_group(
        group="desk.night-race",
        event={"type": "desk.change", "text": "x" * local_bus.MAX_DATAGRAM_BYTES},
        fallback={"type": "desk.reload"},
    )
    assert local_bus.sender.flush(5)
    assert peer.recv(local_bus.MAX_DATAGRAM_BYTES * 2) == b'group desk.night-race {"type": "desk.reload"}'


def test_the_socket_of_a_process_that_died_is_removed(bus):
    other_process(bus, "dead.sock").close()  # bound, then gone without removing its file
    alive = other_process(bus, "alive.sock")
    local_bus.send_change(feed_slug="night-race", seq=1, text="{}")
    assert local_bus.sender.flush(5)
    assert alive.recv(100) == b"change night-race 1 {}"
    assert sorted(os.listdir(bus)) == ["alive.sock"]


def test_sending_before_any_process_listens_creates_nothing_and_raises_nothing(bus):
    local_bus.send_change(feed_slug="night-race", seq=1, text="{}")
    assert local_bus.sender.flush(5)
    assert not bus.exists()


def test_with_redis_nothing_travels_over_the_local_bus(bus, settings):
    peer = other_process(bus)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    local_bus.send_change(feed_slug="night-race", seq=1, text="{}")
    assert local_bus.sender.flush(5)
    peer.settimeout(0.2)
    with pytest.raises(TimeoutError):
        peer.recv(100)


async def test_a_listening_process_hands_changes_to_its_readers(bus):
    readers = Readers()
    local_bus.listen(readers)
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(local_bus.listener.path)
    sender.sendto(b"not a message", path)  # ignored, with a log line
    sender.sendto(b"change night-race x {}", path)
    sender.sendto(b'change night-race 3 {"seq":3}', path)
    sender.sendto(b"change night-race 4", path)
    while len(readers.changes) < 2:
        readers.arrived.clear()
        await asyncio.wait_for(readers.arrived.wait(), timeout=5)
    (slug, full), (_, announced) = readers.changes
    assert (slug, full.seq, full.text) == ("night-race", 3, '{"seq":3}')
    assert (announced.seq, announced.text) == (4, None)


async def test_a_listening_process_relays_desk_events_to_its_group(bus):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("desk.night-race", channel)
    local_bus.listen(Readers())
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sender.sendto(
        b"group desk.night-race " + json.dumps({"type": "desk.change", "text": "{}"}).encode(),
        str(local_bus.listener.path),
    )
    assert await asyncio.wait_for(layer.receive(channel), timeout=5) == {"type": "desk.change", "text": "{}"}


async def test_stopping_removes_the_socket(bus):
    local_bus.listen(Readers())
    path = local_bus.listener.path
    assert path.exists()
    local_bus.reset()
    assert not path.exists()


@pytest.mark.django_db(transaction=True)
async def test_a_change_announced_by_its_seq_alone_is_filled_from_the_database(publisher, live_feed):
    communicator = WebsocketCommunicator(application, f"/ws/feeds/{live_feed.slug}/?after={live_feed.seq}")
    assert (await communicator.connect())[0]

    def commit_silently() -> tuple[int, int]:
        entry = services.create_entry(feed=live_feed, by=publisher, body="Too big to relay")
        return entry.pk, entry.seq

    # The change is committed while its message is lost; then only its seq arrives.
    with mock.patch("feeds.broadcast.publishing.publish"):
        entry_id, seq = await database_sync_to_async(commit_silently)()
    hub.fan_out(live_feed.slug, Change(seq, None))
    message = json.loads(await communicator.receive_from(timeout=3))
    assert (message["type"], message["seq"], message["entry"]["id"]) == ("entry.created", seq, entry_id)
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_desk_asked_to_reload_is_closed_so_it_reconnects(make_member, live_feed):
    editor = await database_sync_to_async(make_member)("Editor", "eve")
    cookie = await database_sync_to_async(session_cookie)(editor)
    communicator, connected, _ = await open_desk(live_feed.slug, cookie=cookie, origin=ORIGIN)
    assert connected
    await communicator.receive_from(timeout=3)  # the reader count: subscribed from here
    await get_channel_layer().group_send(desk_group_name(live_feed.slug), {"type": "desk.reload"})
    assert await communicator.receive_output(timeout=3) == {"type": "websocket.close", "code": 4012}
