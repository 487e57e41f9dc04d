"""The two ways Livefeed runs, each on its own database, as people run them: the embedded mode (no
Redis; the processes of one machine share the local bus) on SQLite, and the production mode
(`REDIS_URL`) on PostgreSQL. A test that takes `mode` runs in the mode of the pass's database."""

from __future__ import annotations

import pytest

MODE_OF_DATABASE = {"sqlite": "embedded", "postgres": "redis"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "mode" in metafunc.fixturenames:
        metafunc.parametrize("mode", [MODE_OF_DATABASE[metafunc.config.getoption("--db")]], indirect=True)


@pytest.fixture
def mode(request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment every process of the test shares: no REDIS_URL, or a Redis server's."""
    if request.param == "redis":
        return {"REDIS_URL": request.getfixturevalue("redis").url}
    return {}
