"""Run Daphne the way a live feed needs it: `python -m livefeed.serve [--host H] [--port P]`.

Three defaults differ from plain `daphne -b H -p P`, each one a failure seen under a crowd of
readers arriving at once (a start, a restart, a push notification):
- the listen backlog is 2048 instead of Twisted's 50, which refuses connections in a burst;
- a WebSocket handshake may take 30 s instead of 5 s before Daphne drops it: on two cores, 2,000
  simultaneous handshakes take about 7 s, and with 5 s a third of them were dropped;
- the open-file limit is raised to its hard limit, one descriptor per reader.
It also owns the process's garbage-collector policy (`GarbageSettling`), installed on the hub of
readers once Daphne has loaded the application: the policy suits a long-lived server holding
thousands of connections, not a test run or another ASGI server importing the same code. A
finished request is forgotten the moment it has been answered, not at Daphne's once-a-second
check, so that collections do not walk thousands of them.
And one for uploads: Twisted no longer parses form bodies that Django parses anyway, which held a
second copy of each upload and answered a malformed multipart body with a bare 400 (no JSON
saying what was wrong) before the application saw it.
Every core serves: with more than one (`--processes`, `LIVEFEED_PROCESSES`, by default one per
core), this process becomes a small supervisor that opens the listening socket once and starts
that many Daphne processes accepting from it, restarts any that dies and passes SIGTERM and
SIGINT on. Changes reach every process's readers through Redis, or without it through the local
bus (`feeds.broadcast.local_bus`), exactly as between the processes of separate ports.
On SIGTERM or SIGINT each server process stops accepting, tells its readers to resume, and ends.
Any further arguments are passed to Daphne unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import pprint
import resource
import signal
import socket
import subprocess
import sys
import time
import weakref
from typing import Any

from autobahn.websocket import protocol as autobahn_protocol
from daphne import http_protocol
from daphne import server as daphne_server
from daphne.cli import CommandLineInterface
from daphne.server import Server

logger = logging.getLogger(__name__)

APPLICATION = "livefeed.asgi:application"
# A connection set unchanged for this long counts as settled: garbage is collected, survivors frozen.
GC_SETTLE_SECONDS = 2.0
GC_SETTLE_AT_LEAST_EVERY = 60.0


def raise_open_file_limit() -> int:
    """Raise the soft limit on open files to the hard limit and return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class _FormattedWhenLogged:
    """A value for a log line, pretty-printed only if the line is written."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __str__(self) -> str:
        return pprint.pformat(self.value)

    __repr__ = __str__


def format_autobahn_settings_lazily() -> None:
    """Autobahn pretty-prints each new WebSocket's ~30 settings for a debug line even when debug
    logging is off: 0.17 ms per handshake, a twelfth of a crowd's arrival in profiles. The list
    it prints is formatted only if the line is logged; its other uses of `pformat` are unchanged."""

    def pformat(value: object, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, list) and not args and not kwargs:
            return _FormattedWhenLogged(value)
        return pprint.pformat(value, *args, **kwargs)

    autobahn_protocol.pformat = pformat  # type: ignore[assignment]


class RequestLeavingFormsToDjango(http_protocol.WebRequest):
    """Daphne's request, without Twisted's own parse of POST form bodies."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)


def daphne_arguments(
    *,
    host: str,
    port: int,
    backlog: int,
    handshake_timeout: int,
    extra: list[str],
    application: str = APPLICATION,
    listen_fd: int | None = None,
) -> list[str]:
    """Daphne's command line: an endpoint string is the only way to set the listen backlog (or,
    for a process of several, to accept from the listening socket they share)."""
    endpoint = (
        f"fd:fileno={listen_fd}"  # Daphne's parser adopts it as an IPv4 socket
        if listen_fd is not None
        else f"tcp:port={port}:interface={host}:backlog={backlog}"
    )
    return [
        "-e",
        endpoint,
        "--websocket_connect_timeout",
        str(handshake_timeout),
        *extra,
        application,
    ]


class GarbageSettling:
    """Collect garbage and freeze the survivors once the set of connections has settled.

    Frozen objects stay out of full collections, which otherwise walk every connection's objects
    (~230 ms at 5,000 readers) in the middle of a fan-out; unfreezing first lets the garbage of
    closed connections, frozen earlier, be reclaimed.
    """

    def __init__(self) -> None:
        self.timer: asyncio.TimerHandle | None = None
        self.unsettled_since: float | None = None

    def connections_changed(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Called by the hub in the loop of the reader that joined or left: restart the wait."""
        if loop is None:
            return
        if self.timer is not None:
            self.timer.cancel()
        now = loop.time()
        if self.unsettled_since is None:
            self.unsettled_since = now
        # Under constant churn the crowd never settles; collect anyway now and then, so the
        # garbage of closed connections frozen earlier is not kept for ever.
        overdue = now - self.unsettled_since > GC_SETTLE_AT_LEAST_EVERY
        self.timer = loop.call_later(0 if overdue else GC_SETTLE_SECONDS, self.settle)

    def settle(self) -> None:
        self.timer = None
        self.unsettled_since = None
        gc.unfreeze()
        gc.collect()
        gc.freeze()


def install_garbage_settling() -> GarbageSettling:
    """Have the hub of readers report connection changes to a new `GarbageSettling`.

    Needs Django set up (the application module does it): importing `feeds.broadcast` loads the models.
    """
    from feeds.broadcast.hub import hub

    settling = GarbageSettling()
    hub.on_connections_changed(settling.connections_changed)
    return settling


# On SIGTERM or SIGINT: how long readers have to answer the close frame before the process ends.
STOP_GRACE_SECONDS = 2.0
# Daphne checks every connection's timeouts, and sends the pings due, once every 2 s; here the
# same sweep is spread over that time in this many slices.
TIMEOUT_SWEEP_SECONDS = 2.0
TIMEOUT_SWEEP_SLICES = 10


def tell_readers_to_resume() -> int:
    """Close every reader of this process with the resume code (`CLOSE_RESUME`); return how many.

    Readers reconnect with backoff and jitter and resume from their last `seq` on another
    process, or on this one once it is back. (Autobahn only sends 1000 or 3000-4999, so the
    standard 1012 "service restart" is carried by the project's own resume code.)
    """
    from feeds.broadcast.hub import hub

    listeners = hub.listeners()
    for listener in listeners:
        try:
            listener.interrupted()
        except Exception:
            logger.exception("Could not tell a reader to resume")
    return len(listeners)


class HTTPFactoryKeepingTrack(http_protocol.HTTPFactory):
    """Daphne's HTTP factory, remembering its connections so a stop can close the idle ones."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channels: weakref.WeakSet[Any] = weakref.WeakSet()

    def buildProtocol(self, addr: Any) -> Any:  # noqa: N802 (Twisted's name)
        channel = super().buildProtocol(addr)
        if channel is not None:
            self.channels.add(channel)
        return channel

    def stop_keeping_alive(self) -> int:
        """Close connections kept alive between requests, and have those with a request in
        flight close after its answer; return how many. Connections upgraded to WebSockets are
        left to the readers' close. A client told to resume must find the stopping server gone,
        not still answering on a connection it opened before."""
        closed = 0
        for wrapper in list(self.channels):
            channel = getattr(wrapper, "_channel", wrapper)  # Twisted's HTTP/1.1-or-2 wrapper
            transport = channel.transport
            # Whom the connection's bytes go to now (behind TLS, the TLS layer's wrapped protocol).
            current = getattr(transport, "protocol", None) or getattr(transport, "wrappedProtocol", None)
            if transport is None or current is not wrapper:
                continue
            channel.persistent = False
            if not channel.requests:
                channel.loseConnection()
            closed += 1
        return closed


class LivefeedServer(Server):
    """Daphne's server, with the garbage-collector policy installed before it starts serving, and
    a clean stop: on SIGTERM or SIGINT it stops accepting, tells its readers to resume, and gives
    them `STOP_GRACE_SECONDS` to close before Daphne cancels what is left and the process ends."""

    clock: Any = None  # Twisted's reactor unless set (tests)
    sweep: list[Any] | None = None
    sweep_share = 0

    def run(self) -> None:
        # Daphne builds the server after importing the application, so Django is set up here.
        # Settled once now, before any connection: the application's objects frozen, so that a
        # full collection under plain HTTP load (no reader joining to settle them) walks what
        # requests made, not all ~170,000 of them (measured: 7 ms a collection instead of 90).
        install_garbage_settling().settle()
        self.ports: list[Any] = []
        from twisted.internet import reactor

        reactor.addSystemEventTrigger("before", "shutdown", self.stop_gracefully)  # type: ignore[arg-type]
        super().run()

    def listen_success(self, port: Any) -> None:
        self.ports.append(port)
        super().listen_success(port)

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> Any:
        queue = super().create_application(protocol, scope)
        if queue is not None:
            instance = self.connections[protocol]["application_instance"]
            instance.add_done_callback(lambda _: self.forget_if_over(protocol))
        return queue

    def protocol_disconnected(self, protocol: Any) -> None:
        # Daphne reports some requests' end twice; one forgotten at the first is gone by the second.
        if protocol in self.connections:
            super().protocol_disconnected(protocol)
            self.forget_if_over(protocol)

    def forget_if_over(self, protocol: Any) -> None:
        """Drop a connection whose client is gone and whose application has ended, at once.

        Daphne's checker does it once a second. At 5,000 requests a second that kept some 5,000
        finished requests (headers, queues, events) alive, and every full garbage collection
        walked them: pauses of 40 to 100 ms, every page load behind them waiting. An application
        that raised is left to the checker, which logs the error.
        """
        details = self.connections.get(protocol)
        if details is None or "disconnected" not in details:
            return
        instance = details.get("application_instance")
        if instance is not None:
            if not instance.done() or (not instance.cancelled() and instance.exception() is not None):
                return
        del self.connections[protocol]

    def timeout_checker(self) -> None:
        """Daphne's sweep of every connection's timeouts and due pings, a slice at a time.

        In one go, 2,500 readers a process made a burst of work every 2 s, and a change arriving
        during it reached its readers that much later. Each connection is still checked once per
        sweep; one that opened during a sweep joins the next.
        """
        if self.clock is None:
            from twisted.internet import reactor

            self.clock = reactor
        if not self.sweep:
            self.sweep = list(self.connections)
            self.sweep_share = -(-len(self.sweep) // TIMEOUT_SWEEP_SLICES)
        share, self.sweep = self.sweep[: self.sweep_share], self.sweep[self.sweep_share :]
        for protocol in share:
            if protocol in self.connections:  # not closed since the sweep began
                protocol.check_timeouts()
        self.clock.callLater(TIMEOUT_SWEEP_SECONDS / TIMEOUT_SWEEP_SLICES, self.timeout_checker)

    def stop_gracefully(self) -> Any:
        """Twisted's shutdown waits for the Deferred returned: until readers have gone, or the grace."""
        from twisted.internet import defer, reactor, task

        for port in self.ports:
            port.stopListening()
        if isinstance(self.http_factory, HTTPFactoryKeepingTrack):
            self.http_factory.stop_keeping_alive()
        told = tell_readers_to_resume()
        logger.info("Stopping: told %d readers to resume", told)
        from feeds.broadcast.hub import hub

        deadline = time.monotonic() + STOP_GRACE_SECONDS
        finished: defer.Deferred[None] = defer.Deferred()

        def check() -> None:
            readers = [listener for listener in hub.listeners() if hasattr(listener, "writer")]
            if not readers or time.monotonic() > deadline:
                poller.stop()
                finished.callback(None)

        poller = task.LoopingCall(check)
        poller.clock = reactor
        poller.start(0.05, now=False)
        return finished


class LivefeedCommandLine(CommandLineInterface):
    server_class = LivefeedServer


def default_processes() -> int:
    """`LIVEFEED_PROCESSES`, or one process per core this process may run on."""
    configured = os.environ.get("LIVEFEED_PROCESSES", "").strip()
    if configured:
        return max(1, int(configured))
    return max(1, len(os.sched_getaffinity(0)))


def listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    """The one listening socket every server process accepts from (its queue survives a restart)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(backlog)
    listener.set_inheritable(True)
    return listener


def _end_with_parent() -> None:
    """In a server process, before it runs: end it if the supervisor dies (Linux PR_SET_PDEATHSIG)."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


class Supervisor:
    """Runs `count` server processes on one listening socket, restarts any that dies, and passes
    SIGTERM and SIGINT on to them, waiting (at most `STOP_SECONDS`) until they have all ended."""

    STOP_SECONDS = 10.0

    def __init__(self, count: int, command: list[str], listener: socket.socket) -> None:
        self.count = count
        self.command = command
        self.listener = listener
        self.children: list[subprocess.Popen[bytes]] = []
        self.stopping: int | None = None

    def start_one(self) -> subprocess.Popen[bytes]:
        fd = self.listener.fileno()
        return subprocess.Popen(
            [*self.command, "--listen-fd", str(fd)],
            pass_fds=(fd,),
            process_group=0,  # a Ctrl+C reaches the supervisor, which passes it on once
            preexec_fn=_end_with_parent,
        )

    def stop(self, signum: int, frame: object) -> None:
        self.stopping = signum
        # The socket closes with the last server process's copy: connections are refused from
        # then on instead of waiting in its queue for a process that is not coming.
        self.listener.close()
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signum)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self.children = [self.start_one() for _ in range(self.count)]
        delay = 1.0
        while self.stopping is None:
            time.sleep(0.2)
            for index, child in enumerate(self.children):
                if child.poll() is not None and self.stopping is None:
                    print(
                        f"livefeed.serve: server process {child.pid} ended with {child.returncode}; "
                        f"starting another in {delay:.0f} s",
                        file=sys.stderr,
                        flush=True,
                    )
                    time.sleep(delay)
                    delay = min(delay * 2, 30.0)
                    if self.stopping is None:
                        self.children[index] = self.start_one()
        deadline = time.monotonic() + self.STOP_SECONDS
        for child in self.children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--backlog", type=int, default=2048)
    parser.add_argument("--handshake-timeout", type=int, default=30)
    parser.add_argument("--application", default=APPLICATION, help="ASGI application (module:attribute)")
    parser.add_argument(
        "--processes",
        type=int,
        default=None,
        help="server processes sharing the port (default: LIVEFEED_PROCESSES, or one per core)",
    )
    parser.add_argument("--listen-fd", type=int, default=None, help=argparse.SUPPRESS)
    options, extra = parser.parse_known_args(argv)
    processes = options.processes or default_processes()
    if ":" in options.host and processes > 1:
        # Daphne adopts a shared socket as IPv4 only: an IPv6 address gets one process.
        print("livefeed.serve: one process for an IPv6 address (--processes 1)", file=sys.stderr)
        processes = 1
    if options.listen_fd is None and processes > 1:
        listener = listening_socket(options.host, options.port, options.backlog)
        command = [sys.executable, "-m", "livefeed.serve", "--processes", "1"]
        command += [
            "--handshake-timeout",
            str(options.handshake_timeout),
            "--application",
            options.application,
        ]
        command += ["--host", options.host, *extra]
        sys.exit(Supervisor(processes, command, listener).run())
    raise_open_file_limit()
    # A shell that starts the server in the background from a script (`serve &`) leaves SIGINT
    # ignored, and Twisted only takes over SIGINT from Python's default handler: without this,
    # such a server would ignore SIGINT instead of stopping cleanly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    format_autobahn_settings_lazily()
    http_protocol.WebRequest = RequestLeavingFormsToDjango  # what Daphne's HTTPFactory builds
    daphne_server.HTTPFactory = HTTPFactoryKeepingTrack  # what Daphne's server builds
    LivefeedCommandLine().run(
        daphne_arguments(
            host=options.host,
            port=options.port,
            backlog=options.backlog,
            handshake_timeout=options.handshake_timeout,
            extra=extra,
            application=options.application,
            listen_fd=options.listen_fd,
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
