"""`manage.py housekeeping`: the periodic tidying of feeds/housekeeping.py, with what it did."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from feeds.housekeeping import tidy


class Command(BaseCommand):
    help = "Remove expired keys and old task results, and run the tidying steps of each plug-in app."

    def handle(self, *args: Any, **options: Any) -> None:
        for step, count in tidy().items():
            self.stdout.write(f"{step}: {count}")
