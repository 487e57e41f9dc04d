"""The feed lifecycle models, run long (LIVEFEED_SOAK=1): many more and longer lives than
`make test` runs, in-process and with real processes."""

from __future__ import annotations

from tests.test_lifecycle_model import (  # noqa: F401 (collected and used here)
    lifecycle_machine,
    test_every_reader_path_agrees_with_the_model_through_a_feeds_life,
    test_readers_of_two_processes_agree_with_the_model_through_redis_faults,
)
