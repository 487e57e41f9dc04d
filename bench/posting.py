"""Posting benchmark: what an editor waits for when a feed has partners that do not answer.

Posts entries through the API to one Daphne process with the background worker running, first
with no partners, then with webhook subscriptions and a WebSub hub that all hang (they accept the
connection and never answer), then the same with an `Idempotency-Key` on every POST. Each phase
prints the POST round trip (p50, p99) and how many requests the hanging receivers have taken, so
the run shows that delivery was really under way while the editor posted.

    python -m bench.posting [--entries 200] [--subscriptions 5]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx2 as httpx

from bench.fanout import BODY, percentile
from bench.processes import (
    FEED_SLUG,
    HOST,
    REPO,
    free_port,
    port_accepts,
    prepare_database,
    start,
    wait_until,
)


class HangingReceiver:
    """Accepts every connection, reads the request and never answers until the run ends."""

    def __init__(self) -> None:
        self.listener = socket.create_server((HOST, 0))
        self.port = self.listener.getsockname()[1]
        self.requests = 0
        self.held: list[socket.socket] = []
        threading.Thread(target=self.accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/hook"

    def accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.requests += 1
            self.held.append(connection)

    def close(self) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()


def subscribe(env: dict[str, str], *, url: str, count: int) -> None:
    """Add `count` webhook subscriptions to the bench feed, every event, all pointing at `url`."""
    snippet = (
        "from feeds.models import Feed\n"
        "from feeds.webhooks.models import WebhookSubscription\n"
        f"feed = Feed.objects.get(slug={FEED_SLUG!r})\n"
        f"WebhookSubscription.objects.bulk_create([WebhookSubscription(feed=feed, url={url!r}) for _ in range({count})])\n"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", snippet],
        cwd=REPO,
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
    )


def post(base_url: str, key: str, *, count: int, idempotent: bool) -> list[float]:
    """POST `count` entries one after another; the sorted round trips in seconds."""
    times: list[float] = []
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        for number in range(count):
            headers = {"Idempotency-Key": str(uuid.uuid4())} if idempotent else {}
            started = time.perf_counter()
            response = client.post(
                f"/api/feeds/{FEED_SLUG}/entries/",
                json={"headline": f"Post {number}", "body": BODY},
                headers=headers,
            )
            times.append(time.perf_counter() - started)
            if response.status_code != 201:
                raise RuntimeError(f"POST entry: HTTP {response.status_code}: {response.text[:300]}")
    return sorted(times)


def report(label: str, times: list[float], receiver: HangingReceiver) -> None:
    print(
        f"{label:<48} p50 {percentile(times, 50) * 1000:6.1f} ms   p99 {percentile(times, 99) * 1000:6.1f} ms"
        f"   hanging receiver has taken {receiver.requests} request(s)",
        flush=True,
    )


def serve(env: dict[str, str], *, root: Path, port: int, stack: ExitStack) -> str:
    """Start Daphne and the background worker with `env`; the site's URL once it answers."""
    start(
        [sys.executable, "-m", "livefeed.serve", "--host", HOST, "--port", str(port)],
        env=env,
        log=root / "daphne.log",
        stack=stack,
    )
    start(
        [sys.executable, "manage.py", "db_worker", "--queue-name", "*", "--no-reload"],
        env=env,
        log=root / "worker.log",
        stack=stack,
    )
    wait_until(lambda: port_accepts(port), timeout=30, what="Daphne")
    return f"http://{HOST}:{port}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200, help="entries posted per phase")
    parser.add_argument("--subscriptions", type=int, default=5, help="hanging webhook subscriptions")
    options = parser.parse_args(argv)
    receiver = HangingReceiver()
    with tempfile.TemporaryDirectory(prefix="livefeed-bench-") as directory:
        root = Path(directory)
        port = free_port()
        env = {
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": f"sqlite:///{root / 'bench.sqlite3'}",
            "LIVEFEED_VAR_DIR": str(root / "var"),
            "DEBUG": "true",
            "LOG_LEVEL": "WARNING",
            "LIVEFEED_OUTBOUND_ALLOW_PRIVATE": "true",
            "LIVEFEED_WEBHOOK_TIMEOUT": "30",
            "API_WRITE_RATE": "100000/min",  # one editor posting flat out
        }
        key = prepare_database(env)
        print(
            f"{options.entries} entries per phase, posted one after another through the API "
            "(SQLite, one Daphne process, one worker)",
            flush=True,
        )
        with ExitStack() as stack:
            base_url = serve(env, root=root, port=port, stack=stack)
            post(base_url, key, count=20, idempotent=False)  # warm up: connections, caches, imports
            report("no partners", post(base_url, key, count=options.entries, idempotent=False), receiver)
        subscribe(env, url=receiver.url, count=options.subscriptions)
        partners = {**env, "LIVEFEED_SITE_URL": f"http://{HOST}:{port}", "LIVEFEED_WEBSUB_HUB": receiver.url}
        with ExitStack() as stack:
            base_url = serve(partners, root=root, port=port, stack=stack)
            post(base_url, key, count=20, idempotent=False)
            label = f"{options.subscriptions} webhooks and a hub, none answering"
            report(label, post(base_url, key, count=options.entries, idempotent=False), receiver)
            report(
                "the same, each POST with an Idempotency-Key",
                post(base_url, key, count=options.entries, idempotent=True),
                receiver,
            )
    receiver.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
