"""CPU-heavy work (image renditions) run in threads of lower CPU priority, waited for by the caller.

A server process answers readers from its event loop while its request threads run Django. A
photo's renditions take a second or more of CPU; run in the request's own thread they compete
with the loop on equal terms, and on a busy machine every page answer of the process waits
longer. Here that work runs in a thread at a higher nice value (Linux gives each thread its
own), so it takes what CPU is left over: the editor's upload is slower only while readers keep
the cores busy. Elsewhere, or if the priority cannot be changed, it runs at the same priority.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

logger = logging.getLogger(__name__)

# Added to the process's nice value for these threads (nice runs from -20 to 19).
NICENESS = 10
THREADS = 2

T = TypeVar("T")

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def run(function: Callable[..., T], *args: object) -> T:
    """Call `function(*args)` in a low-priority thread and return (or raise) what it did."""
    return _pool().submit(function, *args).result()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=THREADS, thread_name_prefix="livefeed-low-priority", initializer=_lower
            )
        return _executor


def _lower() -> None:
    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return
    thread = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + NICENESS))
    except OSError as error:
        logger.warning("Heavy work runs at normal CPU priority: %s", error)


def _forget() -> None:
    """In a forked child the parent's threads are not there: start afresh."""
    global _executor, _lock
    _executor = None
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget)
