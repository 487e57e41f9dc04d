"""A process's one timer thread: runs a call once after a delay, however often it is asked.

Coalescing needs "do this in a second, unless it is already due": one daemon thread and a heap
serve every ballot box instead of a thread per box.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Hashable

from django.db import close_old_connections

logger = logging.getLogger(__name__)


class Timers:
    def __init__(self) -> None:
        self.heap: list[tuple[float, int, Hashable, Callable[[], None]]] = []
        self.due: set[Hashable] = set()
        self.order = itertools.count()
        self.condition = threading.Condition()
        self.thread: threading.Thread | None = None
        self.automatic = True

    def once(self, key: Hashable, delay: float, call: Callable[[], None]) -> bool:
        """Run `call` in `delay` seconds unless a call under `key` is already waiting; True if queued."""
        with self.condition:
            if key in self.due:
                return False
            self.due.add(key)
            heapq.heappush(self.heap, (time.monotonic() + delay, next(self.order), key, call))
            if self.automatic and (self.thread is None or not self.thread.is_alive()):
                self.thread = threading.Thread(target=self._run, name="participation-timers", daemon=True)
                self.thread.start()
            self.condition.notify()
        return True

    def run_waiting(self) -> int:
        """Run the calls waiting now, in this thread, due or not (tests); a call they queue waits."""
        with self.condition:
            waiting = len(self.heap)
        ran = 0
        for _ in range(waiting):
            with self.condition:
                if not self.heap:
                    break
                _, _, key, call = heapq.heappop(self.heap)
                self.due.discard(key)
            self._call(call)
            ran += 1
        return ran

    def _run(self) -> None:
        while True:
            with self.condition:
                while not self.heap or self.heap[0][0] > time.monotonic():
                    timeout = self.heap[0][0] - time.monotonic() if self.heap else None
                    self.condition.wait(timeout)
                _, _, key, call = heapq.heappop(self.heap)
                self.due.discard(key)
            self._call(call)
            close_old_connections()

    def _call(self, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception:
            logger.exception("A participation timer failed")

    def reset(self, *, automatic: bool = True) -> None:
        """Drop every waiting call (tests); with automatic=False calls wait for `run_waiting`."""
        with self.condition:
            self.heap.clear()
            self.due.clear()
            self.automatic = automatic


timers = Timers()
