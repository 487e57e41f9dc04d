"""Production settings: refuse unsafe keys, keep errors private, log for the operator, CSP everywhere."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

ROOT = Path(__file__).resolve().parents[1]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {name: value for name, value in os.environ.items() if name != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    "key",
    [
        "django-insecure-0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghij",
        "short-key",
        "change-me-change-me-change-me-change-me-change-me-change-me",
        "x" * 60,
    ],
)
def test_production_refuses_a_default_or_weak_secret_key(tmp_path, key):
    result = run_manage("check", DEBUG="false", SECRET_KEY=key, LIVEFEED_VAR_DIR=str(tmp_path))
    assert result.returncode != 0 and "SECRET_KEY looks like a default or is too short" in result.stderr


@pytest.mark.django_db
def test_every_page_carries_a_content_security_policy_without_inline_scripts(live_feed, publisher):
    client = Client()
    client.force_login(publisher)
    for path in ("/", f"/feeds/{live_feed.slug}/", f"/feeds/{live_feed.slug}/embed/", "/admin/"):
        policy = client.get(path)["Content-Security-Policy"]
        script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
        assert script_src.split() == ["script-src", "'self'"], path
        assert "object-src 'none'" in policy


@pytest.mark.django_db
def test_errors_show_no_stack_trace_and_give_the_operator_a_log_line(monkeypatch, settings, caplog):
    settings.DEBUG = False
    from feeds import selectors

    def broken() -> list:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(selectors, "feeds_for_readers", broken)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = Client(raise_request_exception=False).get("/")
    body = response.content.decode()
    assert response.status_code == 500
    assert "hunter2" not in body and "Traceback" not in body and "RuntimeError" not in body
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info and "hunter2" in str(record.exc_info[1])


def test_production_log_lines_are_json_objects():
    formatter_config = dict(settings.LOGGING["formatters"]["json"])
    factory = formatter_config.pop("()")
    from django.utils.module_loading import import_string

    formatter = import_string(factory)(**formatter_config)
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "django.request", logging.ERROR, __file__, 1, "Internal Server Error: %s", ("/",), sys.exc_info()
        )
    line = json.loads(formatter.format(record))
    assert line["level"] == "ERROR" and line["logger"] == "django.request"
    assert line["message"] == "Internal Server Error: /" and "ValueError: boom" in line["exc_info"]


def test_production_settings_are_json_logging_and_secure(tmp_path):
    code = (
        "from django.conf import settings as s; import json; print(json.dumps([s.LOG_FORMAT, s.SESSION_COOKIE_SECURE, "
        "s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "list(s.SECURE_PROXY_SSL_HEADER), s.CSRF_TRUSTED_ORIGINS]))"
    )
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        DEBUG="false",
        SECRET_KEY="p" + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN",
        LIVEFEED_VAR_DIR=str(tmp_path),
        CSRF_TRUSTED_ORIGINS="https://live.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        "json",
        True,
        True,
        True,
        True,
        31536000,
        ["HTTP_X_FORWARDED_PROTO", "https"],
        ["https://live.example.com"],
    ]
