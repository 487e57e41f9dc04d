"""Static files in production: collected under hashed names, cached for good, modules linked by hash."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

from tests.fixtures import servers

ROOT = Path(__file__).resolve().parents[1]
HASHED = re.compile(r"\.[0-9a-f]{12}\.(js|css)$")
# Every way a module names another: static and re-exported imports, side-effect and dynamic ones.
MODULE_IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']""")
SCRIPT_SRC = re.compile(r"""<script[^>]*\btype="module"[^>]*\bsrc="([^"]+)\"""")


def fetch(url: str) -> tuple[int, dict[str, str], str]:
    with urllib.request.urlopen(url, timeout=20) as response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read().decode()


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-production-secret-that-is-long-and-random-enough-0123456789abcdef",
    "SECURE_SSL_REDIRECT": "false",
}


@pytest.fixture(scope="module")
def collected_static(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`collectstatic` run once for the module: its output depends on the code, not the database."""
    root = tmp_path_factory.mktemp("collected")
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env={
            **servers.os.environ,
            "DJANGO_SETTINGS_MODULE": "livefeed.settings",
            **PRODUCTION,
            "STATIC_ROOT": str(root),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collected.returncode == 0, collected.stderr
    return root


@pytest.fixture
def production_server(server_env: dict[str, str], collected_static: Path, tmp_path: Path):
    env = {**server_env, **PRODUCTION, "STATIC_ROOT": str(collected_static)}
    with servers.daphne_server(env, tmp_path / "daphne.log") as daphne:
        yield daphne, collected_static


def imports_of(source: str) -> list[str]:
    return [path for path in MODULE_IMPORT.findall(source) if path.startswith(".")]


def check_module_graph(start: list[str]) -> set[str]:
    """Fetch each module and, through its imports, every module it reaches; return their paths."""
    seen: set[str] = set()
    queue = list(start)
    while queue:
        url = queue.pop()
        path = urlparse(url).path
        if path in seen:
            continue
        seen.add(path)
        assert HASHED.search(path), f"{path} is linked by its plain name"
        status, headers, body = fetch(url)
        assert status == 200, url
        assert "immutable" in headers.get("cache-control", ""), (path, headers.get("cache-control"))
        queue.extend(urljoin(url, imported) for imported in imports_of(body))
    return seen


def test_reader_page_loads_hashed_modules_that_import_each_other(production_server, live_feed):
    daphne, _ = production_server
    status, _, page = fetch(f"{daphne.url}/feeds/{live_feed.slug}/")
    assert status == 200
    scripts = [urljoin(daphne.url + "/", src) for src in SCRIPT_SRC.findall(page)]
    assert scripts, "the reader page loads no module"
    reached = {Path(path).name.split(".")[0] for path in check_module_graph(scripts)}
    assert {"live", "connection", "stream", "entries", "times", "keyevents"} <= reached


def test_every_collected_module_imports_its_neighbours_by_hashed_name(production_server):
    daphne, collected = production_server
    manifest = json.loads((collected / "staticfiles.json").read_text())["paths"]
    ours = [name for name in manifest if name.endswith(".js") and name.split("/")[0] in {"feeds", "desk"}]
    assert "desk/desk.js" in ours and "feeds/live.js" in ours
    reached = check_module_graph([f"{daphne.url}/static/{manifest[name]}" for name in ours])
    assert len(reached) >= len(ours)
