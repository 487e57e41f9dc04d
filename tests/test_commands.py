"""Management commands a newcomer and an integrator run."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from feeds.demo import DEMO_SLUG
from feeds.models import Entry, Feed

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.django_db
def test_loaddemo_creates_a_race_feed_once():
    call_command("loaddemo", stdout=StringIO())
    call_command("loaddemo", stdout=StringIO())
    feed = Feed.objects.get(slug=DEMO_SLUG)
    entries = Entry.objects.visible_to_readers().filter(feed=feed)
    assert feed.status == Feed.Status.LIVE
    assert entries.count() == 12
    assert entries.filter(pinned=True).count() == 1
    assert entries.filter(key_event=True).exists()
    assert entries.filter(kind=Entry.Kind.QUOTE, html__contains="<blockquote").exists()
    assert feed.race["flag"] == "green" and "Green flag" in feed.race_html


@pytest.mark.django_db
def test_createtoken_prints_a_working_token(publisher, live_feed):
    out = StringIO()
    call_command("createtoken", publisher.username, stdout=out)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {out.getvalue().strip()}")
    assert (
        client.post(f"/api/feeds/{live_feed.slug}/entries/", {"body": "hi"}, format="json").status_code == 201
    )


@pytest.mark.django_db
def test_ensureadmin_generates_a_password_kept_locally(settings, tmp_path, django_user_model):
    settings.VAR_DIR = tmp_path
    out = StringIO()
    call_command("ensureadmin", stdout=out)
    password = (tmp_path / "admin-password").read_text().strip()
    assert password in out.getvalue() and len(password) >= 12
    assert django_user_model.objects.get(username="admin").check_password(password)
    assert oct((tmp_path / "admin-password").stat().st_mode)[-3:] == "600"
    call_command("ensureadmin", stdout=StringIO())
    assert (tmp_path / "admin-password").read_text().strip() == password


def test_production_settings_pass_the_deploy_check(tmp_path):
    env = {
        **{name: value for name, value in os.environ.items() if name != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DEBUG": "false",
        "SECRET_KEY": "a-production-secret-that-is-long-and-random-enough-0123456789abcdef",
        "ALLOWED_HOSTS": "live.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "LIVEFEED_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "", "LIVEFEED_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr
