"""Screenshots of the live desk and the reader page, written to screenshots/ (ignored by git).

Runs against a throwaway database: loads the demo feed, adds one entry of each kind and a race
status, starts Daphne and drives Debian's Chromium. `make screenshots` runs it.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "screenshots"


def main() -> None:
    var = Path(tempfile.mkdtemp(prefix="livefeed-screenshots-"))
    env = {
        "DATABASE_URL": f"sqlite:///{var / 'livefeed.sqlite3'}",
        "LIVEFEED_VAR_DIR": str(var),
        "DEBUG": "true",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "livefeed.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    feed, editor, contributor = _content()
    _audience(feed)
    spanish = _spanish_feed(editor)
    # Sessions are made before Playwright starts its event loop, where the ORM may not run.
    desks = [(_session(editor), "desk-editor"), (_session(contributor), "desk-contributor")]
    from feeds.tokens import issue_token

    _, token = issue_token(user=editor, name="screenshots")
    corrected = feed.entries.exclude(corrections=[]).get()
    env["SECRET_KEY"] = settings.SECRET_KEY

    from playwright.sync_api import sync_playwright

    from tests.fixtures.servers import daphne_server

    OUTPUT.mkdir(exist_ok=True)
    with daphne_server(env, var / "daphne.log") as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
            headless=True,
            args=["--no-sandbox"],
        )
        reader = browser.new_context(viewport={"width": 900, "height": 1200}).new_page()
        reader.goto(f"{server.url}{feed.get_absolute_url()}")
        reader.wait_for_selector("[data-livefeed][data-connection=live]")
        for session, name in desks:
            context = browser.new_context(viewport={"width": 1280, "height": 1400})
            context.add_cookies([{"name": "sessionid", "value": session, "url": server.url}])
            desk = context.new_page()
            desk.goto(f"{server.url}/admin/feeds/feed/{feed.pk}/desk/")
            desk.wait_for_selector("[data-desk][data-connection=live]")
            desk.wait_for_function("document.querySelector('[data-readers]').textContent !== '–'")
            desk.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)
            print(f"wrote {OUTPUT / f'{name}.png'}")
            if name == "desk-editor":
                panel = desk.locator("[data-audience]")
                panel.locator("summary").click()
                desk.wait_for_selector("[data-audience-chart] svg")
                panel.screenshot(path=str(OUTPUT / "desk-audience.png"))
                print(f"wrote {OUTPUT / 'desk-audience.png'}")
        reader.screenshot(path=str(OUTPUT / "reader.png"), full_page=True)
        print(f"wrote {OUTPUT / 'reader.png'}")
        _corrections_and_times(browser, server.url, feed, corrected.pk)
        _away(browser, server.url, feed, token)
        # A feed in Spanish, read by a browser set to English: the page speaks the feed's language.
        translated = browser.new_context(viewport={"width": 900, "height": 1200}, locale="en-US").new_page()
        translated.goto(f"{server.url}{spanish.get_absolute_url()}")
        translated.wait_for_selector("[data-livefeed][data-connection=live]")
        translated.screenshot(path=str(OUTPUT / "reader-es.png"), full_page=True)
        print(f"wrote {OUTPUT / 'reader-es.png'}")
        browser.close()


def _shot(target, name: str) -> None:
    target.screenshot(path=str(OUTPUT / f"{name}.png"))
    print(f"wrote {OUTPUT / f'{name}.png'}")


def _corrections_and_times(browser, url: str, feed, corrected_id: int) -> None:
    """A correction with its earlier wording open, a removal notice, and the same entries read from
    two time zones (the feed's is America/New_York)."""
    for zone, name in (("Europe/Paris", "reader-times-paris"), ("Asia/Tokyo", "reader-times-tokyo")):
        context = browser.new_context(
            viewport={"width": 900, "height": 900}, locale="en-GB", timezone_id=zone
        )
        page = context.new_page()
        page.goto(f"{url}{feed.get_absolute_url()}")
        page.wait_for_selector("[data-livefeed][data-connection=live]")
        _shot(page, name)
        if zone == "Europe/Paris":
            article = page.locator(f"#entry-{corrected_id}")
            article.locator("details summary").click()
            _shot(article, "reader-correction")
            _shot(page.locator("[data-entry-id][data-removed]").first, "reader-removal-notice")
            page.goto(f"{url}{feed.get_absolute_url()}entries/{corrected_id}/")
            page.wait_for_selector("[data-livefeed][data-connection=live]")
            # Scrolled below the race status bar, which stays on top and would hide the entry's first line.
            page.evaluate("scrollBy(0, -300)")
            box = page.locator(f"#entry-{corrected_id}").bounding_box()
            page.screenshot(
                path=str(OUTPUT / "reader-permalink-event-time.png"),
                clip={
                    "x": box["x"] - 8,
                    "y": box["y"] - 8,
                    "width": box["width"] + 16,
                    "height": box["height"] + 16,
                },
            )
            print(f"wrote {OUTPUT / 'reader-permalink-event-time.png'}")
        context.close()


def _away(browser, url: str, feed, token: str) -> None:
    """A reader back after ten minutes in another tab: the "while you were away" summary."""
    import httpx2 as httpx

    context = browser.new_context(viewport={"width": 900, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.clock.install()
    page.goto(f"{url}{feed.get_absolute_url()}")
    page.wait_for_selector("[data-livefeed][data-connection=live]")
    page.evaluate(_VISIBILITY % "true")
    api = f"{url}/api/feeds/{feed.slug}/"
    headers = {"Authorization": f"Bearer {token}"}
    posts = [
        {
            "headline": "Okafor spins out of the lead in Turn 2",
            "body": "Back on track in 9th.",
            "key_event": True,
        },
        {"headline": "Lindqvist pits from the lead", "body": "Four tyres and fuel."},
        {"headline": "Tamura stays out", "body": "Takes the lead on old tyres."},
    ]
    httpx.post(f"{api}entries/", json=posts[0], headers=headers, timeout=10).raise_for_status()
    httpx.patch(
        api, json={"race": {"flag": "green", "lap": 150}, "announce": True}, headers=headers, timeout=10
    )
    for post in posts[1:]:
        httpx.post(f"{api}entries/", json=post, headers=headers, timeout=10).raise_for_status()
    seq = httpx.get(api, timeout=10).json()["feed"]["seq"]
    page.wait_for_function(f"() => window.livefeed.lastSeq >= {seq}")
    page.clock.fast_forward("10:00")
    page.evaluate(_VISIBILITY % "false")
    page.wait_for_selector("[data-away]")
    _shot(page, "reader-away")
    context.close()


_VISIBILITY = """() => {
  Object.defineProperty(document, "hidden", { configurable: true, get: () => %s });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def _content():
    """The demo feed plus one entry of each kind, a draft and a race status."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image, ImageDraw

    from feeds import services
    from feeds.demo import load_demo

    feed = load_demo()
    User = get_user_model()
    editor = User.objects.create_user(username="eve", first_name="Eve", last_name="Marsh", is_staff=True)
    editor.groups.add(Group.objects.get(name="Editor"))
    contributor = User.objects.create_user(
        username="casey", first_name="Casey", last_name="Ng", is_staff=True
    )
    contributor.groups.add(Group.objects.get(name="Contributor"))
    editor, contributor = User.objects.get(pk=editor.pk), User.objects.get(pk=contributor.pk)

    services.update_race_status(
        feed=feed,
        by=editor,
        changes={
            "series": "Truck Series",
            "track": "Harbor City Speedway",
            "session": "race",
            "flag": "green",
            "lap": 142,
            "laps_total": 200,
            "stage": "3",
            "leader": "No. 75 Dana Okafor",
            "cautions": 4,
            "running_order": ["Okafor", "Lindqvist", "Tamura", "Silva", "Beaumont"],
        },
    )
    services.create_entry(
        feed=feed,
        by=editor,
        kind="quote",
        body="We had the truck to win tonight; the pit stop won it for us.",
        details={"speaker": "Dana Okafor", "role": "driver, No. 75 truck"},
    )
    services.create_entry(
        feed=feed,
        by=editor,
        kind="social",
        body="What a save by Tamura coming off Turn 4!",
        details={"url": "https://bsky.app/profile/harborcity.example/post/3kx7", "author": "@harborcity"},
    )
    picture = Image.new("RGB", (1600, 900), (20, 40, 80))
    draw = ImageDraw.Draw(picture)
    for x in range(0, 1600, 80):
        draw.rectangle([x, 700, x + 40, 760], fill=(240, 240, 240))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG")
    services.create_entry(
        feed=feed,
        by=editor,
        kind="image",
        image=SimpleUploadedFile("pit.jpg", buffer.getvalue()),
        details={
            "alt": "Pit road under the lights",
            "caption": "Pit road on lap 140",
            "credit": "Livefeed demo",
        },
    )
    services.update_race_status(
        feed=feed, by=editor, changes={"flag": "yellow", "cautions": 5}, announce=True
    )
    services.create_entry(
        feed=feed, by=contributor, headline="Okafor's crew chief", body="Interview coming up.", status="draft"
    )
    # A correction in the open, a removal notice, and the track's own time zone.
    services.update_feed(feed=feed, by=editor, time_zone="America/New_York")
    pit = services.create_entry(
        feed=feed, by=editor, headline="Silva penalised", body="Speeding on pit road: a pass-through."
    )
    services.correct_entry(
        entry=pit,
        by=editor,
        note="The penalty went to Beaumont, not Silva.",
        headline="Beaumont penalised",
        body="Speeding on pit road: a pass-through.",
    )
    wrong = services.create_entry(feed=feed, by=editor, headline="Lindqvist retires", body="Engine.")
    services.delete_entry(entry=wrong, by=editor, removal_notice=True)
    return feed, editor, contributor


def _spanish_feed(editor):
    """A short feed in Spanish, with a race status and a key event."""
    from feeds import services

    feed = services.create_feed(
        by=editor,
        title="Gran Premio de Harbor City",
        slug="gran-premio-harbor-city",
        summary="La carrera de camionetas, vuelta a vuelta.",
        status="live",
        language="es",
    )
    services.update_race_status(
        feed=feed,
        by=editor,
        changes={"series": "Truck Series", "flag": "green", "lap": 1, "laps_total": 200, "leader": "Okafor"},
    )
    services.create_entry(
        feed=feed, by=editor, headline="¡Bandera verde!", body="Okafor sale desde la pole.", key_event=True
    )
    services.update_race_status(
        feed=feed, by=editor, changes={"flag": "yellow", "lap": 57, "cautions": 1}, announce=True
    )
    services.create_entry(feed=feed, by=editor, body="Restos en la curva 3: los líderes entran en boxes.")
    return feed


def _audience(feed) -> None:
    """An hour of audience samples ending now, rising to the finish, for the desk's chart."""
    import math
    from datetime import timedelta

    from django.utils import timezone

    from feeds.audience.sampling import interval_seconds, moment_now
    from feeds.models import ReaderSample

    step = interval_seconds()
    now = moment_now(step)
    count = 3600 // step
    ReaderSample.objects.bulk_create(
        ReaderSample(
            feed=feed,
            at=now - timedelta(seconds=step * (count - n)),
            readers=int(1200 + 2400 * n / count + 300 * math.sin(n / 40) + (500 if 300 < n < 340 else 0)),
        )
        for n in range(count + 1)
        if now - timedelta(seconds=step * (count - n)) <= timezone.now()
    )


def _session(user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


if __name__ == "__main__":
    main()
