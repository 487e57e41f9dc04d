"""Opening a Redis connection costs no scan of the installed packages (see feeds.redis_driver)."""

from __future__ import annotations

import redis
import redis.asyncio
import redis.utils


def test_connections_look_the_library_version_up_once_per_process(monkeypatch):
    looked_up: list[str] = []
    real = redis.utils.metadata.version
    monkeypatch.setattr(redis.utils.metadata, "version", lambda name: looked_up.append(name) or real(name))
    redis.utils.get_lib_version.cache_clear()  # type: ignore[attr-defined]
    connections = [redis.connection.Connection() for _ in range(5)]
    connections += [redis.asyncio.connection.Connection() for _ in range(5)]
    assert looked_up == ["redis"]
    # Each still introduces itself to Redis with the library's real version.
    assert {connection.driver_info.lib_version for connection in connections} == {redis.__version__}
