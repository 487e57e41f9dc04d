"""The feed lifecycle model, run long: many more and longer lives than `make test` runs."""

from __future__ import annotations

from tests.test_lifecycle_model import (  # noqa: F401 (the fixture is used by the test)
    lifecycle_machine,
    test_every_reader_path_agrees_with_the_model_through_a_feeds_life,
)
