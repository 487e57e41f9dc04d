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
from concurrent.futures import Future
from typing import TypeVar

logger = logging.getLogger(__name__)

# Added to the process's nice value for this work (nice runs from -20 to 19).
NICENESS = 10

T = TypeVar("T")


def run(function: Callable[..., T], *args: object) -> T:
    """Call `function(*args)` in a low-priority thread and return (or raise) what it did.

    A thread of its own per call (the work takes seconds, so starting one costs nothing beside
    it), a daemon like the request threads: a stopping server never waits for a rendition.
    """
    outcome: Future[T] = Future()

    def work() -> None:
        _lower()
        try:
            outcome.set_result(function(*args))
        except BaseException as error:
            outcome.set_exception(error)

    threading.Thread(target=work, name="livefeed-low-priority", daemon=True).start()
    return outcome.result()


def _lower() -> None:
    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return
    thread = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + NICENESS))
    except OSError as error:
        logger.warning("Heavy work runs at normal CPU priority: %s", error)
