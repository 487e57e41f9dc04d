"""The fixtures that start servers know their own server from another that holds its port."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.fixtures import servers


def test_ports_for_servers_are_outside_the_range_port_zero_draws_from():
    with socket.socket() as anyone:
        anyone.bind(("127.0.0.1", 0))
        assert anyone.getsockname()[1] not in servers.SERVER_PORTS
    assert servers.free_port() in servers.SERVER_PORTS


def test_a_server_is_not_taken_as_started_while_another_holds_its_port():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", servers.free_port()))
        squatter.listen()
        port = squatter.getsockname()[1]
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            with pytest.raises(TimeoutError, match="listens on port"):
                servers.wait_for_port(port, process=process, timeout=1)
            servers.wait_for_port(port, timeout=1)  # without a process, anyone listening will do
        finally:
            process.kill()
            process.wait()


def test_a_server_that_listens_itself_is_waited_for():
    port = servers.free_port()
    code = (
        f"import socket, time; s = socket.socket(); s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(30)"
    )
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        servers.wait_for_port(port, process=process, timeout=10)
    finally:
        process.kill()
        process.wait()
