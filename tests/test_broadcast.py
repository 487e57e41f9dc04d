"""How a change is written to readers (the frame built once, the ASGI fallback's bound) and what the
hub of readers keeps and announces."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from feeds import broadcast


def parse_frame(data: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        return done.value
    raise AssertionError("incomplete frame")


@pytest.mark.parametrize("length", [0, 125, 126, 65535, 65536, 200_000])
def test_prebuilt_frame_is_what_a_websocket_client_reads(length):
    text = "é" * (length // 2) + "x" * (length % 2)
    frame = parse_frame(broadcast.Change(7, text).frame)
    assert frame.opcode == Opcode.TEXT and frame.fin
    assert frame.data.decode() == text


async def test_outside_daphne_changes_go_through_the_asgi_send():
    sent = []

    async def send(message):
        sent.append(message)

    writer = broadcast.writer_for(send)
    assert isinstance(writer, broadcast.SendWriter)
    writer.write(broadcast.Change(1, '{"seq":1}'))
    writer.write(broadcast.Change(2, '{"seq":2}'))
    writer.close(broadcast.CLOSE_RESUME)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert sent == [
        {"type": "websocket.send", "text": '{"seq":1}'},
        {"type": "websocket.send", "text": '{"seq":2}'},
        {"type": "websocket.close", "code": broadcast.CLOSE_RESUME},
    ]


async def test_reader_whose_backlog_passes_the_bound_is_dropped_and_its_backlog_freed():
    blocked = asyncio.Event()

    async def send_that_never_returns(message):
        await blocked.wait()

    writer = broadcast.SendWriter(send_that_never_returns)
    change = broadcast.Change(1, "x" * 1000)
    for _ in range(broadcast.reader_buffer_bytes() // 1000 + 5):
        writer.write(change)
        await asyncio.sleep(0)
    assert writer.closed and writer.close_code == broadcast.CLOSE_TOO_SLOW
    assert len(writer.queue) == 0
    writer.write(change)
    assert len(writer.queue) == 0
    writer.task.cancel()


async def test_a_large_catch_up_does_not_count_against_the_bound():
    blocked = asyncio.Event()

    async def send_that_never_returns(message):
        await blocked.wait()

    writer = broadcast.SendWriter(send_that_never_returns)
    big = broadcast.Change(1, "x" * (broadcast.reader_buffer_bytes() * 2))
    writer.write(big, catching_up=True)
    await asyncio.sleep(0)
    writer.write(broadcast.Change(2, "live"))
    assert not writer.closed
    writer.task.cancel()


class RecordingListener:
    def __init__(self) -> None:
        self.changes: list[broadcast.Change] = []

    def deliver(self, change: broadcast.Change) -> None:
        self.changes.append(change)

    def interrupted(self) -> None:
        pass


async def test_hub_tells_its_watchers_when_a_reader_joins_or_leaves():
    hub = broadcast.hub.hub
    loop = asyncio.get_running_loop()
    seen = []
    hub.on_connections_changed(seen.append)
    listener = RecordingListener()
    hub.add("night-race", listener, loop)
    hub.remove("night-race", listener)
    assert seen == [loop, loop]


def test_reset_forgets_readers_watchers_and_cached_settings(settings):
    hub = broadcast.hub.hub
    hub.add("night-race", RecordingListener(), None)
    hub.on_connections_changed(lambda loop: None)
    assert broadcast.reader_buffer_bytes() == 256 * 1024
    settings.LIVEFEED = {**settings.LIVEFEED, "READER_BUFFER_BYTES": 1000}

    broadcast.reset_process_state()

    assert hub.listeners() == [] and hub.watchers == [] and hub.link is None
    assert broadcast.reader_buffer_bytes() == 1000


def test_loading_the_application_installs_no_garbage_collector_policy():
    """Only `livefeed.serve` settles garbage; a test run or another ASGI server gets none of it."""
    code = (
        "import gc, livefeed.asgi\n"
        "from feeds.broadcast.hub import hub\n"
        "assert hub.watchers == [], hub.watchers\n"
        "assert gc.get_freeze_count() == 0\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
