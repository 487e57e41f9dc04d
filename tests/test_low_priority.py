"""Heavy work (image renditions) runs behind readers: in a thread of lower CPU priority, with its
result or its error handed back to the caller as if it had run in place."""

from __future__ import annotations

import os
import threading

import pytest

from feeds import low_priority


def niceness() -> tuple[int, int]:
    return threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_the_work_runs_in_another_thread_at_a_higher_nice_value():
    caller, caller_nice = niceness()
    worker, worker_nice = low_priority.run(niceness)
    assert worker != caller
    assert worker_nice == min(19, caller_nice + low_priority.NICENESS)
    # The caller's own priority is untouched.
    assert niceness()[1] == caller_nice


def test_the_callers_get_the_result_or_the_error_as_if_it_ran_in_place():
    assert low_priority.run(sum, [1, 2, 3]) == 6

    def refuse(reason: str) -> None:
        raise ValueError(reason)

    with pytest.raises(ValueError, match="not an image"):
        low_priority.run(refuse, "not an image")
