"""Periodic tidying that keeps a long-running site's tables small and its queues moving.

Run by `manage.py housekeeping` (hourly: deploy/systemd/livefeed-housekeeping.timer). Each step
is safe to repeat and safe to run while the site serves readers and the worker delivers.

Plug-in apps add their own steps from their `ready()` with `register(description, step)`; a step
takes no arguments and returns how many rows it removed or queues it restarted.
"""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from .models import IdempotencyKey

# Finished background tasks (a timing poll every few seconds, a wake-up per webhook change).
TASK_RESULTS_KEPT_DAYS = 1
FAILED_TASK_RESULTS_KEPT_DAYS = 7

_steps: dict[str, Callable[[], int]] = {}


def register(description: str, step: Callable[[], int]) -> None:
    """Run `step` in every `tidy()`, reported under `description` (registering again replaces it)."""
    _steps[description] = step


def tidy() -> dict[str, int]:
    """Run every step once; how many rows each removed or how many queues it restarted."""
    return {
        "expired idempotency keys": IdempotencyKey.objects.filter(expires_at__lte=timezone.now()).delete()[0],
        **{description: step() for description, step in _steps.items()},
        "finished task results": _prune_task_results(),
    }


def _prune_task_results() -> int:
    from django_tasks_db.models import DBTaskResult

    before = DBTaskResult.objects.count()
    call_command(
        "prune_db_task_results",
        queue_name="*",
        min_age_days=TASK_RESULTS_KEPT_DAYS,
        failed_min_age_days=FAILED_TASK_RESULTS_KEPT_DAYS,
        verbosity=0,
        stdout=StringIO(),
    )
    return before - DBTaskResult.objects.count()
