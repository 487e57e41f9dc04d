"""The fast path to readers' sockets relies on private attributes of Twisted and autobahn: when one
is missing, readers are served through the ASGI send instead, and the operator is warned."""

from __future__ import annotations

import functools
import logging
import socket
import time

import pytest
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import abstract
from twisted.internet.tcp import Connection

from feeds import broadcast
from feeds.broadcast import writers


@pytest.fixture
def daphne_send():
    """Daphne's `send` for one open plain-TCP WebSocket, its objects set up as a connection has them."""
    left, right = socket.socketpair()
    transport = Connection.__new__(Connection)
    transport.socket = left
    transport._tempDataLen = 0
    protocol = WebSocketProtocol.__new__(WebSocketProtocol)
    protocol.transport = transport
    protocol.state = protocol.STATE_OPEN
    protocol._perMessageCompress = None
    protocol.last_ping = time.time()
    server = Server.__new__(Server)
    yield functools.partial(server.handle_reply, protocol), right
    left.close()
    right.close()


def test_daphne_connection_with_every_attribute_gets_the_fast_path(daphne_send, caplog):
    send, reader_side = daphne_send
    with caplog.at_level(logging.WARNING, logger=writers.__name__):
        writer = broadcast.writer_for(send)
    assert isinstance(writer, broadcast.TransportWriter)
    assert writers.fast_path_problem() is None and not caplog.records
    change = broadcast.Change(1, '{"seq":1}')
    writer.write(change)
    assert reader_side.recv(1000) == change.frame


def test_missing_twisted_attribute_falls_back_to_asgi_send_with_a_warning(daphne_send, monkeypatch, caplog):
    send, _ = daphne_send
    monkeypatch.delattr(abstract.FileDescriptor, "dataBuffer")
    broadcast.reset_process_state()
    with caplog.at_level(logging.WARNING, logger=writers.__name__):
        writer = broadcast.writer_for(send)
        broadcast.writer_for(send)
    assert isinstance(writer, broadcast.SendWriter)
    assert writers.fast_path_problem() == "missing Connection.dataBuffer"
    [record] = caplog.records
    assert "ASGI send" in record.getMessage() and "Connection.dataBuffer" in record.getMessage()


def test_missing_autobahn_instance_attribute_falls_back_to_asgi_send_with_a_warning(daphne_send, caplog):
    send, _ = daphne_send
    protocol = send.args[0]
    del protocol._perMessageCompress
    with caplog.at_level(logging.WARNING, logger=writers.__name__):
        writer = broadcast.writer_for(send)
    assert isinstance(writer, broadcast.SendWriter)
    [record] = caplog.records
    assert "WebSocketProtocol._perMessageCompress" in record.getMessage()
