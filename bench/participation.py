"""Crowd benchmark: thousands of readers voting or reacting within seconds, on two processes.

Two Daphne processes share Redis (and one database) with readers following the feed on both.
A crowd of distinct browsers (no cookie: each vote is a new reader) votes in a poll, then reacts
to an entry, each within `--window` seconds, while ordinary entries are posted; the same entries
are posted once more with no crowd. Printed: votes answered and counted (every one exactly once,
in Redis, in the database and in the readers' last count), count messages per second per entry
(coalesced: at most one), server CPU per vote, and the fan-out latency of ordinary entries
during the burst against the quiet figure. Entries go out every `--interval` seconds, twenty per
phase by default: a p99 over ten entries was mostly the tail of the single worst one.

    python -m bench.participation [--voters 5000] [--window 10] [--readers 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import ExitStack
from multiprocessing.connection import Connection
from typing import Any

import httpx2 as httpx

from bench.fanout import Bench, Readers, Report, deliver, percentile
from bench.processes import FEED_SLUG, HOST, REPO, cpu_seconds, raise_file_limit, stop

ENABLE_REACTIONS = f"""
from feeds.models import Feed
from feeds.participation.models import FeedParticipation
FeedParticipation.objects.update_or_create(feed=Feed.objects.get(slug="{FEED_SLUG}"), defaults={{"reactions_enabled": True}})
"""
REACTIONS = ("like", "love", "wow", "sad", "flag")


# --- The crowd: distinct browsers sending one vote each, on a schedule ------------------------


async def _send_votes(
    port: int, path: str, bodies: list[bytes], start_at: float, spacing: float, connections: int
) -> tuple[Counter[int], list[float]]:
    """POST each body (GET when it is empty) at `start_at + i * spacing` over `connections`
    keep-alive connections, as browsers without a cookie: each request is a new reader."""
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
    for index, body in enumerate(bodies):
        queue.put_nowait((start_at + index * spacing, body))

    async def worker() -> None:
        reader = writer = None
        while not queue.empty():
            due, body = queue.get_nowait()
            await asyncio.sleep(max(0.0, due - time.time()))
            if body:
                request = (
                    f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
                    f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode() + body
            else:
                request = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode()
            for _attempt in range(2):
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection(HOST, port)
                    sent = time.time()
                    writer.write(request)
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = 0
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":", 1)[1])
                    await reader.readexactly(length)
                    latencies.append(time.time() - sent)
                    statuses[int(head.split(b" ", 2)[1])] += 1
                    if b"connection: close" in head.lower():
                        writer.close()
                        reader = writer = None
                    break
                except (OSError, asyncio.IncompleteReadError):
                    if writer is not None:
                        writer.close()
                    reader = writer = None
            else:
                statuses[0] += 1
        if writer is not None:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return statuses, latencies


def crowd_process(conn: Connection) -> None:
    """One share of the crowd: ("votes", port, path, bodies, start_at, spacing, connections)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import uvloop

    _, port, path, bodies, start_at, spacing, connections = conn.recv()
    statuses, latencies = uvloop.run(_send_votes(port, path, bodies, start_at, spacing, connections))
    conn.send((dict(statuses), latencies))


def crowd(
    servers: list[Any], path: str, bodies: list[bytes], *, window: float, workers: int, stack: ExitStack
) -> list[Any]:
    """Start the crowd's processes, alternating servers; each returns (statuses, latencies)."""
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + 1.0
    spacing = window / len(bodies)
    pending = []
    for index in range(workers):
        share = bodies[index::workers]
        parent, child = context.Pipe()
        process = context.Process(target=crowd_process, args=(child,), daemon=True)
        process.start()
        stack.callback(stop, process)
        server = servers[index % len(servers)]
        parent.send(("votes", server.port, path, share, start_at + index * spacing, spacing * workers, 64))
        pending.append((parent, process))
    return pending


def crowd_results(pending: list[Any], timeout: float) -> tuple[Counter[int], list[float], list[int]]:
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    for parent, process in pending:
        if not parent.poll(timeout):
            raise TimeoutError("the crowd did not finish")
        done, took = parent.recv()
        statuses.update(done)
        latencies.extend(took)
        process.join(timeout=10)
    return statuses, sorted(latencies), [process.pid for _, process in pending]


# --- Watching the counts like a reader ---------------------------------------------------------


def watch_tallies(conn: Connection, port: int, channel: str) -> None:
    """Note each count message published to Redis (the same text every reader receives) with the
    time its server sent it; answer ("report",) with what was seen."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import redis

    seen: list[tuple[float, int, dict[str, int]]] = []
    pubsub = redis.Redis(host=HOST, port=port).pubsub()
    pubsub.subscribe(channel)
    while True:
        message = pubsub.get_message(timeout=0.05)
        if message and message["type"] == "message":
            seq, _, text = message["data"].partition(b" ")
            if seq == b"0":
                tally = json.loads(text)
                if tally.get("type") == "participation.tally":
                    seen.append((tally["sent_at"], tally["entry"], tally["counts"]))
        if conn.poll():
            if conn.recv() == ("stop",):
                return
            conn.send(seen)


class TallyWatcher:
    """The count messages of every entry, as published, from a process of their own (so its
    work never delays the clock that stamps ordinary entries)."""

    def __init__(self, redis_port: int, stack: ExitStack) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        process = context.Process(
            target=watch_tallies, args=(child, redis_port, f"livefeed.feed.{FEED_SLUG}"), daemon=True
        )
        process.start()
        stack.callback(stop, process)

    def seen(self, entry: int) -> list[tuple[float, dict[str, int]]]:
        self.conn.send(("report",))
        return [(at, counts) for at, number, counts in self.conn.recv() if number == entry]

    def wait_for_total(self, entry: int, total: int, timeout: float) -> list[tuple[float, dict[str, int]]]:
        deadline = time.monotonic() + timeout
        while True:
            seen = self.seen(entry)
            if (seen and sum(seen[-1][1].values()) >= total) or time.monotonic() > deadline:
                return seen
            time.sleep(0.2)


def most_in_one_second(arrivals: list[float]) -> int:
    """The most messages that arrived within any one-second window."""
    arrivals = sorted(arrivals)
    most, first = 0, 0
    for last, at in enumerate(arrivals):
        while at - arrivals[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


# --- The run -----------------------------------------------------------------------------------


def stored_rows(bench: Bench, table: str, entry: int) -> int:
    with sqlite3.connect(bench.tmp / "bench.sqlite3", timeout=30) as database:
        return database.execute(f"SELECT COUNT(*) FROM {table} WHERE entry_id = ?", (entry,)).fetchone()[0]


def post_entry(server: Any, key: str, body: dict[str, Any]) -> int:
    response = httpx.post(
        f"{server.url}/api/feeds/{FEED_SLUG}/entries/",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["id"]


def burst(
    report: Report,
    bench: Bench,
    readers: Readers,
    servers: list[Any],
    watcher: TallyWatcher,
    options: argparse.Namespace,
    stack: ExitStack,
    *,
    label: str,
    entry: int,
    path: str,
    bodies: list[bytes],
    table: str,
    total_readers: int,
    quiet: Any,
    quiet_cpu_rate: float,
) -> None:
    print(
        f"{label}: {len(bodies)} browsers within {options.window:.0f} s, entries posted meanwhile", flush=True
    )
    pids = [server.process.pid for server in servers]
    cpu_before = sum(map(cpu_seconds, pids))
    began = time.monotonic()
    pending = crowd(servers, path, bodies, window=options.window, workers=options.crowd_workers, stack=stack)
    during = deliver(
        bench,
        readers,
        servers,
        readers_open=total_readers,
        count=max(3, int(options.window / options.interval)),
        interval=options.interval,
        drain=options.drain,
    )
    statuses, latencies, crowd_pids = crowd_results(pending, timeout=options.window + 120)
    took = time.monotonic() - began
    counted = statuses.get(200, 0)
    report.add(
        f"{label}: answers",
        ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items())),
        f"{len(bodies)} × 200",
        counted == len(bodies),
    )
    report.add(
        f"{label}: round trip p50 / p99",
        f"{percentile(latencies, 50) * 1000:.0f} ms / {percentile(latencies, 99) * 1000:.0f} ms",
    )
    seen = watcher.wait_for_total(entry, counted, timeout=30)
    shown = sum(seen[-1][1].values()) if seen else 0
    deadline = time.monotonic() + 30
    while stored_rows(bench, table, entry) < counted and time.monotonic() < deadline:
        time.sleep(0.2)
    stored = stored_rows(bench, table, entry)
    report.add(
        f"{label}: counted once (last count readers got / database rows / accepted)",
        f"{shown} / {stored} / {counted}",
        "all equal",
        shown == stored == counted,
    )
    arrivals = [at for at, _ in seen]
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    report.add(
        f"{label}: count messages for the entry, by send time (most in any second, smallest gap)",
        f"{len(arrivals)} over {arrivals[-1] - arrivals[0]:.1f} s ({most_in_one_second(arrivals)}, "
        f"{min(gaps) * 1000:.0f} ms)"
        if len(arrivals) > 1
        else f"{len(arrivals)}",
        "≤ 1 a second",
        bool(arrivals) and most_in_one_second(arrivals) <= 1,
    )
    server_cpu = sum(map(cpu_seconds, pids)) - cpu_before
    net = server_cpu - quiet_cpu_rate * took
    report.add(
        f"{label}: server CPU (both processes) per vote",
        f"{server_cpu / max(1, counted) * 1000:.2f} ms raw, {max(net, 0) / max(1, counted) * 1000:.2f} ms net of the quiet rate",
    )
    crowd_cpu = sum(cpu_seconds(pid) for pid in crowd_pids if _alive(pid))
    if crowd_cpu:
        report.add(f"{label}: crowd clients' CPU", f"{crowd_cpu:.1f} s")
    report.latency(f"{label}: ordinary entries during the burst", during)
    for percent in (50, 99):
        ratio = during.p(percent) / quiet.p(percent)
        report.add(
            f"{label}: fan-out p{percent} during burst / quiet",
            f"{during.p(percent) * 1000:.0f} ms / {quiet.p(percent) * 1000:.0f} ms = {ratio:.2f}×",
            "≤ 1.5×",
            ratio <= 1.5,
        )


def _alive(pid: int) -> bool:
    try:
        cpu_seconds(pid)
        return True
    except OSError:
        return False


def run(options: argparse.Namespace) -> Report:
    report = Report()
    with ExitStack() as stack:
        bench = Bench(stack, options)
        bench.env["LIVEFEED_PARTICIPATION_VOTE_RATE"] = "100000000/min"
        bench.env["LOG_LEVEL"] = "WARNING"
        raise_file_limit()
        report.add("machine load when starting (1 min)", f"{__import__('os').getloadavg()[0]:.2f}")
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", ENABLE_REACTIONS],
            cwd=REPO,
            env=bench.env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        servers = [bench.daphne(), bench.daphne()]
        # Readers here get live counts as well as entries, so entries are timed on prompt readers
        # (see `bench.readers.reader_process`); every reader's arrivals count as deliveries.
        readers = Readers(options.workers, stack, probes=options.probes)
        half = options.readers // 2
        opened = 0
        for server, count in zip(servers, (half, options.readers - half), strict=True):
            got, failures = readers.open(server.ws_url, count, batch=options.batch)
            opened += got
            for reason, number in failures.items():
                report.add(f"connect failure: {reason}", f"{number}")
        report.add(
            "readers following the feed (two processes)",
            f"{opened}, of which {readers.held[-1]} timed (prompt readers)",
        )
        # The servers collect the crowd's garbage once it has settled: not inside the quiet figure.
        time.sleep(options.settle)
        watcher = TallyWatcher(bench.redis_port, stack)
        poll = post_entry(
            servers[0],
            bench.key,
            {
                "kind": "poll",
                "details": {"question": "Who wins?", **{f"option_{n}": f"Car {n}" for n in range(1, 5)}},
            },
        )
        target = post_entry(servers[0], bench.key, {"body": "A crowd reacts to this."})

        print("Quiet: ordinary entries, no crowd", flush=True)
        pids = [server.process.pid for server in servers]
        cpu_before, began = sum(map(cpu_seconds, pids)), time.monotonic()
        quiet = deliver(
            bench,
            readers,
            servers,
            readers_open=opened,
            count=max(3, int(options.window / options.interval)),
            interval=options.interval,
            drain=options.drain,
        )
        quiet_cpu_rate = (sum(map(cpu_seconds, pids)) - cpu_before) / (time.monotonic() - began)
        report.latency("quiet: ordinary entries", quiet)

        print("Reference: plain requests (robots.txt) at the same rate, for Django's own cost", flush=True)
        cpu_before = sum(map(cpu_seconds, pids))
        pending = crowd(
            servers,
            "/robots.txt",
            [b""] * options.voters,
            window=options.window,
            workers=options.crowd_workers,
            stack=stack,
        )
        statuses, latencies, _ = crowd_results(pending, timeout=options.window + 120)
        plain_cpu = sum(map(cpu_seconds, pids)) - cpu_before
        report.add(
            "reference: server CPU per plain request (GET /robots.txt)",
            f"{plain_cpu / max(1, statuses.get(200, 0)) * 1000:.2f} ms ({statuses.get(200, 0)} answered 200, "
            f"p99 {percentile(latencies, 99) * 1000:.0f} ms)",
        )

        votes = [json.dumps({"option": index % 4}).encode() for index in range(options.voters)]
        burst(
            report,
            bench,
            readers,
            servers,
            watcher,
            options,
            stack,
            label="votes",
            entry=poll,
            path=f"/api/feeds/{FEED_SLUG}/entries/{poll}/vote/",
            bodies=votes,
            table="participation_ballot",
            total_readers=opened,
            quiet=quiet,
            quiet_cpu_rate=quiet_cpu_rate,
        )
        if not options.skip_reactions:
            reactions = [
                json.dumps({"reaction": REACTIONS[i % len(REACTIONS)]}).encode()
                for i in range(options.voters)
            ]
            burst(
                report,
                bench,
                readers,
                servers,
                watcher,
                options,
                stack,
                label="reactions",
                entry=target,
                path=f"/api/feeds/{FEED_SLUG}/entries/{target}/reaction/",
                bodies=reactions,
                table="participation_reaction",
                total_readers=opened,
                quiet=quiet,
                quiet_cpu_rate=quiet_cpu_rate,
            )
        readers.stop()
        for server in servers:
            bench.retire(server)
    return report


def parse_options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.participation", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--voters", type=int, default=5000, help="browsers voting, then reacting (default 5000)"
    )
    parser.add_argument("--window", type=float, default=10.0, help="seconds the crowd takes (default 10)")
    parser.add_argument("--readers", type=int, default=2000, help="readers following the feed (default 2000)")
    parser.add_argument(
        "--interval", type=float, default=0.5, help="seconds between ordinary entries (default 0.5)"
    )
    parser.add_argument("--workers", type=int, default=2, help="reader processes (default 2)")
    parser.add_argument(
        "--probes",
        type=float,
        default=0.1,
        help="share of the readers that read at once and are timed (default 0.1)",
    )
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to settle after connecting")
    parser.add_argument("--crowd-workers", type=int, default=2, help="crowd processes (default 2)")
    parser.add_argument("--batch", type=int, default=500, help="readers connecting at once (default 500)")
    parser.add_argument("--drain", type=float, default=10.0, help="max seconds for stragglers (default 10)")
    parser.add_argument("--skip-reactions", action="store_true", help="measure votes only")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    started = time.monotonic()
    try:
        report = run(options)
    except KeyboardInterrupt:
        print("Interrupted; every server was stopped.")
        return 130
    report.print()
    print(f"\n  ({time.monotonic() - started:.0f} s)")
    return 0 if all(row[3] != "MISSED" for row in report.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
