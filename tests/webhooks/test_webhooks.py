"""Webhooks: every change readers see reaches each subscribed partner, signed, in order, once
acknowledged; drafts and rolled-back changes never do; a dead receiver never slows posting."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from feeds import broadcast, services
from feeds.models import Feed
from feeds.webhooks import delivery, signing, subscriptions
from feeds.webhooks.models import WebhookDelivery, WebhookSubscription, new_secret
from tests.fixtures.receivers import Request, documented_verify

pytestmark = pytest.mark.django_db

SECRET = "s3cret-shared-with-the-partner"


@pytest.fixture(autouse=True)
def webhook_settings(settings):
    settings.LIVEFEED = {
        **settings.LIVEFEED,
        "OUTBOUND_ALLOW_PRIVATE": True,
        "WEBHOOK_TIMEOUT": 5.0,
        "WEBHOOK_RETRY_SECONDS": 30.0,
        "WEBHOOK_MAX_FAILURES": 10,
    }
    return settings


def subscribe(feed: Feed, by, url: str, events: list[str] | None = None) -> WebhookSubscription:
    subscription = WebhookSubscription(feed=feed, url=url, secret=SECRET)
    if events is not None:
        subscription.events = events
    return subscriptions.save_subscription(subscription=subscription, by=by)


def post(feed: Feed, by, body: str, **options):
    """Post as the API does, running what is queued for after the commit."""
    return services.create_entry(feed=feed, by=by, body=body, **options)


def deliver_all(subscription: WebhookSubscription, *, rounds: int = 30) -> None:
    """Run the worker's delivery until nothing is pending, each retry made due at once."""
    for _ in range(rounds):
        delivery.deliver_pending(subscription_id=subscription.pk)
        pending = WebhookDelivery.objects.filter(subscription=subscription, status="pending")
        if not pending.exists() or not WebhookSubscription.objects.get(pk=subscription.pk).active:
            return
        pending.update(next_attempt_at=timezone.now())  # as if the backoff had passed
    raise AssertionError("deliveries still pending")


def bodies(requests) -> list[dict]:
    return [json.loads(request.body) for request in requests]


def test_each_change_is_posted_signed_as_the_documented_check_verifies(publisher, live_feed, receiver):
    verify = documented_verify()
    subscription = subscribe(live_feed, publisher, receiver.url + "/hook")
    entry = post(live_feed, publisher, "Green flag")
    delivery.deliver_pending(subscription_id=subscription.pk)
    (request,) = receiver.wait_for(1)
    assert request.path == "/hook" and request.headers["Content-Type"].startswith("application/json")
    assert request.headers["Livefeed-Event"] == "entry.created"
    assert request.headers["Livefeed-Delivery"] == str(WebhookDelivery.objects.get().delivery_id)
    assert verify(SECRET, request.body, request.headers["Livefeed-Signature"])
    assert not verify("another secret", request.body, request.headers["Livefeed-Signature"])
    assert not verify(SECRET, request.body.replace(b"Green", b"Red"), request.headers["Livefeed-Signature"])
    timestamp = int(request.headers["Livefeed-Signature"].split(",")[0].removeprefix("t="))
    assert not verify(SECRET, request.body, request.headers["Livefeed-Signature"], now=timestamp + 301)
    assert json.loads(request.body)["entry"]["id"] == entry.pk


def test_the_body_is_the_text_readers_sockets_get(
    publisher, live_feed, receiver, django_capture_on_commit_callbacks
):
    class Reader:
        def __init__(self) -> None:
            self.texts: list[str] = []

        def deliver(self, change: broadcast.Change) -> None:
            self.texts.append(change.text)

        def interrupted(self) -> None:
            pass

    reader = Reader()
    broadcast.hub.hub.add(live_feed.slug, reader, None)
    try:
        subscription = subscribe(live_feed, publisher, receiver.url)
        before = live_feed.seq
        with django_capture_on_commit_callbacks(execute=True):
            entry = post(live_feed, publisher, "Safety car")
            services.update_entry(entry=entry, by=publisher, body="Safety car in this lap")
            services.update_race_status(feed=live_feed, by=publisher, changes={"flag": "yellow"})
            services.delete_entry(entry=entry, by=publisher)
    finally:
        broadcast.hub.hub.remove(live_feed.slug, reader)
    deliver_all(subscription)
    requests = receiver.wait_for(4)
    assert [request.body.decode() for request in requests] == reader.texts
    assert [request.headers["Livefeed-Event"] for request in requests] == [
        "entry.created",
        "entry.updated",
        "feed.updated",
        "entry.deleted",
    ]
    # The events API serves the same messages for the feed's latest state.
    api = Client().get(f"/api/feeds/{live_feed.slug}/events/?after={before}").json()["events"]
    assert bodies(requests)[-1] in api and bodies(requests)[2] in api


def test_only_the_chosen_events_are_delivered(publisher, live_feed, receiver):
    subscription = subscribe(live_feed, publisher, receiver.url, events=["entry.deleted", "feed.updated"])
    entry = post(live_feed, publisher, "Pit stop")
    services.update_entry(entry=entry, by=publisher, body="Pit stop, 2.4 s")
    services.delete_entry(entry=entry, by=publisher)
    services.update_feed(feed=live_feed, by=publisher, title="Night Race (red flag)")
    deliver_all(subscription)
    assert [request.headers["Livefeed-Event"] for request in receiver.wait_for(2)] == [
        "entry.deleted",
        "feed.updated",
    ]
    assert WebhookDelivery.objects.count() == 2


def test_drafts_and_scheduled_entries_are_never_delivered(publisher, make_member, live_feed, receiver):
    subscription = subscribe(live_feed, publisher, receiver.url)
    draft = post(live_feed, publisher, "Embargoed", status="draft")
    services.update_entry(entry=draft, by=publisher, body="Still embargoed")
    post(live_feed, make_member("Contributor", "casey"), "A contributor's draft", status="draft")
    post(live_feed, publisher, "Later", publish_at=timezone.now() + timedelta(hours=1))
    services.delete_entry(entry=draft, by=publisher)
    deliver_all(subscription)
    assert not WebhookDelivery.objects.exists() and receiver.requests == []


def test_nothing_is_delivered_for_a_draft_feed(publisher, receiver):
    feed = services.create_feed(by=publisher, title="Next week", slug="next-week")
    subscription = subscribe(feed, publisher, receiver.url)
    entry = post(feed, publisher, "Published, but the feed is a draft")
    services.update_entry(entry=entry, by=publisher, body="Edited")
    services.update_race_status(feed=feed, by=publisher, changes={"flag": "green"})
    services.update_feed(feed=feed, by=publisher, title="Next week's race")
    deliver_all(subscription)
    assert not WebhookDelivery.objects.exists() and receiver.requests == []


def test_a_feed_taken_back_to_draft_sends_one_last_update_then_nothing(publisher, live_feed, receiver):
    subscription = subscribe(live_feed, publisher, receiver.url)
    services.update_feed(feed=live_feed, by=publisher, status="draft")
    post(live_feed, publisher, "Written while the feed is hidden")
    deliver_all(subscription)
    (request,) = receiver.wait_for(1)
    message = json.loads(request.body)
    assert message["type"] == "feed.updated" and message["feed_data"]["status"] == "draft"


def test_a_rolled_back_change_is_not_delivered(publisher, live_feed, receiver):
    subscription = subscribe(live_feed, publisher, receiver.url)
    with pytest.raises(RuntimeError), transaction.atomic():
        post(live_feed, publisher, "Never happened")
        raise RuntimeError("the request failed after saving")
    assert not WebhookDelivery.objects.exists()
    post(live_feed, publisher, "This one did")
    deliver_all(subscription)
    (request,) = receiver.wait_for(1)
    assert "This one did" in json.loads(request.body)["entry"]["html"]


def test_a_failing_receiver_gets_every_change_in_order_once_it_recovers(publisher, live_feed, receiver):
    subscription = subscribe(live_feed, publisher, receiver.url)
    receiver.fail(3)
    posted = [post(live_feed, publisher, f"Lap {lap}") for lap in (1, 2, 3)]
    deliver_all(subscription)
    requests = receiver.wait_for(6)
    # The first change is retried until it is taken; nothing later overtakes it.
    assert [request.answered for request in requests] == [500, 500, 500, 204, 204, 204]
    assert len({request.headers["Livefeed-Delivery"] for request in requests[:4]}) == 1
    acknowledged = receiver.acknowledged()
    assert [body["entry"]["id"] for body in bodies(acknowledged)] == [entry.pk for entry in posted]
    assert len({request.headers["Livefeed-Delivery"] for request in acknowledged}) == 3
    # Once acknowledged, nothing is sent again.
    delivery.deliver_pending(subscription_id=subscription.pk)
    assert len(receiver.requests) == 6
    log = list(WebhookDelivery.objects.order_by("id"))
    assert [(row.status, row.attempts, row.response_status) for row in log] == [
        ("delivered", 4, 204),
        ("delivered", 1, 204),
        ("delivered", 1, 204),
    ]
    assert WebhookSubscription.objects.get(pk=subscription.pk).consecutive_failures == 0


def test_a_failed_delivery_is_retried_later_with_backoff(publisher, live_feed, receiver):
    subscription = subscribe(live_feed, publisher, receiver.url)
    receiver.fail(1)
    post(live_feed, publisher, "Lap 1")
    post(live_feed, publisher, "Lap 2")
    DBTaskResult.objects.all().delete()
    delivery.deliver_pending(subscription_id=subscription.pk)
    assert len(receiver.requests) == 1  # the second waits behind the first
    first = WebhookDelivery.objects.order_by("id").first()
    assert first.status == "pending" and first.response_status == 500 and "HTTP 500" in first.error
    wait = (first.next_attempt_at - first.last_attempt_at).total_seconds()
    assert 27 <= wait <= 33  # WEBHOOK_RETRY_SECONDS, jittered
    retry = DBTaskResult.objects.get()
    assert retry.run_after == first.next_attempt_at and retry.args_kwargs["kwargs"] == {
        "subscription_id": subscription.pk
    }
    # Not due yet: a wake-up from a new change does not jump the queue.
    delivery.deliver_pending(subscription_id=subscription.pk)
    assert len(receiver.requests) == 1


def test_the_backoff_doubles_up_to_its_cap(webhook_settings):
    webhook_settings.LIVEFEED = {
        **webhook_settings.LIVEFEED,
        "WEBHOOK_RETRY_SECONDS": 10.0,
        "WEBHOOK_RETRY_MAX_SECONDS": 60.0,
    }
    delays = [delivery.retry_delay(attempts) for attempts in range(1, 6)]
    for delay, expected in zip(delays, [10, 20, 40, 60, 60], strict=True):
        assert expected * 0.9 <= delay <= expected * 1.1


def test_a_subscription_is_disabled_after_a_run_of_failures_and_the_admin_says_why(
    webhook_settings, publisher, live_feed, receiver
):
    webhook_settings.LIVEFEED = {**webhook_settings.LIVEFEED, "WEBHOOK_MAX_FAILURES": 3}
    subscription = subscribe(live_feed, publisher, receiver.url)
    receiver.fail(100, status=503)
    post(live_feed, publisher, "Lap 1")
    post(live_feed, publisher, "Lap 2")
    deliver_all(subscription)
    subscription.refresh_from_db()
    assert not subscription.active and len(receiver.requests) == 3
    assert subscription.disabled_reason.startswith("Disabled after 3 failed deliveries in a row")
    assert "HTTP 503" in subscription.disabled_reason
    # Nothing new is queued for it while it is off.
    post(live_feed, publisher, "Lap 3")
    assert WebhookDelivery.objects.filter(status="pending").count() == 2

    client = Client()
    client.force_login(publisher)
    listing = client.get(reverse("admin:webhooks_webhooksubscription_changelist")).content.decode()
    assert "Disabled after 3 failed deliveries in a row" in listing and "HTTP 503" in listing
    page_url = reverse("admin:webhooks_webhooksubscription_change", args=[subscription.pk])
    page = client.get(page_url).content.decode()
    assert "Disabled after 3 failed deliveries in a row" in page and "The receiver answered HTTP 503." in page
    log = client.get(
        reverse("admin:webhooks_webhookdelivery_changelist") + f"?subscription__id__exact={subscription.pk}"
    )
    assert log.status_code == 200 and "The receiver answered HTTP 503." in log.content.decode()

    # Turned back on in the admin, it resumes from the oldest pending delivery.
    receiver.fail(0)
    response = client.post(
        page_url,
        {
            "feed": live_feed.pk,
            "url": receiver.url,
            "secret": SECRET,
            "events": ["entry.created", "entry.updated", "entry.deleted", "feed.updated"],
            "active": "on",
        },
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (
        subscription.active and subscription.disabled_reason == "" and subscription.consecutive_failures == 0
    )
    deliver_all(subscription)
    assert [body["entry"]["html"] for body in bodies(receiver.acknowledged())] == [
        "<p>Lap 1</p>",
        "<p>Lap 2</p>",
    ]


def test_only_those_who_run_feeds_manage_webhooks(publisher, make_member, live_feed):
    contributor = Client()
    contributor.force_login(make_member("Contributor", "casey"))
    for name in [
        "admin:webhooks_webhooksubscription_changelist",
        "admin:webhooks_webhooksubscription_add",
        "admin:webhooks_webhookdelivery_changelist",
    ]:
        assert contributor.get(reverse(name)).status_code == 403
    editor = Client()
    editor.force_login(make_member("Editor", "edna"))
    assert editor.get(reverse("admin:webhooks_webhooksubscription_add")).status_code == 200
    response = editor.post(
        reverse("admin:webhooks_webhooksubscription_add"),
        {
            "feed": live_feed.pk,
            "url": "https://partner.example/hook",
            "secret": SECRET,
            "events": ["entry.created"],
            "active": "on",
        },
    )
    assert response.status_code == 302
    assert WebhookSubscription.objects.get().events == ["entry.created"]


def test_the_admin_refuses_a_private_url_and_no_events(webhook_settings, publisher, live_feed):
    webhook_settings.LIVEFEED = {**webhook_settings.LIVEFEED, "OUTBOUND_ALLOW_PRIVATE": False}
    client = Client()
    client.force_login(publisher)
    response = client.post(
        reverse("admin:webhooks_webhooksubscription_add"),
        {
            "feed": live_feed.pk,
            "url": "http://127.0.0.1:6379/",
            "secret": SECRET,
            "active": "on",
        },
    )
    html = response.content.decode()
    assert (
        response.status_code == 200
        and "private or local address" in html
        and "This field is required" in html
    )
    assert not WebhookSubscription.objects.exists()


def test_acknowledged_deliveries_are_pruned_after_the_keep_days(publisher, live_feed, receiver):
    subscription = subscribe(live_feed, publisher, receiver.url)
    post(live_feed, publisher, "Old news")
    deliver_all(subscription)
    WebhookDelivery.objects.update(delivered_at=timezone.now() - timedelta(days=8))
    post(live_feed, publisher, "Fresh")
    deliver_all(subscription)
    assert [row.seq for row in WebhookDelivery.objects.all()] == [Feed.objects.get().seq]


def test_a_receiver_that_does_not_answer_in_time_is_a_failure(
    webhook_settings, publisher, live_feed, receiver
):
    webhook_settings.LIVEFEED = {**webhook_settings.LIVEFEED, "WEBHOOK_TIMEOUT": 0.5}
    subscription = subscribe(live_feed, publisher, receiver.url)
    receiver.hold()
    post(live_feed, publisher, "Lap 1")
    delivery.deliver_pending(subscription_id=subscription.pk)
    row = WebhookDelivery.objects.get()
    assert row.status == "pending" and row.attempts == 1 and row.error == "No answer within 0.5 s."


@pytest.mark.django_db(transaction=True)
def test_a_hanging_receiver_does_not_hold_up_posting_or_other_workers(publisher, live_feed, receiver):
    subscription = subscribe(live_feed, publisher, receiver.url)
    release = receiver.hold()
    post(live_feed, publisher, "Lap 1")
    worker = threading.Thread(target=delivery.deliver_pending, kwargs={"subscription_id": subscription.pk})
    worker.start()
    receiver.wait_for(1)  # the worker is now waiting for the receiver
    # Posting goes on while the receiver hangs, and only writes the outbox row.
    second = post(live_feed, publisher, "Lap 2")
    assert not release.is_set() and worker.is_alive()
    assert WebhookDelivery.objects.filter(seq=second.seq, status="pending").exists()
    # A second worker finds the subscription taken and leaves it alone.
    assert delivery.deliver_pending(subscription_id=subscription.pk) == 0
    assert len(receiver.requests) == 1
    release.set()
    worker.join(10)
    assert not worker.is_alive()
    # The worker that held it looked again before leaving, so Lap 2 followed Lap 1.
    requests = receiver.wait_for(2)
    assert [body["entry"]["html"] for body in bodies(requests)] == ["<p>Lap 1</p>", "<p>Lap 2</p>"]
    assert WebhookDelivery.objects.filter(status="delivered").count() == 2


def standard_verifier(secret: str):
    """A partner's check with the published Standard Webhooks library; True when it verifies."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    def verify(request) -> bool:
        try:
            Webhook(secret).verify(request.body, request.headers)
        except WebhookVerificationError:
            return False
        return True

    return verify


def test_deliveries_verify_with_the_standard_webhooks_library(publisher, live_feed, receiver):
    subscription = subscribe(live_feed, publisher, receiver.url + "/hook")
    subscription.secret = new_secret()
    subscription.save()
    receiver.verify = standard_verifier(subscription.secret)
    entry = post(live_feed, publisher, "Green flag")
    deliver_all(subscription)
    (request,) = receiver.wait_acknowledged(1)
    assert request.headers["webhook-id"] == str(WebhookDelivery.objects.get().delivery_id)
    assert json.loads(request.body)["entry"]["id"] == entry.pk
    assert not standard_verifier(new_secret())(request)
    tampered = Request(request.method, request.path, request.headers, request.body.replace(b"Green", b"Red"))
    assert not standard_verifier(subscription.secret)(tampered)


def test_a_secret_without_the_whsec_prefix_verifies_in_its_standard_form(publisher, live_feed, receiver):
    subscription = subscribe(live_feed, publisher, receiver.url + "/hook")
    receiver.verify = standard_verifier(signing.standard_secret(SECRET))
    post(live_feed, publisher, "Green flag")
    deliver_all(subscription)
    assert len(receiver.wait_acknowledged(1)) == 1


def test_rotating_a_secret_never_fails_a_delivery(publisher, live_feed, receiver):
    subscription = subscribe(live_feed, publisher, receiver.url + "/hook")
    old_secret = subscription.secret = new_secret()
    subscription.save()
    receiver.verify = standard_verifier(old_secret)
    post(live_feed, publisher, "Before the rotation")
    deliver_all(subscription)

    subscriptions.rotate_secret(subscription=subscription, by=publisher)
    new = WebhookSubscription.objects.get(pk=subscription.pk).secret
    assert new != old_secret and new.startswith("whsec_")
    post(live_feed, publisher, "The partner still checks with the old secret")
    deliver_all(subscription)
    receiver.verify = standard_verifier(new)  # the partner switches when it is ready
    post(live_feed, publisher, "Now with the new one")
    deliver_all(subscription)

    assert [request.answered for request in receiver.requests] == [204, 204, 204]
    assert not WebhookDelivery.objects.filter(status="pending").exists()
    # After the overlap, the old secret no longer signs.
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        retiring_secrets=[
            {"secret": old_secret, "until": (timezone.now() - timedelta(seconds=1)).isoformat()}
        ]
    )
    receiver.verify = standard_verifier(old_secret)
    post(live_feed, publisher, "Old secret retired")
    delivery.deliver_pending(subscription_id=subscription.pk)
    assert receiver.wait_for(4)[-1].answered == 401
