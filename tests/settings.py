"""The settings the test run uses: Livefeed's own, with DEBUG on by default as under `make run`.

DEBUG is set in the environment, so the servers and commands the tests start inherit it; a test
of production behaviour sets DEBUG=false for its own process. In this process pages are rendered
with DEBUG off (pytest-django's default) and nothing is collected, so static files keep their
plain names; the hashed names have their own test against a real server (tests/test_static_files.py).
"""

from __future__ import annotations

import os

os.environ.setdefault("DEBUG", "true")

from livefeed.settings import *  # noqa: E402,F403
from livefeed.settings import LIVEFEED, STORAGES  # noqa: E402

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
# Consumers tested in this process live in short event loops, where a sampler would be cut off
# mid-sleep; the Daphne servers the tests start count their readers as in production.
LIVEFEED = {**LIVEFEED, "AUDIENCE_SAMPLE_SECONDS": 0}
