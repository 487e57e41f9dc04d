"""The server entry point's process policies: garbage collected and frozen once readers settle,
autobahn's debug formatting left until a line is logged."""

from __future__ import annotations

import asyncio
import gc
import pprint

import pytest
from autobahn.websocket import protocol as autobahn_protocol

from feeds.broadcast.hub import hub
from livefeed import serve


class QuietListener:
    def deliver(self, change: object) -> None:
        pass

    def interrupted(self) -> None:
        pass


@pytest.fixture
def unfrozen():
    yield
    gc.unfreeze()


async def test_garbage_is_frozen_once_the_connection_set_stops_changing(monkeypatch, unfrozen):
    monkeypatch.setattr(serve, "GC_SETTLE_SECONDS", 0.05)
    gc.unfreeze()
    settling = serve.install_garbage_settling()
    hub.add("night-race", QuietListener(), asyncio.get_running_loop())
    assert settling.timer is not None and gc.get_freeze_count() == 0

    for _ in range(200):
        if settling.timer is None:
            break
        await asyncio.sleep(0.01)
    assert settling.timer is None and settling.unsettled_since is None
    assert gc.get_freeze_count() > 0


async def test_a_connection_set_under_constant_churn_is_settled_when_overdue(monkeypatch, unfrozen):
    loop = asyncio.get_running_loop()
    settling = serve.install_garbage_settling()
    hub.add("night-race", QuietListener(), loop)
    first = settling.timer
    settling.unsettled_since = loop.time() - serve.GC_SETTLE_AT_LEAST_EVERY - 1
    hub.add("night-race", QuietListener(), loop)

    assert first.cancelled()
    assert settling.timer.when() <= loop.time()


def test_autobahn_settings_line_reads_the_same_when_debug_logging_writes_it(monkeypatch):
    monkeypatch.setattr(autobahn_protocol, "pformat", autobahn_protocol.pformat)
    serve.format_autobahn_settings_lazily()
    settings = [("openHandshakeTimeout", 30, "WebSocketServerFactory")] * 30
    logged = autobahn_protocol.pformat(settings)
    # txaio formats a log line with str.format.
    assert "\n{attrs}".format(attrs=logged) == "\n" + pprint.pformat(settings)  # noqa: UP032
    assert str(logged) == repr(logged) == pprint.pformat(settings)
    # Anything else autobahn pretty-prints is formatted at once, as before.
    assert autobahn_protocol.pformat({"a": 1}) == pprint.pformat({"a": 1})


class CountingConnection:
    def __init__(self) -> None:
        self.checks = 0

    def check_timeouts(self) -> None:
        self.checks += 1


def test_every_connection_is_checked_once_per_sweep_a_slice_at_a_time():
    from twisted.internet.task import Clock

    server = serve.LivefeedServer(application=None, endpoints=["tcp:port=0"])
    server.clock = Clock()
    connections = [CountingConnection() for _ in range(2500)]
    server.connections = dict.fromkeys(connections, {})
    server.timeout_checker()
    slice_seconds = serve.TIMEOUT_SWEEP_SECONDS / serve.TIMEOUT_SWEEP_SLICES
    checked = [sum(connection.checks for connection in connections)]
    for _ in range(serve.TIMEOUT_SWEEP_SLICES - 1):
        server.clock.advance(slice_seconds)
        checked.append(sum(connection.checks for connection in connections))
    # Never more than a slice's share at once, and after one sweep each connection exactly once.
    steps = [later - earlier for earlier, later in zip([0, *checked[:-1]], checked, strict=True)]
    assert max(steps) == 2500 // serve.TIMEOUT_SWEEP_SLICES
    assert {connection.checks for connection in connections} == {1}

    # A connection that closed is not checked again; one that opened joins the next sweep.
    closed, opened = connections[0], CountingConnection()
    del server.connections[closed]
    server.connections[opened] = {}
    for _ in range(serve.TIMEOUT_SWEEP_SLICES):
        server.clock.advance(slice_seconds)
    assert closed.checks == 1 and opened.checks == 1
    assert {connection.checks for connection in connections[1:]} == {2}


class Request:
    """Stands for one of Daphne's HTTP requests: hashable, told of an application's error."""

    def __init__(self) -> None:
        self.errors: list[BaseException] = []

    def handle_exception(self, exception: BaseException) -> None:
        self.errors.append(exception)


async def answering(scope, receive, send) -> None:
    await receive()  # ends once it is sent anything


async def failing(scope, receive, send) -> None:
    raise ValueError("the view broke")


async def settled(server: serve.LivefeedServer, request: Request) -> None:
    instance = server.connections[request]["application_instance"]
    await asyncio.wait([instance])
    await asyncio.sleep(0)  # the done callbacks run on the loop's next pass


async def test_a_request_is_forgotten_as_soon_as_it_is_answered_and_its_application_has_ended():
    # Not at Daphne's next once-a-second check: under thousands of requests a second the
    # finished ones piled up in between, and full garbage collections walked them all.
    server = serve.LivefeedServer(application=answering, endpoints=["tcp:port=0"])
    server.connections = {}  # as `run` sets it
    ended_first, answered_first = Request(), Request()
    queues = {}
    for request in (ended_first, answered_first):
        server.protocol_connected(request)
        queues[request] = server.create_application(request, {"type": "http"})

    queues[ended_first].put_nowait({"type": "http.request"})
    await settled(server, ended_first)
    assert ended_first in server.connections  # its answer is still being written
    server.protocol_disconnected(ended_first)
    assert ended_first not in server.connections

    server.protocol_disconnected(answered_first)
    assert answered_first in server.connections  # its application has not ended yet
    queues[answered_first].put_nowait({"type": "http.request"})
    await settled(server, answered_first)
    assert answered_first not in server.connections

    # Daphne reports some requests' end twice: the second report finds nothing and is harmless.
    server.protocol_disconnected(answered_first)
    assert server.connections == {}


async def test_a_request_whose_application_raised_is_left_for_daphne_to_log(monkeypatch, caplog):
    from twisted.internet import reactor

    server = serve.LivefeedServer(application=failing, endpoints=["tcp:port=0"])
    server.connections = {}
    request = Request()
    server.protocol_connected(request)
    server.create_application(request, {"type": "http"})
    await settled(server, request)
    assert request in server.connections

    monkeypatch.setattr(reactor, "callLater", lambda *args: None)
    server.application_checker()
    assert request.errors and "the view broke" in caplog.text
    server.protocol_disconnected(request)
    server.application_checker()
    assert server.connections == {}
