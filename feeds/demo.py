"""The demo feed: a fictional truck-series race weekend, written for Livefeed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone

from . import services
from .models import Feed

DEMO_SLUG = "harbor-city-200"
DEMO_AUTHOR = "race-desk"

# (headline, body, pinned, key_event); posted oldest first.
DEMO_ENTRIES: list[tuple[str, str, bool, bool] | tuple[str, str, bool, bool, dict[str, Any]]] = [
    (
        "Welcome to the Harbor City 200",
        "Good evening from **Harbor City Speedway**, a 1.2-mile oval "
        "on the waterfront. 36 trucks take the green flag at 7:30 pm for 200 laps in three stages.",
        False,
        False,
    ),
    (
        "Starting lineup",
        "Pole sitter **Dana Okafor** (No. 75) leads the field to green, with "
        "Marco Lindqvist (No. 12) alongside.\n\n- Row 2: Jess Tamura, Ray Beaumont\n- Row 3: Ana Silva, Cole Whitfield",
        False,
        False,
    ),
    (
        "",
        "Track temperature is 31 °C and falling as the sun drops behind the grandstand. Crews expect "
        "the groove to widen after the first run.",
        False,
        False,
    ),
    ("Green flag!", "We are racing in Harbor City. Okafor gets the jump into Turn 1.", False, True),
    (
        "",
        "The truck is a little tight in the center, but we can work with that.",
        False,
        False,
        {
            "kind": "quote",
            "details": {"speaker": "Dana Okafor", "role": "driver of the No. 75, on the radio after lap 12"},
        },
    ),
    (
        "Caution on lap 31",
        "Debris in Turn 3 brings out the first yellow. Most of the leaders pit for "
        "right-side tyres and fuel.",
        False,
        False,
    ),
    (
        "",
        "Lindqvist wins the race off pit road with a 12.4-second stop and restarts as the leader.",
        False,
        False,
    ),
    (
        "Stage 1 to Lindqvist",
        "Marco Lindqvist takes **Stage 1** by 0.8 seconds over Okafor. Tamura third, Silva fourth.",
        False,
        True,
    ),
    (
        "",
        "Beaumont reports a vibration and comes to pit road under green on lap 71. He loses two laps.",
        False,
        False,
    ),
    (
        "Big one on the backstretch",
        "Six trucks collected on lap 104 after contact between Whitfield "
        "and Silva. All drivers are out of their trucks and walking. Red flag for clean-up.",
        False,
        True,
    ),
    ("Race resumes", "Green again after a 14-minute red flag. 96 laps to go, Okafor leads.", False, False),
    (
        "How to follow tonight",
        "This page updates by itself: new entries appear at the top as they are "
        "posted. Key moments are marked, and this note stays pinned.",
        True,
        False,
    ),
]

# Where the race stands when the demo opens: the status bar above the entries.
DEMO_RACE: dict[str, Any] = {
    "series": "Truck Series",
    "track": "Harbor City Speedway",
    "session": "race",
    "flag": "green",
    "lap": 112,
    "laps_total": 200,
    "stage": "Stage 3",
    "leader": "Dana Okafor",
    "cautions": 3,
}


def load_demo() -> Feed:
    """Create the demo feed once; running it again changes nothing."""
    existing = Feed.objects.filter(slug=DEMO_SLUG).first()
    if existing is not None:
        return existing
    User = get_user_model()
    with transaction.atomic():
        author, _ = User.objects.get_or_create(
            username=DEMO_AUTHOR, defaults={"first_name": "Race", "last_name": "Desk", "is_staff": True}
        )
        author.set_unusable_password()
        author.save()
        author.user_permissions.add(
            *Permission.objects.filter(
                content_type__app_label="feeds",
                codename__in=[
                    "add_feed",
                    "change_feed",
                    "add_entry",
                    "change_entry",
                    "delete_entry",
                    "publish_entry",
                ],
            )
        )
        author = User.objects.get(pk=author.pk)  # drop the cached permissions
        start = timezone.now() - timedelta(hours=1)
        feed = services.create_feed(
            by=author,
            title="Harbor City 200 — Truck Series, Race Night",
            slug=DEMO_SLUG,
            summary="Live from Harbor City Speedway: 200 laps under the lights.",
            status=Feed.Status.LIVE,
            coverage_start=start,
        )
        for headline, body, pinned, key_event, *kind in DEMO_ENTRIES:
            services.create_entry(
                feed=feed,
                by=author,
                headline=headline,
                body=body,
                pinned=pinned,
                key_event=key_event,
                **(kind[0] if kind else {}),
            )
        services.update_race_status(feed=feed, by=author, changes=DEMO_RACE)
    return feed
