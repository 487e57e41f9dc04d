"""compose.yaml run for real with podman-compose: PostgreSQL, Redis, two Daphne processes, the
worker, housekeeping and nginx in front. A reader follows a feed through the front door, the web
containers are stopped and started, and the reader resumes with ?after= and gets what it missed."""

from __future__ import annotations

import io
import json
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest
from PIL import Image
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

# Bringing the stack up (migrations on a fresh database included) takes a minute or two.
pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parents[2]
# The TLS terminator in front of the stack would say so; without it the app redirects to https.
FORWARDED = {"X-Forwarded-Proto": "https"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def step(message: str, started: float) -> None:
    print(f"[{time.monotonic() - started:6.1f} s] {message}", flush=True)


@dataclass
class Stack:
    project: str
    env: dict[str, str]
    url: str
    started: float

    def compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["podman-compose", "-p", self.project, "-f", str(ROOT / "compose.yaml"), *args],
            cwd=ROOT,
            env=self.env,
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def container(self, service: str) -> str:
        names = subprocess.run(
            [
                "podman",
                "ps",
                "-a",
                "--format",
                "{{.Names}}",
                "--filter",
                f"label=com.docker.compose.project={self.project}",
                "--filter",
                f"label=com.docker.compose.service={service}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert len(names) == 1, f"one {service} container expected, found {names}"
        return names[0]

    def manage(self, service: str, *args: str) -> str:
        """Run a management command in a running service's container; its last line of output."""
        result = self.compose("exec", "-T", service, "python", "manage.py", *args)
        assert result.returncode == 0, result.stdout + result.stderr
        lines = [
            line
            for line in result.stdout.splitlines()
            if line.strip() and not line.startswith(("podman ", "exit code"))
        ]
        return lines[-1].strip()

    def listening(self, service: str) -> bool:
        """Whether the service's Daphne accepts connections, asked from inside its container (the
        front door picks a web container at random per request, so one 200 through it proves
        nothing about the other)."""
        probe = "import socket; socket.create_connection(('127.0.0.1', 8000), timeout=2).close()"
        return (
            subprocess.run(
                ["podman", "exec", self.container(service), "python", "-c", probe],
                capture_output=True,
                check=False,
            ).returncode
            == 0
        )

    def wait_for_web(self, what: str, client: httpx.Client, path: str) -> None:
        """Until both web containers listen and the front door answers `path` with a 200."""
        self.wait_until(
            what,
            lambda: (
                all(self.listening(service) for service in ("web1", "web2"))
                and client.get(path).status_code == 200
            ),
        )

    def wait_until(self, what: str, ready, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if ready():
                    step(what, self.started)
                    return
            except (httpx.HTTPError, OSError):
                pass
            if time.monotonic() > deadline:
                logs = self.compose("logs", "--tail", "30").stdout[-6000:]
                raise TimeoutError(f"{what}: not within {timeout} s\n{logs}")
            time.sleep(0.5)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    started = time.monotonic()
    port = free_port()
    env = {
        **os.environ,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
        "LIVEFEED_PORT": str(port),
        "LIVEFEED_HOST": "localhost",
    }
    running = Stack(project=f"livefeedtest{port}", env=env, url=f"127.0.0.1:{port}", started=started)
    up = running.compose("up", "-d", "--no-build")
    assert up.returncode == 0, up.stdout + up.stderr
    step("podman-compose up -d", started)
    try:
        yield running
    finally:
        down = running.compose("down", "-v", "-t", "20")
        step("podman-compose down -v", started)
        assert down.returncode == 0, down.stdout + down.stderr


def api(stack: Stack, token: str | None = None) -> httpx.Client:
    headers = dict(FORWARDED)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=f"http://{stack.url}", headers=headers, timeout=20)


def next_entry(reader: ClientConnection, timeout: float = 30) -> dict:
    """The next entry.created message the reader receives (other changes are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(reader.recv(timeout=max(0.1, deadline - time.monotonic())))
        if message["type"] == "entry.created":
            return message


@pytest.fixture(scope="module")
def editor_token(stack: Stack) -> str:
    with api(stack) as client:
        stack.wait_for_web("both web containers serve the migrated app", client, "/api/feeds/")
    # An unusable password: this account only ever authenticates with its token.
    stack.manage(
        "web1", "createsuperuser", "--noinput", "--username", "editor", "--email", "editor@example.com"
    )
    token = stack.manage("web1", "createtoken", "editor", "--name", "containers test")
    step("createtoken through podman-compose exec", stack.started)
    return token


def test_web_container_runs_as_an_unprivileged_user_under_an_init(stack):
    container = stack.container("web1")
    user = subprocess.run(
        ["podman", "exec", container, "id", "-u"], capture_output=True, text=True, check=True
    )
    assert user.stdout.strip() != "0"
    init = subprocess.run(
        ["podman", "exec", container, "cat", "/proc/1/comm"], capture_output=True, text=True, check=True
    )
    assert init.stdout.strip() == "tini"


def test_image_health_check_calls_healthz(stack, editor_token):
    for service in ("web1", "web2"):
        result = subprocess.run(
            ["podman", "healthcheck", "run", stack.container(service)],
            check=False,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    with api(stack) as client:
        health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["database"] == "ok" and health.json()["redis"] == "ok"


def test_front_door_serves_collected_static_files_from_disk(stack, editor_token):
    with api(stack) as client:
        response = client.get("/static/admin/css/base.css")
    assert response.status_code == 200 and "text/css" in response.headers["content-type"]
    assert response.headers["cache-control"] == "max-age=3600"


def test_photo_larger_than_the_old_proxy_limit_is_accepted_and_served_from_the_media_volume(
    stack, editor_token
):
    with api(stack, editor_token) as client:
        client.post(
            "/api/feeds/", json={"title": "Photo desk", "slug": "photo-desk", "status": "live"}
        ).raise_for_status()
        noise = Image.frombytes("RGB", (1100, 1000), os.urandom(1100 * 1000 * 3))
        upload = io.BytesIO()
        noise.save(upload, format="PNG")
        assert upload.tell() > 3 * 1024 * 1024
        created = client.post(
            "/api/feeds/photo-desk/entries/",
            data={"kind": "image", "details": json.dumps({"alt": "Noise"})},
            files={"image": ("noise.png", upload.getvalue(), "image/png")},
        )
        assert created.status_code == 201, created.text
        rendition = created.json()["details"]["renditions"][0]["url"]
        served = client.get(rendition)
    # Written by a web container, read by nginx from the shared volume.
    assert served.status_code == 200 and served.headers["content-type"] == "image/webp"
    assert served.headers.get("x-content-type-options") == "nosniff"


def test_reader_on_the_front_door_resumes_after_the_web_containers_restart(stack, editor_token):
    with api(stack, editor_token) as client:
        client.post(
            "/api/feeds/", json={"title": "Harbor 200", "slug": "harbor-200", "status": "live"}
        ).raise_for_status()
        ws_url = f"ws://{stack.url}/ws/feeds/harbor-200/"
        with connect(f"{ws_url}?after=0", open_timeout=10) as reader:
            client.post(
                "/api/feeds/harbor-200/entries/", json={"headline": "Green flag", "body": "Away they go."}
            ).raise_for_status()
            first = next_entry(reader)
            assert first["entry"]["headline"] == "Green flag"
            step(f"live entry read over the WebSocket through nginx (seq {first['seq']})", stack.started)

            stopped_at = time.monotonic()
            stop = stack.compose("stop", "-t", "20", "web1", "web2")
            assert stop.returncode == 0, stop.stdout + stop.stderr
            # SIGTERM reached Daphne through tini: it exited by itself, well before the kill at 20 s.
            assert time.monotonic() - stopped_at < 15
            for service in ("web1", "web2"):
                exit_code = subprocess.run(
                    ["podman", "inspect", "--format", "{{.State.ExitCode}}", stack.container(service)],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.strip()
                assert exit_code != "137", f"{service} had to be killed"
            with pytest.raises(ConnectionClosed):
                while True:
                    reader.recv(timeout=30)
            step(
                f"web containers stopped in {time.monotonic() - stopped_at:.1f} s; the reader was disconnected",
                stack.started,
            )

        start = stack.compose("start", "web1", "web2")
        assert start.returncode == 0, start.stdout + start.stderr
        stack.wait_for_web("both web containers serve again", client, "/api/feeds/harbor-200/")
        # Posted while the reader is away: it must come with the catch-up, not live.
        client.post(
            "/api/feeds/harbor-200/entries/", json={"headline": "Yellow flag", "body": "Debris."}
        ).raise_for_status()

        with connect(f"{ws_url}?after={first['seq']}", open_timeout=10) as reader:
            missed = next_entry(reader)
        assert missed["entry"]["headline"] == "Yellow flag" and missed["seq"] > first["seq"]
        step(f"the reader resumed with ?after={first['seq']} and got seq {missed['seq']}", stack.started)
