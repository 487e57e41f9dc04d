"""Fan-out benchmark: one Daphne, N WebSocket readers, entries posted one at a time through the API.

It starts its own Redis and SQLite database in a temporary directory, so it measures the deployed
path (API, on_commit, channels-redis group_send, consumer, socket) without touching anyone's data.
Readers run in separate uvloop processes so their CPU is small and reported next to the server's.

    python -m bench.fanout [--readers 1000] [--entries 20] [--interval 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
FEED_SLUG = "bench"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
OPEN_TIMEOUT = 30.0
BODY = (
    "Caution is out on lap 57 for debris in Turn 3. The leaders all come to pit road for four "
    "tyres and fuel; Okafor is first off ahead of Lindqvist and Tamura, while Beaumont stays out "
    "and will restart at the front. *More to follow* as the field lines up: we will update this "
    "entry with the running order and the restart, expected within three laps."
)
SETUP_SNIPPET = f"""
from django.contrib.auth import get_user_model
from feeds.services import create_feed
from feeds.tokens import issue_token
user = get_user_model().objects.create_superuser("bench", "bench@example.invalid", None)
create_feed(by=user, title="Bench", slug="{FEED_SLUG}", status="live")
print(issue_token(user=user)[1])
"""


# --- Processes and /proc ----------------------------------------------------------------------


def free_port() -> int:
    """A loopback port nobody is listening on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_until(
    ready: Callable[[], bool], *, timeout: float, what: str, process: subprocess.Popen | None = None
) -> None:
    """Poll `ready` until it holds; fail early if `process` exits, so a crash is not a timeout."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout:.0f} s")
        time.sleep(0.05)


def port_accepts(port: int) -> bool:
    """Whether something listens on the loopback `port`."""
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def redis_pongs(port: int) -> bool:
    """Whether Redis on `port` answers PING (it may accept before it has loaded)."""
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start(args: list[str], *, env: dict[str, str], log: Path, stack: ExitStack) -> subprocess.Popen:
    """Start a server in its own session (Ctrl-C reaches only us) and register its shutdown."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            args, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack.callback(stop, process)
    return process


def stop(process: subprocess.Popen | multiprocessing.process.BaseProcess) -> None:
    """Terminate politely, then kill; never wait unbounded."""
    if isinstance(process, subprocess.Popen):
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        return
    if process.is_alive():
        process.terminate()
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)


def rss_kb(pid: int) -> int:
    """Resident memory of a process in KB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    # The command name may contain spaces, so count fields from its closing parenthesis.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def raise_file_limit() -> int:
    """Lift our soft open-files limit to the hard one; Daphne and the readers inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def prepare_database(env: dict[str, str]) -> str:
    """Migrate a fresh database, create the bench user and live feed; return an API key."""
    manage = [sys.executable, "manage.py"]
    for args in (["migrate", "--noinput"], ["shell", "-c", SETUP_SNIPPET]):
        result = subprocess.run(manage + args, cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stdout}{result.stderr}")
    return result.stdout.strip().splitlines()[-1]


# --- Reader processes -------------------------------------------------------------------------


def reader_process(url: str, count: int, batch: int, conn: Connection) -> None:
    """Entry point of a reader process: Ctrl-C is the parent's to handle, it stops us."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import uvloop

    uvloop.run(follow_feed(url, count, batch, conn))


async def follow_feed(url: str, count: int, batch: int, conn: Connection) -> None:
    """Open `count` sockets in batches, stamp every message, report arrivals when told to drain.

    Protocol with the parent: we send ("connected", open, failures); it sends (seqs, drain seconds);
    we send ("arrivals", {seq: [receive times]}, {close reason: count}).
    """
    from websockets.asyncio.client import ClientConnection, connect
    from websockets.exceptions import ConnectionClosed

    arrivals: dict[int, list[float]] = defaultdict(list)
    early_closes: Counter[str] = Counter()
    closing = False

    async def listen(websocket: ClientConnection) -> None:
        try:
            async for message in websocket:
                received = time.time()
                event = json.loads(message)
                if event.get("type") == "entry.created":
                    arrivals[event["seq"]].append(received)
        except ConnectionClosed:
            pass
        if not closing:
            early_closes[f"closed by server, code {websocket.close_code}"] += 1

    sockets: list[ClientConnection] = []
    listeners: list[asyncio.Task[None]] = []  # held so the event loop's weak refs keep them alive
    failures: Counter[str] = Counter()
    for first in range(0, count, batch):
        attempts = [
            connect(url, open_timeout=OPEN_TIMEOUT, ping_interval=None, close_timeout=2)
            for _ in range(min(batch, count - first))
        ]
        for result in await asyncio.gather(*attempts, return_exceptions=True):
            if isinstance(result, BaseException):
                failures[f"{type(result).__name__}: {result}"[:120]] += 1
            else:
                sockets.append(result)
                listeners.append(asyncio.create_task(listen(result)))
    conn.send(("connected", len(sockets), dict(failures)))

    loop = asyncio.get_running_loop()
    seqs, drain = await loop.run_in_executor(None, conn.recv)
    deadline = time.monotonic() + drain
    while time.monotonic() < deadline:
        if all(len(arrivals.get(seq, ())) >= len(sockets) - sum(early_closes.values()) for seq in seqs):
            break
        await asyncio.sleep(0.05)
    conn.send(("arrivals", dict(arrivals), dict(early_closes)))

    closing = True
    if sockets:
        await asyncio.wait([asyncio.create_task(websocket.close()) for websocket in sockets], timeout=5)


def replies(conns: list[Connection], *, timeout: float, what: str) -> list[tuple[Any, ...]]:
    """One message from each reader process, or a clear error naming what we were waiting for."""
    pending, received = list(conns), {}
    deadline = time.monotonic() + timeout
    while pending:
        ready = multiprocessing.connection.wait(pending, timeout=max(0.0, deadline - time.monotonic()))
        if not ready:
            raise TimeoutError(f"reader processes did not report {what} within {timeout:.0f} s")
        for conn in ready:
            try:
                received[id(conn)] = conn.recv()
            except EOFError:
                raise RuntimeError(f"a reader process died before reporting {what}") from None
            pending.remove(conn)
    return [received[id(conn)] for conn in conns]


# --- Posting and reporting --------------------------------------------------------------------


def post_entries(
    *, base_url: str, key: str, count: int, interval: float
) -> tuple[dict[int, float], list[float]]:
    """Post entries one at a time, `interval` apart; return {seq: send time} and round trips."""
    sent: dict[int, float] = {}
    round_trips: list[float] = []
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=15) as client:
        for number in range(1, count + 1):
            started = time.time()
            response = client.post(
                f"/api/feeds/{FEED_SLUG}/entries/", json={"headline": f"Bench {number}", "body": BODY}
            )
            round_trips.append(time.time() - started)
            if response.status_code != 201:
                detail = response.text[:2000]
                raise RuntimeError(f"POST entry {number}: HTTP {response.status_code}: {detail}")
            sent[response.json()["seq"]] = started
            time.sleep(max(0.0, interval - (time.time() - started)))
    return sent, round_trips


def percentile(values: list[float], percent: float) -> float:
    """Nearest-rank percentile of sorted `values`."""
    return values[max(0, math.ceil(percent / 100 * len(values)) - 1)]


def print_figures(figures: list[tuple[str, str]]) -> None:
    """One figure per line, values aligned so two runs compare at a glance."""
    width = max(len(label) for label, _ in figures)
    for label, value in figures:
        print(f"{label:<{width}}  {value}")


def server_log_tail(log: Path, lines: int = 40) -> str:
    """The last lines of Daphne's log without its access lines, which would bury any traceback."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join([line for line in text.splitlines() if ' - - [' not in line][-lines:])


# --- The run ----------------------------------------------------------------------------------


def run(options: argparse.Namespace) -> None:
    """Set everything up, measure, print the figures; the ExitStack tears it all down."""
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="livefeed-bench-")))
        redis_port, daphne_port = free_port(), free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "livefeed.settings",
            "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
            "REDIS_URL": f"redis://{HOST}:{redis_port}/0",
            "LIVEFEED_VAR_DIR": str(tmp / "var"),
            "DEBUG": "true",
            "PYTHONUNBUFFERED": "1",
        }
        redis = start(
            ["redis-server", "--port", str(redis_port), "--bind", HOST, "--save", "", "--appendonly", "no",
             "--dir", str(tmp)],
            env=env, log=tmp / "redis.log", stack=stack,
        )
        wait_until(lambda: redis_pongs(redis_port), timeout=10, what="redis-server", process=redis)
        key = prepare_database(env)

        file_limit = raise_file_limit()
        daphne_log = tmp / "daphne.log"
        daphne = start(
            [sys.executable, "-m", "livefeed.serve", "--host", HOST, "--port", str(daphne_port)],
            env=env, log=daphne_log, stack=stack,
        )
        try:
            wait_until(lambda: port_accepts(daphne_port), timeout=30, what="Daphne", process=daphne)
            measure(
                options, daphne=daphne, port=daphne_port, redis=redis, key=key, file_limit=file_limit,
                stack=stack,
            )
        except Exception:
            print(f"--- last lines of the Daphne log ---\n{server_log_tail(daphne_log)}", file=sys.stderr)
            raise
        errors = [line for line in daphne_log.read_text(errors="replace").splitlines() if " ERROR " in line]
        if errors:
            print(f"\nDaphne logged {len(errors)} errors; last lines:\n{server_log_tail(daphne_log)}")


def measure(
    options: argparse.Namespace, *, daphne: subprocess.Popen, port: int, redis: subprocess.Popen, key: str,
    file_limit: int, stack: ExitStack,
) -> None:
    """Connect the readers, post the entries, and print what arrived, how fast, at what cost."""
    base_url = f"http://{HOST}:{port}"
    ws_url = f"ws://{HOST}:{port}/ws/feeds/{FEED_SLUG}/"

    # Warm up lazily built state (URL resolvers, channel layer, Redis pool) before the baseline.
    from websockets.sync.client import connect

    httpx.get(f"{base_url}/api/feeds/{FEED_SLUG}/", timeout=15).raise_for_status()
    with connect(ws_url, open_timeout=OPEN_TIMEOUT):
        time.sleep(0.2)
    time.sleep(options.settle)
    rss_before = rss_kb(daphne.pid)

    context = multiprocessing.get_context("spawn")
    conns, workers = [], []
    batch = max(1, options.batch // options.workers)
    for index in range(options.workers):
        share = options.readers // options.workers + (index < options.readers % options.workers)
        parent_end, child_end = context.Pipe()
        worker = context.Process(target=reader_process, args=(ws_url, share, batch, child_end), daemon=True)
        worker.start()
        stack.callback(stop, worker)
        conns.append(parent_end)
        workers.append(worker)
    batches = math.ceil(options.readers / options.batch)
    connected = replies(conns, timeout=OPEN_TIMEOUT * (batches + 1) + 30, what="their connections")
    open_sockets = sum(reply[1] for reply in connected)
    failures: Counter[str] = Counter()
    for reply in connected:
        failures.update(reply[2])
    time.sleep(options.settle)
    rss_after = rss_kb(daphne.pid)

    cpu_start = {process.pid: cpu_seconds(process.pid) for process in (daphne, redis, *workers)}
    sent, round_trips = post_entries(
        base_url=base_url, key=key, count=options.entries, interval=options.interval
    )
    for conn in conns:
        conn.send((list(sent), options.drain))
    reports = replies(conns, timeout=options.drain + 30, what="their arrivals")
    cpu = {pid: cpu_seconds(pid) - start for pid, start in cpu_start.items()}

    latencies: list[float] = []
    early_closes: Counter[str] = Counter()
    for _, arrivals, closes in reports:
        early_closes.update(closes)
        for seq, times in arrivals.items():
            if seq in sent:
                latencies.extend(received - sent[seq] for received in times)
    latencies.sort()
    expected = options.readers * options.entries
    round_trips.sort()

    figures = [
        ("readers", f"{options.readers}"),
        ("readers connected", f"{open_sockets}"),
        ("reader processes", f"{options.workers}"),
        ("open files limit", f"{file_limit}"),
        ("entries posted", f"{len(sent)}"),
        ("deliveries arrived / expected", f"{len(latencies)} / {expected}"),
    ]
    if latencies:
        figures += [
            ("latency p50", f"{percentile(latencies, 50) * 1000:.1f} ms"),
            ("latency p99", f"{percentile(latencies, 99) * 1000:.1f} ms"),
            ("latency max", f"{latencies[-1] * 1000:.1f} ms"),
        ]
    figures += [
        ("POST round trip p50", f"{percentile(round_trips, 50) * 1000:.1f} ms"),
        ("Daphne RSS before / after readers", f"{rss_before / 1024:.1f} MB / {rss_after / 1024:.1f} MB"),
        ("memory per connected reader", f"{(rss_after - rss_before) / max(1, open_sockets):.1f} KB"),
        ("server CPU while posting (Daphne)", f"{cpu[daphne.pid]:.2f} s"),
        ("Redis CPU while posting", f"{cpu[redis.pid]:.2f} s"),
        ("reader CPU while posting (all)", f"{sum(cpu[worker.pid] for worker in workers):.2f} s"),
    ]
    figures += [(f"connect failure: {reason}", f"{count}") for reason, count in failures.items()]
    figures += [(f"reader lost: {reason}", f"{count}") for reason, count in early_closes.items()]
    print_figures(figures)


def parse_options(argv: list[str] | None) -> argparse.Namespace:
    """The command line; every default is what `make bench` measures."""
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=1000, help="WebSocket readers (default 1000)")
    parser.add_argument("--entries", type=int, default=20, help="entries to post (default 20)")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between posts (default 0.5)")
    parser.add_argument("--workers", type=int, default=2, help="reader processes (default 2)")
    parser.add_argument("--batch", type=int, default=200, help="readers connecting at once (default 200)")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds to settle before RSS (default 2)")
    parser.add_argument("--drain", type=float, default=5.0, help="max seconds for stragglers (default 5)")
    options = parser.parse_args(argv)
    if options.readers < 1 or options.entries < 1 or options.workers < 1 or options.batch < 1:
        parser.error("--readers, --entries, --workers and --batch must be at least 1")
    options.workers = min(options.workers, options.readers)
    return options


def main(argv: list[str] | None = None) -> int:
    """Run once; SIGTERM is treated like Ctrl-C so every server is still stopped."""
    options = parse_options(argv)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        run(options)
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        return 130
    except (RuntimeError, TimeoutError, httpx.HTTPError, OSError) as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
