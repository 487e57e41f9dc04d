from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from feeds.demo import load_demo


class Command(BaseCommand):
    help = "Create the demo race feed (safe to run again: it is created once)."

    def handle(self, *args: Any, **options: Any) -> None:
        feed = load_demo()
        self.stdout.write(
            f"Demo feed: {feed.title} ({feed.entries.count()} entries) at {feed.get_absolute_url()}"
        )
