"""The compose stack built and run with Podman, by `make test-containers` (LIVEFEED_CONTAINERS=1):
it needs the images deploy/containers/build-images.sh makes, so `make test` leaves it out."""

from __future__ import annotations

import os

if not os.environ.get("LIVEFEED_CONTAINERS"):
    collect_ignore_glob = ["test_*.py"]
