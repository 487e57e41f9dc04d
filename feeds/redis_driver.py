"""redis-py, made cheap to open connections with.

Every connection redis-py makes (our clients, channels-redis, Django's cache) introduces itself
with CLIENT SETINFO, and to do so looks its own version up in the installed packages' metadata,
scanning every folder on `sys.path`: half a millisecond on an idle machine, far more when the
cores are busy, and in the event loop for asyncio clients. A crowd's first votes open dozens of
connections at once, and that scan stalled a process's loop for up to 300 ms. The version is
looked up once per process instead.
"""

from __future__ import annotations

import functools


def look_up_version_once() -> None:
    """Have redis-py remember its version after the first lookup (idempotent)."""
    import redis.utils

    if not hasattr(redis.utils.get_lib_version, "cache_info"):
        redis.utils.get_lib_version = functools.cache(redis.utils.get_lib_version)
