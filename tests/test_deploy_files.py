"""The shipped deploy files are valid for the tools that read them and agree with the app's settings."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from daphne.cli import CommandLineInterface
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
NGINX = ROOT / "deploy" / "nginx"
SYSTEMD = ROOT / "deploy" / "systemd"
CONTAINERS = ROOT / "deploy" / "containers"
SERVICE_UNITS = [
    "livefeed@.service",
    "livefeed-worker.service",
    "livefeed-housekeeping.service",
    "livefeed-migrate.service",
]


def nginx_directives(text: str) -> list[tuple[list[str], list[str]]]:
    """Every simple directive as (enclosing blocks, words), e.g. (["location /ws/"], ["proxy_read_timeout", "90s"])."""
    text = re.sub(r"#[^\n]*", "", text)
    tokens = re.findall(r'"[^"]*"|\'[^\']*\'|[{};]|[^\s{};]+', text)
    found: list[tuple[list[str], list[str]]] = []
    blocks: list[str] = []
    words: list[str] = []
    for token in tokens:
        if token == "{":
            blocks.append(" ".join(words))
            words = []
        elif token == "}":
            blocks.pop()
        elif token == ";":
            found.append((list(blocks), words))
            words = []
        else:
            words.append(token.strip("\"'"))
    return found


def directive(name: str, *, block: str = "", text: str | None = None) -> str:
    """The value of the one `name` directive in the locations snippet, inside `block` if given."""
    text = text if text is not None else (NGINX / "livefeed-locations.conf").read_text()
    values = [
        words[1:]
        for blocks, words in nginx_directives(text)
        if words[0] == name and (not block or block in blocks)
    ]
    assert len(values) == 1, f"expected one {name} in {block or 'the snippet'}, found {values}"
    return " ".join(values[0])


def nginx_size(value: str) -> int:
    units = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", value.lower()).groups()
    return int(number) * units[unit]


def nginx_seconds(value: str) -> int:
    units = {"": 1, "s": 1, "m": 60, "h": 3600}
    number, unit = re.fullmatch(r"(\d+)([smh]?)", value.lower()).groups()
    return int(number) * units[unit]


def nginx_test(tmp_path: Path, site: str) -> subprocess.CompletedProcess:
    """`nginx -t` on `site` (with the locations snippet) under a private prefix, as nginx.conf would include it."""
    prefix = tmp_path / "nginx"
    (prefix / "snippets").mkdir(parents=True)
    shutil.copy(NGINX / "livefeed-locations.conf", prefix / "snippets")
    (prefix / "site.conf").write_text(site)
    (prefix / "nginx.conf").write_text(
        f"pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\nevents {{}}\n"
        f"http {{\n include /etc/nginx/mime.types;\n access_log off;\n include {prefix}/site.conf;\n}}\n"
    )
    return subprocess.run(
        ["nginx", "-t", "-p", f"{prefix}/", "-c", f"{prefix}/nginx.conf"],
        check=False,
        capture_output=True,
        text=True,
    )


@pytest.fixture
def certificate(tmp_path: Path) -> Path:
    """A throwaway self-signed certificate where the site expects Let's Encrypt's."""
    folder = tmp_path / "certs"
    folder.mkdir()
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=live.example.com",
            "-keyout",
            folder / "privkey.pem",
            "-out",
            folder / "fullchain.pem",
        ],
        check=True,
        capture_output=True,
    )
    return folder


def test_nginx_site_passes_nginx_t(tmp_path, certificate):
    site = (
        (NGINX / "livefeed.conf")
        .read_text()
        .replace("/etc/letsencrypt/live/live.example.com", str(certificate))
    )
    result = nginx_test(tmp_path, site)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_container_front_door_site_passes_nginx_t(tmp_path):
    result = nginx_test(tmp_path, (CONTAINERS / "nginx-site.conf").read_text())
    assert result.returncode == 0, result.stderr


def test_nginx_t_refuses_a_broken_snippet(tmp_path):
    # The check above can fail: the same run on a snippet with an unknown directive does.
    site = (CONTAINERS / "nginx-site.conf").read_text()
    result = nginx_test(
        tmp_path, site.replace("include snippets/livefeed-locations.conf;", "proxy_pass_nowhere on;")
    )
    assert result.returncode != 0


def test_nginx_upload_limit_admits_the_largest_image_the_app_accepts():
    limit = nginx_size(directive("client_max_body_size"))
    # The image itself, with room for the multipart framing and the other fields of the form...
    assert limit > settings.MAX_IMAGE_BYTES
    # ...but no more than the app reads before refusing, so nginx turns away what the app would.
    assert limit <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_nginx_never_lets_a_client_name_its_own_address():
    # Appending ($proxy_add_x_forwarded_for) would keep a forged first entry, the one Daphne reads.
    text = (NGINX / "livefeed-locations.conf").read_text()
    forwarded = {
        blocks[-1]: words[2:]
        for blocks, words in nginx_directives(text)
        if words[:2] == ["proxy_set_header", "X-Forwarded-For"]
    }
    assert forwarded == {"location /ws/": ["$remote_addr"], "location /": ["$remote_addr"]}


def test_nginx_websocket_timeouts_outlast_daphne_keepalive_pings():
    daphne = CommandLineInterface().parser.parse_args(["livefeed.asgi:application"])
    for name in ("proxy_read_timeout", "proxy_send_timeout"):
        # Daphne pings an idle reader every ping_interval and drops it after ping_timeout without
        # a pong: nginx must not cut a quiet but healthy connection before Daphne would.
        assert (
            nginx_seconds(directive(name, block="location /ws/")) > daphne.ping_interval + daphne.ping_timeout
        )
    assert directive("proxy_buffering", block="location /ws/") == "off"


def test_nginx_serves_static_and_media_from_the_roots_in_env_example():
    env = dict(
        line.split("=", 1)
        for line in (ROOT / "deploy" / "env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    root = directive("root")
    assert f"{root}/static" == env["STATIC_ROOT"].rstrip("/")
    assert f"{root}/media" == env["MEDIA_ROOT"].rstrip("/")
    assert env["LIVEFEED_SERVE_MEDIA"] == "false"
    assert settings.STATIC_URL == "/static/" and settings.MEDIA_URL == "/media/"


def test_nginx_caches_only_hashed_static_names_for_a_year():
    text = (NGINX / "livefeed-locations.conf").read_text()
    hashed_block = next(
        blocks[-1] for blocks, _ in nginx_directives(text) if blocks and blocks[-1].startswith("location ~")
    )
    pattern = hashed_block.split(maxsplit=2)[2]
    # The names ManifestStaticFilesStorage writes (12 hex digits of MD5) match; the originals do not.
    assert re.search(pattern, "/static/feeds/reader.3f2a9c0d1b7e.js")
    assert not re.search(pattern, "/static/feeds/reader.js")
    assert "immutable" in directive("add_header", block=hashed_block, text=text)
    assert nginx_seconds(directive("expires", block="location /static/", text=text)) <= 3600


def systemd_verify(tmp_path: Path, *names: str) -> subprocess.CompletedProcess:
    """`systemd-analyze verify` on copies of the units, pointed at this checkout's Python."""
    for unit in SYSTEMD.iterdir():
        text = unit.read_text().replace("/srv/livefeed/app/.venv/bin/python", sys.executable)
        (tmp_path / unit.name).write_text(
            text.replace("WorkingDirectory=/srv/livefeed/app", f"WorkingDirectory={ROOT}")
        )
    # A template is verified through an instance of it.
    shutil.copy(tmp_path / "livefeed@.service", tmp_path / "livefeed@8001.service")
    return subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / name) for name in names)],
        check=False,
        capture_output=True,
        text=True,
    )


UNITS_TO_VERIFY = [
    "livefeed@8001.service",
    "livefeed-worker.service",
    "livefeed-housekeeping.service",
    "livefeed-housekeeping.timer",
    "livefeed-migrate.service",
    "livefeed.target",
]


def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    result = systemd_verify(tmp_path, *UNITS_TO_VERIFY)
    # verify only warns about unknown or misplaced keys: any output is a defect.
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_systemd_analyze_verify_reports_an_unknown_key(tmp_path):
    systemd_verify(tmp_path)
    with (tmp_path / "livefeed-worker.service").open("a") as unit:
        unit.write("[Service]\nProtectSystemm=strict\n")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "livefeed-worker.service")],
        check=False,
        capture_output=True,
        text=True,
    )
    assert "ProtectSystemm" in result.stderr


def unit_settings(name: str) -> dict[str, str]:
    lines = (SYSTEMD / name).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


@pytest.mark.parametrize("name", SERVICE_UNITS)
def test_every_service_runs_hardened_as_the_livefeed_user(name):
    unit = unit_settings(name)
    assert unit["User"] == "livefeed" and unit["Group"] == "livefeed"
    assert unit["NoNewPrivileges"] == "yes"
    assert unit["PrivateTmp"] == "yes"
    assert unit["ProtectSystem"] == "strict"
    assert unit["ProtectHome"] == "yes"
    assert unit["CapabilityBoundingSet"] == ""


@pytest.mark.parametrize("name", SERVICE_UNITS)
def test_every_service_may_write_where_the_app_keeps_uploads_and_state(name):
    env = dict(
        line.split("=", 1)
        for line in (ROOT / "deploy" / "env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    writable = unit_settings(name)["ReadWritePaths"].split()
    assert env["MEDIA_ROOT"] in writable and env["LIVEFEED_VAR_DIR"] in writable
    if name == "livefeed-migrate.service":
        assert env["STATIC_ROOT"] in writable, "collectstatic writes STATIC_ROOT"


def test_daphne_units_allow_one_descriptor_per_reader_beyond_the_container_default():
    # livefeed.serve raises its soft limit to this hard limit; the containers run with 20,000.
    assert int(unit_settings("livefeed@.service")["LimitNOFILE"]) >= 65536
