"""HTTP benchmark: what a crowd arriving at a live page costs the server, measured with `wrk`.

Starts the server the way production runs it (`python -m livefeed.serve`, DEBUG off, static files
collected, the demo feed loaded into a temporary database; Redis too with `--redis`), then drives
each request a reader's browser or a CDN makes with Debian's `wrk` (`-t2 -c50` by default) and
prints requests per second and the 99th percentile latency beside the target for each:

- the live page `/feeds/<slug>/` (200), and its revalidation with `If-None-Match` (304);
- the events API `?after=<current seq>` (what a polling reader or a CDN asks for);
- the widget `/feeds/<slug>/embed/`, a static file, and `/healthz`;
- the live page again, idle and then while slow work runs in the same server: an editor's photo
  upload after another (a 12-megapixel JPEG, resized into renditions; saved as a draft so the
  page itself does not change) and messaging-app webhooks whose outbound call hangs (the
  Telegram API address points at a socket that never answers). Target: p99 within 2x idle.

    python -m bench.http [--duration 8] [--connections 50] [--threads 2] [--redis] [--processes N]

Requests carry `X-Forwarded-Proto: https`, as the proxy in front of production sets it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

from bench.processes import (
    HOST,
    REPO,
    free_port,
    port_accepts,
    raise_file_limit,
    redis_pongs,
    server_log_tail,
    start,
    wait_until,
)

DEMO_SLUG = "harbor-city-200"
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


TELEGRAM_SECRET = "bench-webhook-secret"
TOKEN_SNIPPET = """
from django.contrib.auth import get_user_model
from feeds.tokens import issue_token
user = get_user_model().objects.create_superuser("http-bench", "http-bench@example.invalid", None)
print(issue_token(user=user)[1])
"""


class HungServer:
    """A socket that accepts connections and never answers: an outbound call that hangs."""

    def __init__(self, stack: ExitStack) -> None:
        self.listener = socket.create_server((HOST, 0))
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        stack.callback(self.close)
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                self.held.append(self.listener.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        self.listener.close()
        for held in self.held:
            held.close()


def large_photo() -> bytes:
    """A 4000x3000 JPEG with detail in it, about what a phone's camera writes."""
    from PIL import Image

    noise = Image.effect_noise((4000, 3000), 40).convert("RGB")
    gradient = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    buffer = io.BytesIO()
    Image.blend(noise, gradient, 0.5).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


class SlowWork:
    """Keeps an upload and `hung_calls` hanging webhooks in flight in threads until stopped."""

    def __init__(self, site: Site, *, hung_calls: int = 4) -> None:
        self.site = site
        self.stopping = threading.Event()
        self.uploads: list[float] = []
        self.webhooks: list[float] = []
        self.failures: list[str] = []
        token = site.manage("shell", "-c", TOKEN_SNIPPET).strip().splitlines()[-1]
        photo = large_photo()
        self.threads = [threading.Thread(target=self.upload, args=(token, photo), daemon=True)]
        self.threads += [
            threading.Thread(target=self.webhook, args=(number,), daemon=True) for number in range(hung_calls)
        ]

    def __enter__(self) -> SlowWork:
        for thread in self.threads:
            thread.start()
        time.sleep(1.0)  # let the first upload and calls get under way
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def upload(self, token: str, photo: bytes) -> None:
        with httpx.Client(
            base_url=self.site.url, headers={**PROXY_HEADERS, "Authorization": f"Bearer {token}"}
        ) as client:
            while not self.stopping.is_set():
                started = time.monotonic()
                response = client.post(
                    f"/api/feeds/{DEMO_SLUG}/entries/",
                    data={"kind": "image", "status": "draft", "details": '{"alt": "The grid"}'},
                    files={"image": ("grid.jpg", photo, "image/jpeg")},
                    timeout=120,
                )
                if response.status_code != 201:
                    self.failures.append(f"upload: HTTP {response.status_code} {response.text[:200]}")
                    return
                self.uploads.append(time.monotonic() - started)

    def webhook(self, number: int) -> None:
        update = 0
        while not self.stopping.is_set():
            update += 1
            started = time.monotonic()
            response = httpx.post(
                f"{self.site.url}/integrations/telegram/webhook/",
                headers={**PROXY_HEADERS, "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
                content=json.dumps(
                    {
                        "update_id": number * 100_000 + update,
                        "message": {
                            "message_id": update,
                            "date": int(time.time()),
                            "chat": {"id": 1000 + number, "type": "private"},
                            "from": {"id": 1000 + number, "is_bot": False, "first_name": "Unlinked"},
                            "text": "Lap 12: safety car",
                        },
                    }
                ),
                timeout=120,
            )
            if response.status_code != 200:
                self.failures.append(f"webhook: HTTP {response.status_code} {response.text[:200]}")
                return
            self.webhooks.append(time.monotonic() - started)


@dataclass
class Target:
    """One kind of request and what it should reach on this machine."""

    label: str
    path: str
    status: int
    min_rps: float | None = None
    max_p99_ms: float | None = None
    headers: dict[str, str] | None = None


@dataclass
class Result:
    target: Target
    rps: float
    p99_ms: float
    errors: int
    statuses_ok: bool


def parse_wrk(output: str) -> tuple[float, float, int]:
    """Requests per second, p99 in ms and the non-2xx/3xx or socket error count from `wrk --latency`."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    match = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output)
    p99 = float(match[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match[2]] if match else float("nan")
    errors = 0
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if bad:
        errors += int(bad[1])
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if sockets:
        errors += sum(int(value) for value in sockets.groups())
    return rps, p99, errors


def run_wrk(url: str, headers: dict[str, str], options: argparse.Namespace) -> str:
    args = ["wrk", f"-t{options.threads}", f"-c{options.connections}", f"-d{options.duration}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    result = subprocess.run(args + [url], capture_output=True, text=True, timeout=options.duration + 60)
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed: {result.stderr or result.stdout}")
    return result.stdout


class Site:
    """A temporary database with the demo feed, collected static files, and the server on them."""

    def __init__(self, stack: ExitStack, options: argparse.Namespace) -> None:
        self.stack = stack
        self.tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="livefeed-http-")))
        self.port = free_port()
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "livefeed.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": f"sqlite:///{self.tmp}/http.sqlite3",
            "LIVEFEED_VAR_DIR": str(self.tmp / "var"),
            "STATIC_ROOT": str(self.tmp / "static"),
            "ALLOWED_HOSTS": f"{HOST},localhost",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("REDIS_URL", None)
        # Messaging webhooks on, their outbound calls to a socket that accepts and never answers.
        self.hung = HungServer(stack)
        self.env.update(
            {
                "TELEGRAM_BOT_TOKEN": "bench:token",
                "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
                "TELEGRAM_API_URL": f"http://{HOST}:{self.hung.port}",
            }
        )
        self.env.update(getattr(options, "env", {}))
        if options.redis:
            redis_port = free_port()
            self.env["REDIS_URL"] = f"redis://{HOST}:{redis_port}/0"
            redis = start(
                [
                    "redis-server",
                    "--port",
                    str(redis_port),
                    "--bind",
                    HOST,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                env=self.env,
                log=self.tmp / "redis.log",
                stack=stack,
                own_session=True,
            )
            wait_until(lambda: redis_pongs(redis_port), timeout=10, what="redis-server", process=redis)
        for args in (["migrate", "--noinput"], ["collectstatic", "--noinput"], ["loaddemo"]):
            self.manage(*args)
        self.log = self.tmp / "server.log"
        self.processes = options.processes
        self.start_server()

    def manage(self, *args: str) -> str:
        """Run a management command on this site's database; its output."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def start_server(self) -> None:
        """Start `livefeed.serve` on this site's port; return once it answers HTTP."""
        args = [sys.executable, "-m", "livefeed.serve", "--host", HOST, "--port", str(self.port)]
        if self.processes:
            args += ["--processes", str(self.processes)]
        before = self.listening()
        # wrk and the crowd's clients are the load: the server gets a CPU group of its own.
        self.server = start(args, env=self.env, log=self.log, stack=self.stack, own_session=True)
        wait_until(lambda: port_accepts(self.port), timeout=60, what="the server", process=self.server)
        # The shared socket accepts at once; each server process logs when it serves from it.
        expected = self.processes or len(os.sched_getaffinity(0))
        wait_until(
            lambda: self.listening() - before >= expected,
            timeout=120,
            what="every server process",
            process=self.server,
        )
        wait_until(self.answers, timeout=60, what="the server's answers", process=self.server)

    def listening(self) -> int:
        return (
            self.log.read_text(errors="replace").count("Listening on TCP address") if self.log.exists() else 0
        )

    def answers(self) -> bool:
        try:
            return self.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def get(self, path: str, **headers: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", headers={**PROXY_HEADERS, **headers}, timeout=30)


def targets(site: Site) -> list[Target]:
    """The requests to measure, with what each needs (an ETag, the current seq, a static file)."""
    page_path = f"/feeds/{DEMO_SLUG}/"
    page = site.get(page_path)
    page.raise_for_status()
    seq = site.get(f"/api/feeds/{DEMO_SLUG}/").json()["feed"]["seq"]
    static = re.search(r'(/static/[^"]+\.css)"', page.text)
    if static is None:
        raise RuntimeError("The live page links no stylesheet under /static/.")
    return [
        Target("live page (200)", page_path, 200, min_rps=800, max_p99_ms=100),
        Target(
            "revalidation (If-None-Match, 304)",
            page_path,
            304,
            min_rps=2000,
            headers={"If-None-Match": page.headers["ETag"]},
        ),
        Target(
            "events API ?after=<current seq>",
            f"/api/feeds/{DEMO_SLUG}/events/?after={seq}",
            200,
            min_rps=1500,
        ),
        Target("widget /embed/", f"/feeds/{DEMO_SLUG}/embed/", 200),
        Target("static file", static[1], 200),
        Target("health check /healthz", "/healthz", 200),
    ]


def measure(site: Site, target: Target, options: argparse.Namespace) -> Result:
    headers = {**PROXY_HEADERS, **(target.headers or {})}
    # Warm up what the first request builds (templates, the database connection, the cache).
    for _ in range(3):
        status = site.get(target.path, **(target.headers or {})).status_code
    rps, p99, errors = parse_wrk(run_wrk(f"{site.url}{target.path}", headers, options))
    return Result(target, rps, p99, errors, statuses_ok=status == target.status)


def verdict(result: Result) -> str:
    target = result.target
    wanted = []
    met = True
    if target.min_rps is not None:
        wanted.append(f">= {target.min_rps:,.0f} req/s")
        met &= result.rps >= target.min_rps
    if target.max_p99_ms is not None:
        wanted.append(f"p99 <= {target.max_p99_ms:.0f} ms")
        met &= result.p99_ms <= target.max_p99_ms
    if not wanted:
        return "(reference)"
    return f"{', '.join(wanted)}: {'met' if met else 'NOT met'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds of load per request kind")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--redis", action="store_true", help="run with Redis (production's layout)")
    parser.add_argument("--processes", type=int, default=0, help="server processes (default: serve's own)")
    parser.add_argument(
        "--only", default="", help="comma-separated words; measure targets whose label has one"
    )
    options = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print(
            "wrk is missing: run ./scripts/install-test-packages.sh (Debian's wrk package).", file=sys.stderr
        )
        return 2
    raise_file_limit()
    with ExitStack() as stack:
        site = Site(stack, options)
        try:
            chosen = targets(site)
            if options.only:
                words = options.only.split(",")
                chosen = [target for target in chosen if any(word in target.label for word in words)]
            print(
                f"wrk -t{options.threads} -c{options.connections} -d{options.duration}s, "
                f"{'Redis' if options.redis else 'embedded mode'}, {os.cpu_count()} cores"
            )
            print(f"{'request':<38} {'req/s':>9} {'p99 ms':>8} {'errors':>7}  target")
            for target in chosen:
                result = measure(site, target, options)
                status = "" if result.statuses_ok else f" (answered other than {target.status}!)"
                print(
                    f"{target.label:<38} {result.rps:>9,.0f} {result.p99_ms:>8.1f} {result.errors:>7}  "
                    f"{verdict(result)}{status}",
                    flush=True,
                )
            if not options.only or "slow" in options.only.split(","):
                measure_slow_work(site, chosen_page(site), options)
        except Exception:
            print(server_log_tail(site.log), file=sys.stderr)
            raise
    return 0


def chosen_page(site: Site) -> Target:
    return next(target for target in targets(site) if target.label == "live page (200)")


def measure_slow_work(site: Site, page: Target, options: argparse.Namespace) -> None:
    """The live page idle, then while uploads and hanging outbound calls run: p99 within 2x."""
    idle = measure(site, page, options)
    print(f"{'live page, idle':<38} {idle.rps:>9,.0f} {idle.p99_ms:>8.1f} {idle.errors:>7}  (reference)")
    with SlowWork(site) as work:
        busy = measure(site, page, options)
    if work.failures:
        raise RuntimeError("; ".join(work.failures))
    met = busy.p99_ms <= 2 * idle.p99_ms
    print(
        f"{'live page, upload + hung calls':<38} {busy.rps:>9,.0f} {busy.p99_ms:>8.1f} {busy.errors:>7}  "
        f"p99 <= 2x idle ({2 * idle.p99_ms:.1f} ms): {'met' if met else 'NOT met'}"
    )
    print(
        f"  meanwhile: {len(work.uploads)} photo uploads answered (each {min(work.uploads, default=0):.1f}-"
        f"{max(work.uploads, default=0):.1f} s), {len(work.webhooks)} webhooks answered after their call hung "
        f"(each {min(work.webhooks, default=0):.1f}-{max(work.webhooks, default=0):.1f} s), "
        f"{len(site.hung.held)} outbound connections held by the hung server"
    )


if __name__ == "__main__":
    sys.exit(main())
