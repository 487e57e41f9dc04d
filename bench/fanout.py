"""Fan-out benchmark: publish-to-delivery latency, memory and Redis work at race-day scale.

One run measures, on this machine: the stock per-reader `group_send` path (for the ratio), then
Livefeed's broadcast with 100, 1,000 and 5,000 readers on one Daphne process, 5,000 readers under
two entries a second, memory across connect/disconnect churn, 10,000 readers over two processes
sharing one Redis, a burst of 2,000 readers arriving within a second, and 5,000 readers on every
core (`livefeed.serve`'s default layout) beside the same readers on bare `websockets`
(`bench.bare`), the floor for Python on this machine. Each figure is printed
beside its target. Entries are posted through the API; latency runs from the publish (and, on its
own line, from the start of the POST) to the reader's receipt. Readers are bare asyncio clients
on uvloop in separate processes (see `bench.readers`): most run only on cores the servers leave
idle, and one in twenty, read at once, are the ones timed. Their CPU is printed next to the
server's.

    python -m bench.fanout [--readers 5000] [--skip stock,sustain,churn,two,burst,cores]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import re
import secrets
import signal
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx

from bench import bare
from bench.processes import (
    FEED_SLUG,
    HOST,
    cpu_seconds,
    free_port,
    port_accepts,
    prepare_database,
    raise_file_limit,
    redis_pongs,
    rss_kb,
    server_log_tail,
    start,
    stop,
    wait_until,
)
from bench.readers import SO_TIMESTAMPNS, kernel_stamp, reader_process
from feeds.resp import parse_reply

BODY = (
    "Caution is out on lap 57 for debris in Turn 3. The leaders all pit for tyres and fuel; "
    "Okafor is first off ahead of Lindqvist."
)
STOCK_APPLICATION = "bench.stock:application"
PHASES = ("stock", "sustain", "churn", "two", "burst", "cores")


# --- Servers and readers ----------------------------------------------------------------------


@dataclass
class Server:
    process: Any
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}/ws/feeds/{FEED_SLUG}/"

    def pids(self) -> list[int]:
        """The process and its children (a supervisor's server processes)."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [pid, *map(int, children)]


class Readers:
    """Reader processes, each holding a share of the sockets.

    With `probes`, one more process at the default priority holds that share of every batch of
    readers opened (`probes` 0.1: a tenth), and only its arrivals are timed (see `reader_process`);
    every reader's arrivals still count as deliveries.
    """

    def __init__(self, workers: int, stack: ExitStack, *, probes: float = 0.0) -> None:
        context = multiprocessing.get_context("spawn")
        self.conns, self.processes = [], []
        self.probes = probes
        self.held: list[int] = []  # readers each process opened and has not closed
        for index in range(workers + (1 if probes else 0)):
            parent_end, child_end = context.Pipe()
            prompt = index == workers
            process = context.Process(target=reader_process, args=(child_end, prompt), daemon=True)
            process.start()
            stack.callback(stop, process)
            self.conns.append(parent_end)
            self.processes.append(process)
            self.held.append(0)

    def ask(self, commands: list[tuple[Any, ...]], *, timeout: float) -> list[tuple[Any, ...]]:
        for conn, command in zip(self.conns, commands, strict=True):
            conn.send(command)
        replies = []
        deadline = time.monotonic() + timeout
        for conn in self.conns:
            if not conn.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(
                    f"reader processes did not answer {commands[0][0]!r} within {timeout:.0f} s"
                )
            replies.append(conn.recv())
        return replies

    def shares(self, count: int) -> list[int]:
        if self.probes:
            probes = max(1, round(count * self.probes))
            workers, count = len(self.conns) - 1, count - probes
        else:
            probes, workers = 0, len(self.conns)
        shares = [count // workers + (index < count % workers) for index in range(workers)]
        return [*shares, probes] if self.probes else shares

    def open(self, url: str, count: int, *, batch: int) -> tuple[int, Counter[str]]:
        per_worker_batch = max(1, batch // len(self.conns))
        replies = self.ask(
            [("open", url, share, per_worker_batch) for share in self.shares(count)], timeout=120 + count / 20
        )
        failures: Counter[str] = Counter()
        for index, (_, opened, failed) in enumerate(replies):
            self.held[index] += opened
            failures.update(failed)
        return sum(reply[1] for reply in replies), failures

    def wait(
        self, seqs: list[int], seconds: float
    ) -> tuple[list[tuple[int, float]], list[tuple[int, float]], Counter[str]]:
        """Every reader's arrivals, the timed ones (the probes' when there are probes), and losses."""
        replies = self.ask([("wait", seqs, seconds)] * len(self.conns), timeout=seconds + 60)
        arrivals: list[tuple[int, float]] = []
        losses: Counter[str] = Counter()
        for _, arrived, lost in replies:
            arrivals.extend(arrived)
            losses.update(lost)
        return arrivals, replies[-1][1] if self.probes else arrivals, losses

    def close(self, count: int) -> int:
        """Close `count` readers, oldest first; all of them when `count` is what is open."""
        if count >= sum(self.held):
            takes = list(self.held)
        else:
            takes = [min(share, held) for share, held in zip(self.shares(count), self.held, strict=True)]
        replies = self.ask([("close", take) for take in takes], timeout=60)
        for index, reply in enumerate(replies):
            self.held[index] -= reply[1]
        return sum(reply[1] for reply in replies)

    def cpu(self) -> float:
        return sum(cpu_seconds(process.pid) for process in self.processes)

    def stop(self) -> None:
        for conn, process in zip(self.conns, self.processes, strict=True):
            conn.send(("stop",))
            process.join(timeout=10)


# --- Measurements -----------------------------------------------------------------------------


@dataclass
class Delivery:
    """What a round of posted entries did: latencies, arrivals of those expected, CPU used."""

    sent: dict[int, float]
    latencies: list[float]
    arrived: int
    expected: int
    losses: Counter[str]
    server_cpu: float
    reader_cpu: float
    redis_commands: int
    posting: list[float] = field(default_factory=list)
    from_post: list[float] = field(default_factory=list)
    to_publish: list[float] = field(default_factory=list)
    by_seq: list[tuple[int, float]] = field(default_factory=list)

    def p(self, percent: float, *, since: float | None = None) -> float:
        values = self.latencies if since is None else self.window(since)
        return percentile(values, percent) if values else math.inf

    def window(self, since: float) -> list[float]:
        return sorted(latency for seq, latency in self.by_seq if self.sent[seq] >= since)


def percentile(values: list[float], percent: float) -> float:
    """Nearest-rank percentile of sorted `values`."""
    return values[max(0, math.ceil(percent / 100 * len(values)) - 1)]


class PublishClock:
    """Stamps the moment each change is published, by subscribing to the feed's Redis channel
    like any server process (the stock path publishes the `seq` there too).

    The stamp is the kernel's time of arrival of the message's packet, not the moment this thread
    gets to run: on a busy machine that came up to tens of milliseconds late, and every latency
    counted from it came out that much too short. Each message is taken off the socket alone (its
    end found by peeking first), since a read stamps everything it returns with the arrival of the
    last packet it took.
    """

    def __init__(self, port: int) -> None:
        self.published: dict[int, float] = {}
        self.sock = socket.create_connection((HOST, port))
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        channel = bare.CHANNEL.encode()  # the servers run with the default LIVEFEED_REDIS_PREFIX
        self.sock.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(channel), channel))
        self.thread = threading.Thread(target=self.listen, daemon=True)
        self.thread.start()

    def listen(self) -> None:
        taken = b""
        while True:
            try:
                waiting = self.sock.recv(1 << 20, socket.MSG_PEEK)
            except OSError:
                return
            if not waiting:
                return
            message = parse_reply(bytearray(taken + waiting))
            size = len(waiting) if message is None else message[1] - len(taken)
            data, ancillary, _, _ = self.sock.recvmsg(size, 64)
            taken += data
            if message is None:
                continue
            taken = b""
            items = message[0]
            if items[0] == b"message":
                self.published[int(items[2].split(b" ", 1)[0])] = kernel_stamp(ancillary) or time.time()


def redis_commands(port: int) -> int:
    """Commands Redis has executed so far (INFO itself excluded)."""
    import redis

    stats = redis.Redis(host=HOST, port=port).info("commandstats")
    return sum(values["calls"] for name, values in stats.items() if name != "cmdstat_info")


def post_entries(
    base_url: str, key: str, *, count: int, interval: float
) -> tuple[dict[int, float], list[float]]:
    """Post entries `interval` apart (a fixed schedule, not after each reply); {seq: POST start}."""
    sent: dict[int, float] = {}
    round_trips: list[float] = []
    headers = {"Authorization": f"Bearer {key}"}
    schedule = time.monotonic()
    # Generous: the stock path can keep the server busy for seconds per entry.
    with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
        for number in range(count):
            started = time.time()
            response = client.post(
                f"/api/feeds/{FEED_SLUG}/entries/", json={"headline": f"Bench {number}", "body": BODY}
            )
            round_trips.append(time.time() - started)
            if response.status_code != 201:
                raise RuntimeError(f"POST entry: HTTP {response.status_code}: {response.text[:500]}")
            sent[response.json()["seq"]] = started
            schedule += interval
            time.sleep(max(0.0, schedule - time.monotonic()))
    return sent, sorted(round_trips)


def deliver(
    bench: Bench,
    readers: Readers,
    servers: list[Server],
    *,
    readers_open: int,
    count: int,
    interval: float,
    drain: float,
) -> Delivery:
    """Post `count` entries through the first server and collect every reader's arrivals."""
    pids = [pid for server in servers for pid in server.pids()]
    server_cpu, reader_cpu = sum(map(cpu_seconds, pids)), readers.cpu()
    commands = redis_commands(bench.redis_port)
    posted, round_trips = post_entries(servers[0].url, bench.key, count=count, interval=interval)
    commands = redis_commands(bench.redis_port) - commands - 1
    arrivals, timed, losses = readers.wait(list(posted), drain)
    # Publish-to-delivery; a change whose publish was not clocked counts from its POST.
    published = bench.clock.published
    sent = {seq: published.get(seq, started) for seq, started in posted.items()}
    by_seq = [(seq, received - sent[seq]) for seq, received in timed if seq in sent]
    from_post = sorted(received - posted[seq] for seq, received in timed if seq in posted)
    to_publish = sorted(published[seq] - started for seq, started in posted.items() if seq in published)
    return Delivery(
        sent=sent,
        latencies=sorted(latency for _, latency in by_seq),
        arrived=sum(1 for seq, _ in arrivals if seq in posted),
        expected=readers_open * count,
        from_post=from_post,
        to_publish=to_publish,
        losses=losses,
        server_cpu=sum(map(cpu_seconds, pids)) - server_cpu,
        reader_cpu=readers.cpu() - reader_cpu,
        redis_commands=commands,
        posting=round_trips,
        by_seq=by_seq,
    )


def publish_directly(
    bench: Bench,
    readers: Readers,
    server: Server,
    *,
    readers_open: int,
    count: int,
    interval: float,
    drain: float,
) -> Delivery:
    """Publish `count` entry messages straight to the feed's Redis channel (for `bench.bare`)."""
    import redis

    client = redis.Redis(host=HOST, port=bench.redis_port)
    pids = server.pids()
    server_cpu, reader_cpu = sum(map(cpu_seconds, pids)), readers.cpu()
    seqs = [1_000_000 + number for number in range(count)]
    schedule = time.monotonic()
    for seq in seqs:
        message = {
            "type": "entry.created",
            "feed": FEED_SLUG,
            "seq": seq,
            "entry": {"headline": "Bench", "html": BODY},
        }
        client.publish(bare.CHANNEL, f"{seq} {json.dumps(message, separators=(',', ':'))}")
        schedule += interval
        time.sleep(max(0.0, schedule - time.monotonic()))
    arrivals, timed, losses = readers.wait(seqs, drain)
    wait_until(lambda: all(seq in bench.clock.published for seq in seqs), timeout=5, what="the publish clock")
    by_seq = [(seq, received - bench.clock.published[seq]) for seq, received in timed]
    return Delivery(
        sent={seq: bench.clock.published[seq] for seq in seqs},
        latencies=sorted(latency for _, latency in by_seq),
        arrived=len(arrivals),
        expected=readers_open * count,
        losses=losses,
        server_cpu=sum(map(cpu_seconds, pids)) - server_cpu,
        reader_cpu=readers.cpu() - reader_cpu,
        redis_commands=0,
        by_seq=by_seq,
    )


# --- Report -----------------------------------------------------------------------------------


class Report:
    """Figures in the order measured; those with a target say whether they met it."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, label: str, value: str, target: str = "", met: bool | None = None) -> None:
        verdict = "" if met is None else ("met" if met else "MISSED")
        self.rows.append((label, value, target, verdict))
        print(f"  {label}: {value}" + (f"   (target {target}: {verdict})" if target else ""), flush=True)

    def latency(self, label: str, delivery: Delivery, *, target_ms: float | None = None) -> None:
        p99 = delivery.p(99) * 1000
        self.add(f"{label} p50", f"{delivery.p(50) * 1000:.0f} ms")
        self.add(
            f"{label} p99",
            f"{p99:.0f} ms",
            f"≤ {target_ms:.0f} ms" if target_ms else "",
            None if target_ms is None else p99 <= target_ms,
        )
        if delivery.from_post:
            self.add(
                f"{label} POST-to-delivery p50 / p99",
                f"{percentile(delivery.from_post, 50) * 1000:.0f} ms / {percentile(delivery.from_post, 99) * 1000:.0f} ms"
                f" (POST round trip p50 {percentile(delivery.posting, 50) * 1000:.0f} ms)",
            )
        if delivery.to_publish:
            self.add(
                f"{label} POST-to-publish p50 / max",
                f"{percentile(delivery.to_publish, 50) * 1000:.0f} ms / {delivery.to_publish[-1] * 1000:.0f} ms",
            )
        self.add(
            f"{label} deliveries",
            f"{delivery.arrived} / {delivery.expected}",
            "all",
            delivery.arrived == delivery.expected,
        )
        self.add(
            f"{label} CPU (server / readers)", f"{delivery.server_cpu:.2f} s / {delivery.reader_cpu:.2f} s"
        )
        for reason, count in delivery.losses.items():
            self.add(f"{label} readers lost: {reason}", f"{count}")

    def print(self) -> None:
        widths = [max(len(row[column]) for row in self.rows) for column in range(4)]
        print()
        for row in (("figure", "measured", "target", ""), *self.rows):
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


# --- The run ----------------------------------------------------------------------------------


class Bench:
    """One Redis, one SQLite database and the Daphne processes started on them."""

    def __init__(self, stack: ExitStack, options: argparse.Namespace) -> None:
        self.stack = stack
        self.tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="livefeed-bench-")))
        self.redis_port = free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "livefeed.settings",
            "DATABASE_URL": f"sqlite:///{self.tmp}/bench.sqlite3",
            "REDIS_URL": f"redis://{HOST}:{self.redis_port}/0",
            "LIVEFEED_VAR_DIR": str(self.tmp / "var"),
            # Production's settings: DEBUG on records and quotes every query (a bulk insert of
            # ballots cost more to log than to run). Plain HTTP, as behind a proxy ending TLS.
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": f"{HOST},localhost",
            "SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "INFO",  # the server logs each fan-out slower than 50 ms
            # Every simulated reader connects from 127.0.0.1.
            "LIVEFEED_MAX_CONNECTIONS_PER_ADDRESS": "1000000",
            "PYTHONUNBUFFERED": "1",
            # Each Daphne the bench starts is one process, so its figures are per process.
            "LIVEFEED_PROCESSES": "1",
        }
        self.redis = start(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
                "--maxclients",
                "20000",
            ],
            env=self.env,
            log=self.tmp / "redis.log",
            stack=stack,
        )
        wait_until(lambda: redis_pongs(self.redis_port), timeout=10, what="redis-server", process=self.redis)
        self.key = prepare_database(self.env)
        self.clock = PublishClock(self.redis_port)
        self.count = 0

    def daphne(self, application: str | None = None, *, every_core: bool = False) -> Server:
        """One Daphne process, or with `every_core` `livefeed.serve`'s default: one per core."""
        self.count += 1
        port, log = free_port(), self.tmp / f"daphne-{self.count}.log"
        args = [sys.executable, "-m", "livefeed.serve", "--host", HOST, "--port", str(port)]
        if application:
            args += ["--application", application]
        env = {
            name: value
            for name, value in self.env.items()
            if not (every_core and name == "LIVEFEED_PROCESSES")
        }
        process = start(args, env=env, log=log, stack=self.stack)
        wait_until(lambda: port_accepts(port), timeout=30, what="Daphne", process=process)
        server = Server(process=process, port=port, log=log)
        # Warm up lazily built state (URL resolvers, database connection, Redis) before measuring;
        # new connections, so each process of several is likely to take some.
        for _ in range(8 if every_core else 1):
            httpx.get(f"{server.url}/api/feeds/{FEED_SLUG}/", timeout=15).raise_for_status()
        return server

    def bare(self) -> Server:
        """`bench.bare`: bare websockets servers, one per core, on one port."""
        port, log = free_port(), self.tmp / "bare.log"
        args = [sys.executable, "-m", "bench.bare", "--port", str(port), "--redis-port", str(self.redis_port)]
        process = start(args, env=self.env, log=log, stack=self.stack)
        wait_until(lambda: port_accepts(port), timeout=30, what="bench.bare", process=process)
        return Server(process=process, port=port, log=log)

    def slow_fan_outs(self, server: Server) -> list[float]:
        """Durations (ms) of the fan-outs the server logged as slower than 50 ms so far."""
        pattern = re.compile(r"Writing change \d+ to \d+ readers took (\d+) ms")
        return [float(match[1]) for match in pattern.finditer(server.log.read_text(errors="replace"))]

    def retire(self, server: Server) -> None:
        stop(server.process)
        errors = [line for line in server.log.read_text(errors="replace").splitlines() if " ERROR " in line]
        if errors:
            print(f"  Daphne logged {len(errors)} errors; last lines:\n{server_log_tail(server.log)}")


def connect(report: Report, readers: Readers, server: Server, total: int, count: int, batch: int) -> int:
    started = time.monotonic()
    opened, failures = readers.open(server.ws_url, count, batch=batch)
    report.add(f"readers connected (+{count})", f"{total + opened} in {time.monotonic() - started:.1f} s")
    for reason, number in failures.items():
        report.add(f"connect failure: {reason}", f"{number}")
    return total + opened


def run(options: argparse.Namespace) -> Report:
    report = Report()
    n = options.readers
    with ExitStack() as stack:
        bench = Bench(stack, options)
        raise_file_limit()
        entries, interval, drain = options.entries, options.interval, options.drain
        report.add(
            "machine load when starting (1 min)", f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
        )

        stock_p99 = None
        if "stock" not in options.skip:
            print(f"Stock path: group_send to one consumer per reader, {n} readers, one Daphne", flush=True)
            server = bench.daphne(STOCK_APPLICATION)
            readers = Readers(options.workers, stack, probes=options.probes)
            rss = rss_kb(server.process.pid)
            total = connect(report, readers, server, 0, n, options.batch)
            time.sleep(options.settle)
            report.add(
                "stock: memory per idle reader",
                f"{(rss_kb(server.process.pid) - rss) / max(1, total):.1f} KB",
            )
            delivery = deliver(
                bench,
                readers,
                [server],
                readers_open=total,
                count=entries,
                interval=interval,
                drain=max(drain, 30),
            )
            report.latency(f"stock: {total} readers", delivery)
            report.add("stock: Redis commands per entry", f"{delivery.redis_commands / entries:.0f}")
            stock_p99 = delivery.p(99)
            readers.stop()
            bench.retire(server)

        print("Livefeed broadcast: one subscription per process, one Daphne", flush=True)
        server = bench.daphne()
        readers = Readers(options.workers, stack, probes=options.probes)
        rss = rss_kb(server.process.pid)
        total = connect(report, readers, server, 0, 100, options.batch)
        small = deliver(bench, readers, [server], readers_open=total, count=5, interval=interval, drain=drain)
        total = connect(report, readers, server, total, min(n, 1000) - total, options.batch)
        delivery = deliver(
            bench, readers, [server], readers_open=total, count=entries, interval=interval, drain=drain
        )
        report.latency(f"{total} readers", delivery, target_ms=40)
        total = connect(report, readers, server, total, n - total, options.batch)
        time.sleep(options.settle)
        per_reader = (rss_kb(server.process.pid) - rss) / max(1, total)
        report.add("memory per idle reader", f"{per_reader:.1f} KB", "≤ 28 KB", per_reader <= 28)
        delivery = deliver(
            bench, readers, [server], readers_open=total, count=entries, interval=interval, drain=drain
        )
        report.latency(f"{total} readers", delivery, target_ms=150)
        slow = bench.slow_fan_outs(server)
        report.add(
            f"server time writing one change to {total} readers (slowest)",
            f"{max(slow):.0f} ms" if slow else "< 50 ms every time",
        )
        if stock_p99 is not None:
            ratio = stock_p99 / delivery.p(99)
            report.add(
                f"gain over stock at {total} readers (p99 ratio)", f"{ratio:.0f}×", "≥ 20×", ratio >= 20
            )
        per_entry = (small.redis_commands / 5, delivery.redis_commands / entries)
        report.add(
            f"Redis commands per entry at 100 / {total} readers",
            f"{per_entry[0]:.1f} / {per_entry[1]:.1f}",
            "independent of readers",
            per_entry[1] <= per_entry[0] + 0.5,
        )

        if "sustain" not in options.skip:
            print(f"Sustained: {total} readers, two entries a second for {options.sustain:.0f} s", flush=True)
            sustained = deliver(
                bench,
                readers,
                [server],
                readers_open=total,
                count=int(options.sustain * 2),
                interval=0.5,
                drain=drain,
            )
            start_at = min(sustained.sent.values())
            first_window = sorted(
                latency for seq, latency in sustained.by_seq if sustained.sent[seq] < start_at + 10
            )
            first = percentile(first_window, 50) if first_window else math.inf
            last_window = start_at + options.sustain - 10
            last_p99 = sustained.p(99, since=last_window) * 1000
            last_p50 = sustained.p(50, since=last_window)
            report.add("sustained: p99 of the last 10 s", f"{last_p99:.0f} ms", "≤ 150 ms", last_p99 <= 150)
            report.add(
                "sustained: p50 first 10 s / last 10 s",
                f"{first * 1000:.0f} ms / {last_p50 * 1000:.0f} ms",
                "no growing backlog",
                last_p50 <= max(2 * first, first + 0.02),
            )
            arrived = sustained.arrived
            report.add(
                "sustained: deliveries",
                f"{arrived} / {sustained.expected}",
                "all",
                arrived == sustained.expected,
            )
            report.add(
                "sustained: server CPU / readers CPU",
                f"{sustained.server_cpu:.1f} s / {sustained.reader_cpu:.1f} s",
            )

        if "churn" not in options.skip:
            # The first cycle raises the high-water mark (old connections' garbage is reclaimed
            # only once the crowd settles); later cycles must reuse that memory, not add to it.
            churn = min(1000, total)
            sizes = []
            for _ in range(4):
                readers.close(churn)
                connect(report, readers, server, total - churn, churn, options.batch)
                time.sleep(options.settle)
                sizes.append(rss_kb(server.process.pid) / 1024)
            last_round = sizes[-1] - sizes[-2]
            report.add(
                f"RSS after each of 4 × {churn} readers leaving and rejoining",
                " / ".join(f"{size:.0f}" for size in sizes) + " MB",
                f"levels off (last round < {churn / 1024:.0f} MB)",
                last_round < churn / 1024,
            )

        if "two" not in options.skip:
            print(f"Two Daphne processes sharing Redis, {2 * n} readers", flush=True)
            second = bench.daphne()
            total = connect(report, readers, second, total, n, options.batch)
            delivery = deliver(
                bench,
                readers,
                [server, second],
                readers_open=total,
                count=entries,
                interval=interval,
                drain=drain,
            )
            report.latency(f"{total} readers on two processes", delivery, target_ms=250)
            readers.close(total)
            bench.retire(second)
        else:
            readers.close(total)

        if "burst" not in options.skip:
            print("Burst: 2,000 readers connecting within one second", flush=True)
            burst_server = bench.daphne()
            started = time.monotonic()
            opened, failures = readers.open(burst_server.ws_url, 2000, batch=2000)
            report.add(
                "burst: readers connected",
                f"{opened} / 2000 in {time.monotonic() - started:.1f} s",
                "all",
                opened == 2000,
            )
            for reason, number in failures.items():
                report.add(f"burst: connect failure: {reason}", f"{number}")
            delivery = deliver(
                bench, readers, [burst_server], readers_open=opened, count=5, interval=interval, drain=drain
            )
            arrived = delivery.arrived
            report.add(
                "burst: later entries arrived",
                f"{arrived} / {delivery.expected}",
                "all",
                arrived == delivery.expected,
            )
            alive = burst_server.process.poll() is None
            report.add("burst: server still running", "yes" if alive else "no", "yes", alive)
            readers.close(opened)
            bench.retire(burst_server)
        bench.retire(server)

        if "cores" not in options.skip:
            cores = len(os.sched_getaffinity(0))
            print(
                f"Every core: {n} readers on livefeed.serve's default layout ({cores} processes, one port, Redis)"
            )
            everyone = bench.daphne(every_core=True)
            total = connect(report, readers, everyone, 0, n, options.batch)
            time.sleep(options.settle)  # as in the phases above: the crowd's garbage is collected once
            delivery = deliver(
                bench, readers, [everyone], readers_open=total, count=entries, interval=interval, drain=drain
            )
            report.latency(f"every core: {total} readers", delivery)
            from_post = percentile(delivery.from_post, 99) * 1000 if delivery.from_post else math.inf
            report.add(
                f"every core: {total} readers POST-to-delivery p99",
                f"{from_post:.0f} ms",
                "≤ 100 ms",
                from_post <= 100,
            )
            readers.close(total)
            bench.retire(everyone)
            print(f"Bare websockets: the same {n} readers, one asyncio process per core, no framework")
            bare = bench.bare()
            total = connect(report, readers, bare, 0, n, options.batch)
            time.sleep(options.settle)
            delivery = publish_directly(
                bench, readers, bare, readers_open=total, count=entries, interval=interval, drain=drain
            )
            report.latency(f"bare websockets: {total} readers", delivery)
            readers.close(total)
            bench.retire(bare)
    return report


def parse_options(argv: list[str] | None) -> argparse.Namespace:
    """The command line; every default is what `make bench` measures."""
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=5000, help="readers per process (default 5000)")
    parser.add_argument("--entries", type=int, default=10, help="entries per round (default 10)")
    parser.add_argument("--interval", type=float, default=1.5, help="seconds between entries (default 1.5)")
    parser.add_argument(
        "--sustain", type=float, default=60, help="seconds of two entries a second (default 60)"
    )
    parser.add_argument("--workers", type=int, default=4, help="reader processes (default 4)")
    parser.add_argument(
        "--probes",
        type=float,
        default=0.05,
        help="share of the readers that read at once and are timed (default 0.05; 0: all timed)",
    )
    parser.add_argument("--batch", type=int, default=500, help="readers connecting at once (default 500)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to settle before RSS (default 3)")
    parser.add_argument("--drain", type=float, default=10.0, help="max seconds for stragglers (default 10)")
    parser.add_argument("--skip", default="", help=f"comma-separated phases to skip: {', '.join(PHASES)}")
    options = parser.parse_args(argv)
    options.skip = {phase.strip() for phase in options.skip.split(",") if phase.strip()}
    if unknown := options.skip - set(PHASES):
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    if options.readers < 1000 or options.entries < 1 or options.workers < 1:
        parser.error("--readers must be at least 1000, --entries and --workers at least 1")
    return options


def main(argv: list[str] | None = None) -> int:
    """Run once; SIGTERM is treated like Ctrl-C so every server is still stopped."""
    options = parse_options(argv)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    started = time.monotonic()
    try:
        report = run(options)
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        return 130
    except (RuntimeError, TimeoutError, httpx.HTTPError, OSError) as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    report.print()
    print(f"\n{time.monotonic() - started:.0f} s; load average now {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
