"""`manage.py replaytiming <file or folder> <feed>`: rehearse a race day from recorded snapshots."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from feeds import race
from feeds.models import Feed
from feeds.timing import replay
from feeds.timing.ingest import Outcome
from feeds.timing.models import TimingSource


class Command(BaseCommand):
    help = (
        "Play recorded timing snapshots (a file, a .jsonl file or a folder of them, in name order) into "
        "a feed through its timing source, at the snapshots' own pace or faster."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path", help="A recorded snapshot, a .jsonl file of them, or a folder of such files."
        )
        parser.add_argument("feed", help="The slug of the feed whose timing source plays them.")
        parser.add_argument(
            "--speed",
            type=float,
            default=1.0,
            help="How much faster than recorded: 1 plays at the snapshots' own pace, 10 ten times faster, 0 at once.",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=5.0,
            help="Seconds between snapshots that carry no time of their own.",
        )
        parser.add_argument(
            "--max-wait",
            type=float,
            default=60.0,
            help="Longest wait between two snapshots (e.g. between sessions).",
        )

    def handle(
        self, *args: Any, path: str, feed: str, speed: float, interval: float, max_wait: float, **options: Any
    ) -> None:
        if speed < 0 or interval < 0 or max_wait < 0:
            raise CommandError("--speed, --interval and --max-wait must be 0 or more.")
        try:
            source = TimingSource.objects.select_related("feed", "author").get(feed__slug=feed)
        except TimingSource.DoesNotExist:
            if not Feed.objects.filter(slug=feed).exists():
                raise CommandError(f"No feed with the slug {feed!r}.")
            raise CommandError(f"The feed {feed!r} has no timing source; link one in the admin first.")
        if not source.enabled:
            raise CommandError(f"The timing source of {feed!r} is switched off.")
        try:
            recordings = replay.load_recordings(Path(path), format=source.format)
        except ValueError as error:
            raise CommandError(str(error))
        self.source = source
        self.stdout.write(f"Playing {len(recordings)} snapshots into {feed} ({source.get_format_display()}).")
        outcomes = replay.replay(
            source=source,
            recordings=recordings,
            speed=speed,
            interval=interval,
            max_wait=max_wait,
            report=self.report,
        )
        counts = Counter(outcome.kind for outcome in outcomes)  # in the order each kind first came
        self.stdout.write("Done: " + ", ".join(f"{count} {kind}" for kind, count in counts.items()) + ".")

    def report(self, recording: replay.Recording, outcome: Outcome) -> None:
        """One line per snapshot: what ingest did, and the status bar's first line after it."""
        line = f"{recording.name}: {outcome.kind}"
        if outcome.reason:
            line = f"{line} ({outcome.reason})"
        if outcome.kind in ("applied", "unchanged"):
            state = Feed.objects.get(pk=self.source.feed_id).race
            summary = " · ".join(
                part for part in (race.flag_label(state.get("flag")), race.lap_text(state)) if part
            )
            line = f"{line} → {summary}"
        for post in outcome.posts:
            line = f"{line}\n    posted ({post.status}): {post.headline}"
        self.stdout.write(line)
