"""Long fault tests, run by `make soak` (LIVEFEED_SOAK=1) before a release, not by `make test`."""

from __future__ import annotations

import os

if not os.environ.get("LIVEFEED_SOAK"):
    collect_ignore_glob = ["test_*.py"]
