"""How a change is written to readers (the frame built once, the ASGI fallback's bound) and what the
hub of readers keeps and announces."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading

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


async def test_a_large_catch_up_does_not_count_against_the_bound_but_live_backlog_on_top_does():
    blocked = asyncio.Event()

    async def send_that_never_returns(message):
        await blocked.wait()

    bound = broadcast.reader_buffer_bytes()
    writer = broadcast.SendWriter(send_that_never_returns)
    for seq in range(1, 4):  # three bounds' worth of catch-up, still queued behind the first
        writer.write(broadcast.Change(seq, "x" * bound), catching_up=True)
    await asyncio.sleep(0)
    assert writer.queued == 2 * bound
    writer.write(broadcast.Change(4, "live"))
    assert not writer.closed
    # The grace is the catch-up's size, not a free pass: a live backlog past it still closes.
    live = broadcast.Change(5, "y" * 1000)
    writes = 0
    while not writer.closed:
        writer.write(live)
        writes += 1
        assert writes < 2 * bound // 1000 + 5, "the bound was never enforced"
    assert writes > 2 * bound // 1000 - 5  # not before the catch-up's grace was used up
    assert writer.close_code == broadcast.CLOSE_TOO_SLOW
    writer.task.cancel()


class FakeTransport:
    """What `TransportWriter` reads of Twisted's TCP transport; its kernel buffer takes `room` bytes."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.dataBuffer = b""
        self.offset = 0
        self._tempDataLen = 0
        self.disconnecting = self.disconnected = False
        self.aborted = False
        self.sent = b""
        self.socket = self

    def send(self, data: bytes) -> int:
        taken = data[: self.room]
        self.room -= len(taken)
        self.sent += taken
        return len(taken)

    def write(self, data: bytes) -> None:
        self.dataBuffer += data

    def abortConnection(self) -> None:
        self.aborted = True


class FakeProtocol:
    STATE_OPEN = 1
    state = 1
    _perMessageCompress = None
    server = None

    def __init__(self, transport: FakeTransport) -> None:
        self.transport = transport
        self.closes: list[int] = []

    def sendClose(self, code: int) -> None:
        self.closes.append(code)


def test_fast_writer_sends_to_the_socket_and_buffers_only_what_it_did_not_take():
    transport = FakeTransport(room=10)
    writer = broadcast.TransportWriter(FakeProtocol(transport))
    change = broadcast.Change(1, "x" * 30)
    writer.write(change)
    assert transport.sent == change.frame[:10] and transport.dataBuffer == change.frame[10:]
    writer.write(broadcast.Change(2, "y"))  # behind unsent bytes: buffered, never sent out of order
    assert transport.sent == change.frame[:10]
    assert transport.dataBuffer == change.frame[10:] + broadcast.Change(2, "y").frame


def test_fast_writer_aborts_a_reader_whose_backlog_passes_the_bound():
    bound = broadcast.reader_buffer_bytes()
    transport = FakeTransport(room=0)
    writer = broadcast.TransportWriter(FakeProtocol(transport))
    change = broadcast.Change(1, "x" * 1000)
    writes = 0
    while not transport.aborted:
        writer.write(change)
        writes += 1
        assert writes < bound // 1000 + 5, "the bound was never enforced"
    assert len(transport.dataBuffer) > bound
    assert writer.closed
    buffered = len(transport.dataBuffer)
    writer.write(change)
    assert len(transport.dataBuffer) == buffered


def test_fast_writer_grants_a_catch_up_its_size_and_no_more():
    bound = broadcast.reader_buffer_bytes()
    transport = FakeTransport(room=0)
    writer = broadcast.TransportWriter(FakeProtocol(transport))
    writer.write(broadcast.Change(1, "x" * (3 * bound)), catching_up=True)
    writer.write(broadcast.Change(2, "live"))
    assert not transport.aborted
    live = broadcast.Change(3, "y" * 1000)
    writes = 0
    while not transport.aborted:
        writer.write(live)
        writes += 1
        assert writes < bound // 1000 + 5, "the bound was never enforced"


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


@pytest.mark.django_db(transaction=True)
def test_a_desk_message_from_a_request_thread_reaches_a_desk_waiting_in_the_server_loop():
    """The request's thread hands its messages to the server's loop, which delivers them, in
    order, with nothing else to wake it: the request is still running when the desk has them."""
    from channels.layers import get_channel_layer

    from feeds.broadcast.desk import broadcast_to_desk, desk_group_name
    from livefeed.django_threads import ThreadedDjango

    desk_has_them = threading.Event()

    def view(environ, start_response):
        for number in range(3):
            broadcast_to_desk(feed_slug="grand-prix", message={"type": "entry.updated", "n": number})
        start_response("200 OK", [])
        return [b"delivered" if desk_has_them.wait(10) else b"not delivered"]

    async def serve_one_request_to_a_waiting_desk():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(desk_group_name("grand-prix"), channel)
        sent = []

        async def desk():
            got = [json.loads((await layer.receive(channel))["text"])["n"] for _ in range(3)]
            desk_has_them.set()
            return got

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""}
        desk_task = asyncio.ensure_future(desk())
        await ThreadedDjango(view, threads=1)(scope, receive, send)
        return await desk_task, b"".join(message.get("body", b"") for message in sent)

    assert asyncio.run(serve_one_request_to_a_waiting_desk()) == ([0, 1, 2], b"delivered")
