"""The live desk on a 360 px phone on a bad network: nothing typed is lost, posts written offline
wait on the device and go out in order, and a retried post is written once."""

from __future__ import annotations

import io

import pytest
from django.test import Client
from playwright.sync_api import expect

from feeds.models import Entry
from tests.browser.test_desk import open_reader

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def server(start_daphne):
    return start_daphne()


def log_in(context, server, user) -> None:
    """Give the browser context a fresh session for `user` (no login form needed)."""
    client = Client()
    client.force_login(user)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": server.url}]
    )


def phone_desk(browser, server, user, feed):
    """The desk in a phone-sized touch browser context, logged in as `user`."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    log_in(context, server, user)
    page = context.new_page()
    page.goto(f"{server.url}/admin/feeds/feed/{feed.pk}/desk/")
    expect(page.locator("[data-desk]")).to_have_attribute("data-connection", "live")
    return page


def drop_posts(route) -> None:
    """A route handler: the desk's posts never get through, its page loads do."""
    if route.request.method == "POST":
        route.abort("internetdisconnected")
    else:
        route.continue_()


def write(desk, body: str, headline: str = "") -> None:
    desk.locator("[data-composer] [name=headline]").fill(headline)
    desk.locator("[data-composer] [name=body]").fill(body)
    desk.locator("[data-composer] [data-submit=publish]").tap()


def test_the_composer_comes_first_fits_360_px_and_has_touch_sized_controls(
    browser, server, make_member, live_feed
):
    desk = phone_desk(browser, server, make_member("Editor", "eve"), live_feed)
    for kind in ("text", "image", "quote", "social"):
        desk.locator("[data-kind]").select_option(kind)
        assert desk.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        controls = desk.locator("[data-composer] :is(input, select, textarea, button):visible")
        assert controls.count() >= 5
        for index in range(controls.count()):
            box = controls.nth(index).bounding_box()
            assert box["height"] >= 44, (kind, controls.nth(index).evaluate("e => e.outerHTML"), box)
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    composer = desk.locator("[data-composer]").bounding_box()
    assert composer["y"] < desk.locator(".desk-header").bounding_box()["y"]
    assert composer["y"] < desk.locator("[data-race]").bounding_box()["y"]
    # Kind and Publish sit at the bottom of the screen, where the thumb is, even after scrolling.
    desk.mouse.wheel(0, 600)
    for control in ("[data-kind]", "[data-submit=publish]"):
        box = desk.locator(control).bounding_box()
        assert PHONE["height"] - 80 <= box["y"] and box["y"] + box["height"] <= PHONE["height"], (
            control,
            box,
        )
    photo = desk.locator("[data-composer] [name=image]")
    assert photo.get_attribute("accept") == "image/*" and photo.get_attribute("capture") == "environment"


def test_typed_text_survives_a_reload_and_is_cleared_once_posted(browser, server, make_member, live_feed):
    desk = phone_desk(browser, server, make_member("Editor", "eve"), live_feed)
    desk.locator("[data-kind]").select_option("quote")
    desk.locator("[data-composer] [name=headline]").fill("Reyes on the radio")
    desk.locator("[data-composer] [name=body]").fill("The car is perfect,\nwe go for it.")
    desk.locator("[data-composer] [name=speaker]").fill("Ana Reyes")
    desk.reload()
    expect(desk.locator("[data-desk]")).to_have_attribute("data-connection", "live")
    expect(desk.locator("[data-kind]")).to_have_value("quote")
    expect(desk.locator("[data-composer] [name=headline]")).to_have_value("Reyes on the radio")
    expect(desk.locator("[data-composer] [name=body]")).to_have_value("The car is perfect,\nwe go for it.")
    expect(desk.locator("[data-composer] [name=speaker]")).to_be_visible()
    expect(desk.locator("[data-composer] [name=speaker]")).to_have_value("Ana Reyes")

    desk.locator("[data-composer] [data-submit=publish]").tap()
    expect(desk.locator("[data-composer-message]")).to_have_text("Published.")
    desk.reload()
    expect(desk.locator("[data-desk]")).to_have_attribute("data-connection", "live")
    expect(desk.locator("[data-composer] [name=body]")).to_have_value("")
    assert Entry.objects.get().details["speaker"] == "Ana Reyes"


def test_a_lost_session_keeps_the_post_and_the_text_until_the_reporter_is_back(
    browser, server, make_member, live_feed
):
    from django.contrib.sessions.models import Session

    editor = make_member("Editor", "eve")
    desk = phone_desk(browser, server, editor, live_feed)
    Session.objects.all().delete()
    write(desk, "Pit window opens.", headline="Lap 30")
    expect(desk.locator("[data-composer-message]")).to_contain_text("session has ended")
    expect(desk.locator("[data-pending] .desk-badge")).to_have_text("Waiting to send")
    desk.locator("[data-composer] [name=body]").fill("Next: the undercut")
    assert Entry.objects.count() == 0

    log_in(desk.context, server, editor)
    desk.reload()
    expect(desk.locator("[data-pending]")).to_have_count(0)
    expect(desk.locator("[data-desk-entries] .desk-entry-headline")).to_have_text(["Lap 30"])
    expect(desk.locator("[data-composer] [name=body]")).to_have_value("Next: the undercut")
    assert Entry.objects.get().headline == "Lap 30"


def test_posts_written_offline_wait_then_reach_readers_once_each_in_order(
    browser, server, make_member, live_feed
):
    reader = open_reader(browser, server, live_feed)
    desk = phone_desk(browser, server, make_member("Editor", "eve"), live_feed)
    desk.context.set_offline(True)
    write(desk, "Okafor leads.", headline="Lap 12")
    write(desk, "Okafor still leads.", headline="Lap 13")
    pending = desk.locator("[data-desk-entries] [data-pending]")
    expect(pending).to_have_count(2)
    expect(pending.locator(".desk-badge")).to_have_text(["Waiting to send", "Waiting to send"])
    expect(pending.locator(".desk-entry-headline")).to_have_text(["Lap 13", "Lap 12"])
    # The reporter keeps writing meanwhile.
    desk.locator("[data-composer] [name=body]").fill("Rain at turn 4")
    assert Entry.objects.count() == 0

    desk.context.set_offline(False)
    expect(reader.locator("[data-stream] .entry-headline")).to_have_text(["Lap 13", "Lap 12"])
    expect(pending).to_have_count(0)
    expect(desk.locator("[data-desk-entries] .desk-entry-headline")).to_have_text(["Lap 13", "Lap 12"])
    expect(desk.locator("[data-composer] [name=body]")).to_have_value("Rain at turn 4")
    assert list(Entry.objects.order_by("seq").values_list("headline", flat=True)) == ["Lap 12", "Lap 13"]
    assert reader.evaluate("window.loadedOnce") is True


def test_the_queue_survives_a_reload_and_is_sent_when_posts_get_through(
    browser, server, make_member, live_feed
):
    desk = phone_desk(browser, server, make_member("Editor", "eve"), live_feed)

    desk.route("**/desk/entries/", drop_posts)
    write(desk, "Green flag, lap 1.", headline="Restart")
    expect(desk.locator("[data-pending] .desk-badge")).to_have_text("Waiting to send")
    desk.reload()
    expect(desk.locator("[data-desk]")).to_have_attribute("data-connection", "live")
    expect(desk.locator("[data-pending] .desk-entry-headline")).to_have_text("Restart")
    assert Entry.objects.count() == 0

    desk.unroute("**/desk/entries/", drop_posts)
    expect(desk.locator("[data-pending]")).to_have_count(0, timeout=15_000)
    expect(desk.locator("[data-desk-entries] .desk-entry-headline")).to_have_text(["Restart"])
    assert Entry.objects.get().headline == "Restart"


def test_a_post_whose_answer_was_lost_is_retried_with_its_key_and_written_once(
    browser, server, make_member, live_feed
):
    reader = open_reader(browser, server, live_feed)
    desk = phone_desk(browser, server, make_member("Editor", "eve"), live_feed)
    keys = []

    def lose_the_first_answer(route):
        if route.request.method != "POST":
            route.continue_()
            return
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) == 1:
            route.fetch()  # the server writes the entry...
            route.abort("timedout")  # ...but the desk never hears back
        else:
            route.continue_()

    desk.route("**/desk/entries/", lose_the_first_answer)
    write(desk, "Safety car out.", headline="Caution")
    expect(desk.locator("[data-pending]")).to_have_count(0, timeout=15_000)
    expect(desk.locator("[data-composer-message]")).to_have_text("Published.")
    expect(reader.locator("[data-stream] .entry-headline")).to_have_text(["Caution"])
    assert len(keys) >= 2 and len(set(keys)) == 1
    assert Entry.objects.count() == 1
    expect(desk.locator("[data-desk-entries] .desk-entry")).to_have_count(1)


def test_every_desk_action_sends_its_own_idempotency_key(browser, server, make_member, publisher, live_feed):
    from feeds import services

    services.create_entry(
        feed=live_feed, by=publisher, headline="Tyres", body="Four new tyres", status="draft"
    )
    desk = phone_desk(browser, server, make_member("Editor", "eve"), live_feed)
    sent = []
    desk.on("request", lambda request: sent.append(request) if request.method == "POST" else None)
    desk.locator(".desk-entry [data-action=publish]").tap()
    expect(desk.locator(".desk-entry")).to_have_attribute("data-status", "published")
    desk.locator("[data-flag=green]").tap()
    expect(desk.locator("[data-flag=green]")).to_have_attribute("aria-pressed", "true")
    desk.locator("[data-feed-action=ended]").tap()
    expect(desk.locator("[data-feed-status]")).to_have_text("Ended")
    keys = [request.headers.get("idempotency-key") for request in sent]
    assert len(keys) == 3 and all(keys) and len(set(keys)) == 3


def test_a_photo_from_the_camera_uploads_with_progress(browser, server, make_member, live_feed):
    from PIL import Image

    photo = io.BytesIO()
    Image.effect_noise((900, 600), 80).convert("RGB").save(photo, "JPEG", quality=95)
    desk = phone_desk(browser, server, make_member("Editor", "eve"), live_feed)
    desk.evaluate(
        """() => {
            const bar = document.querySelector('[data-upload-progress]');
            window.progressSeen = [];
            new MutationObserver(() => { if (!bar.hidden) window.progressSeen.push(bar.value); })
              .observe(bar, {attributes: true, childList: true});
        }"""
    )
    desk.locator("[data-kind]").select_option("image")
    desk.locator("[data-composer] [name=image]").set_input_files(
        files=[{"name": "pit.jpg", "mimeType": "image/jpeg", "buffer": photo.getvalue()}]
    )
    desk.locator("[data-composer] [name=alt]").fill("A pit stop")
    desk.locator("[data-composer] [data-submit=publish]").tap()
    expect(desk.locator("[data-composer-message]")).to_have_text("Published.")
    expect(desk.locator("[data-upload-progress]")).to_be_hidden()
    assert desk.evaluate("window.progressSeen.includes(100)")
    assert Entry.objects.get().image.name.endswith(".webp")


def test_a_photo_post_waiting_for_the_network_survives_a_reload(browser, server, make_member, live_feed):
    from PIL import Image

    photo = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 120, 40)).save(photo, "JPEG")
    desk = phone_desk(browser, server, make_member("Editor", "eve"), live_feed)

    desk.route("**/desk/entries/", drop_posts)
    desk.locator("[data-kind]").select_option("image")
    desk.locator("[data-composer] [name=image]").set_input_files(
        files=[{"name": "grid.jpg", "mimeType": "image/jpeg", "buffer": photo.getvalue()}]
    )
    desk.locator("[data-composer] [name=alt]").fill("The grid forming up")
    desk.locator("[data-composer] [data-submit=publish]").tap()
    expect(desk.locator("[data-pending] .desk-badge")).to_have_text("Waiting to send")
    desk.reload()
    expect(desk.locator("[data-desk]")).to_have_attribute("data-connection", "live")
    expect(desk.locator("[data-pending] .desk-badge")).to_have_text("Waiting to send")
    assert Entry.objects.count() == 0

    desk.unroute("**/desk/entries/", drop_posts)
    expect(desk.locator("[data-pending]")).to_have_count(0, timeout=15_000)
    entry = Entry.objects.get()
    assert entry.kind == "image" and entry.image.name.endswith(".webp")
    assert entry.details["alt"] == "The grid forming up"
