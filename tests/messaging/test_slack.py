"""Slack's Events API endpoint: signatures and replays, the url_verification handshake, linking,
mapped channels, roles, edits and deletions mirrored, retries and bad input."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse

from feeds.messaging.models import MessagingAccount, MessagingDelivery, MessagingEntry, Platform
from feeds.models import Entry
from tests.fixtures import slack_events as sl
from tests.fixtures.bot_api import SLACK_TOKEN
from tests.messaging.conftest import desk_link_code, send_slack

pytestmark = pytest.mark.django_db


def nothing_written() -> bool:
    return (
        not Entry.objects.exists()
        and not MessagingEntry.objects.exists()
        and not MessagingDelivery.objects.exists()
    )


# --- Off, signatures, replays, bad input ------------------------------------------------------


def test_endpoint_answers_404_and_writes_nothing_while_slack_is_off(settings, publisher, link, slack_channel):
    link(publisher, platform=Platform.SLACK)
    settings.MESSAGING = {}
    response = send_slack(sl.event_callback(sl.message("Green flag")))
    assert response.status_code == 404 and nothing_written()


def test_url_verification_answers_the_challenge(messaging_on):
    response = send_slack(sl.url_verification("challenge-abc"))
    assert response.status_code == 200 and response.json() == {"challenge": "challenge-abc"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Request-Timestamp": str(int(time.time()))},
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=" + "0" * 64},
    ],
    ids=["missing", "no-signature", "wrong-signature", "bad-timestamp"],
)
def test_missing_or_bad_signature_is_refused_with_403_and_nothing_written(
    messaging_on, publisher, link, slack_channel, headers
):
    link(publisher, platform=Platform.SLACK)
    response = send_slack(sl.event_callback(sl.message("Green flag")), headers=headers)
    assert response.status_code == 403 and nothing_written()


def test_a_signature_made_with_another_secret_is_refused(messaging_on, publisher, link, slack_channel):
    link(publisher, platform=Platform.SLACK)
    response = send_slack(sl.event_callback(sl.message("Green flag")), secret="another-workspace-secret")
    assert response.status_code == 403 and nothing_written()


def test_a_body_changed_after_signing_is_refused(messaging_on, publisher, link, slack_channel):
    link(publisher, platform=Platform.SLACK)
    body = sl.encode(sl.event_callback(sl.message("Green flag")))
    headers = sl.signed_headers(body)
    response = send_slack(None, raw=body.replace(b"Green", b"Red"), headers=headers)
    assert response.status_code == 403 and nothing_written()


@pytest.mark.parametrize(
    "age", [301, 6 * 60, 3600, -400], ids=["just-over-5-min", "6-min", "1-hour", "future"]
)
def test_a_replayed_request_with_an_old_timestamp_is_refused(
    messaging_on, publisher, link, slack_channel, age
):
    link(publisher, platform=Platform.SLACK)
    response = send_slack(sl.event_callback(sl.message("Green flag")), timestamp=int(time.time()) - age)
    assert response.status_code == 403 and nothing_written()


def test_a_request_signed_within_five_minutes_is_accepted(messaging_on, publisher, link, slack_channel):
    link(publisher, platform=Platform.SLACK)
    response = send_slack(sl.event_callback(sl.message("Green flag")), timestamp=int(time.time()) - 240)
    assert response.status_code == 200 and response.json()["result"] == "posted"


def test_malformed_json_answers_400_and_writes_nothing(messaging_on, slack_channel):
    response = send_slack(None, raw=b'{"type": "event_callback", ')
    assert response.status_code == 400 and response.json()["detail"] == "The body is not JSON."
    assert nothing_written()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "event_callback", "event": {"type": "message"}}, "event_id"),
        ({"type": "event_callback", "event_id": "Ev1", "event": "hello"}, "event.type"),
        (
            sl.event_callback({"type": "message", "channel": sl.CHANNEL, "text": "no user", "ts": "1.2"}),
            "event.user",
        ),
        (sl.event_callback({**sl.message("x"), "subtype": "message_changed"}), "event.message"),
    ],
)
def test_a_malformed_event_answers_400_naming_the_field(
    messaging_on, publisher, link, slack_channel, payload, field
):
    link(publisher, platform=Platform.SLACK)
    response = send_slack(payload)
    assert response.status_code == 400 and field in response.json()["detail"]
    assert not Entry.objects.exists()


@pytest.mark.parametrize(
    "event",
    [
        {"type": "reaction_added", "user": sl.MEMBER, "reaction": "checkered_flag", "event_ts": "1.1"},
        sl.message("joined", subtype="channel_join"),
        sl.message("automated", subtype="bot_message", bot_id="B0BOT"),
        sl.message("from another app", bot_id="B0BOT"),
        sl.message("in a thread", thread_ts="1764100000.000001"),
        sl.message("elsewhere", channel="C0UNMAPPED"),
        sl.message("", subtype="file_share", files=[{"id": "F0PHOTO", "name": "grid.jpg"}]),
    ],
    ids=[
        "other-event",
        "channel-join",
        "bot-message",
        "bot-id",
        "thread-reply",
        "unmapped-channel",
        "file-only",
    ],
)
def test_events_that_are_not_entries_answer_200_and_post_nothing(
    messaging_on, publisher, link, slack_channel, event
):
    link(publisher, platform=Platform.SLACK)
    response = send_slack(sl.event_callback(event))
    assert response.status_code == 200 and response.json()["result"] == "ignored"
    assert not Entry.objects.exists()


def test_other_delivery_types_answer_200(messaging_on):
    response = send_slack({"type": "app_rate_limited", "team_id": sl.TEAM, "minute_rate_limited": 1518467820})
    assert response.status_code == 200 and response.json()["result"] == "ignored"


# --- Linking and roles ------------------------------------------------------------------------


def test_link_code_from_the_desk_maps_the_member_and_their_messages_post_as_that_user(
    messaging_on, make_member, live_feed, slack_channel
):
    contributor = make_member("Contributor", "casey")
    desk = Client()
    desk.force_login(contributor)
    code = desk_link_code(desk, live_feed)

    linked = send_slack(sl.event_callback(sl.message(f"link {code}")))
    posted = send_slack(sl.event_callback(sl.message("Pit window opens")))

    assert linked.json()["result"] == "linked" and posted.json()["result"] == "posted"
    account = MessagingAccount.objects.get()
    assert (account.platform, account.external_id, account.user) == ("slack", sl.MEMBER, contributor)
    entry = Entry.objects.get()
    assert entry.author == contributor and entry.status == Entry.Status.DRAFT and entry.feed == live_feed
    [reply] = messaging_on.calls("/chat.postEphemeral")
    assert reply.body["channel"] == sl.CHANNEL and reply.body["user"] == sl.MEMBER
    assert reply.body["text"].startswith("Linked to Livefeed as Casey")
    assert reply.headers["Authorization"] == f"Bearer {SLACK_TOKEN}"


def test_a_reused_link_code_is_refused(messaging_on, make_member, live_feed, slack_channel):
    desk = Client()
    desk.force_login(make_member("Editor", "erin"))
    code = desk_link_code(desk, live_feed)
    send_slack(sl.event_callback(sl.message(f"link {code}")))
    response = send_slack(sl.event_callback(sl.message(f"link {code}", user=sl.STRANGER)))
    assert response.json()["result"] == "refused"
    assert not MessagingAccount.objects.filter(external_id=sl.STRANGER).exists()


def test_a_member_id_set_in_the_admin_links_the_member(messaging_on, make_member, slack_channel):
    editor = make_member("Editor", "erin")
    admin = Client()
    admin.force_login(make_member("superuser", "root"))
    response = admin.post(
        reverse("admin:messaging_messagingaccount_add"),
        {
            "platform": "slack",
            "external_id": sl.MEMBER,
            "display_name": "Erin",
            "user": editor.pk,
            "feed": "",
        },
    )
    assert response.status_code == 302
    send_slack(sl.event_callback(sl.message("Green flag")))
    assert Entry.objects.get().author == editor


def test_an_unmapped_members_message_is_not_posted_and_answered_privately(
    messaging_on, publisher, link, slack_channel
):
    link(publisher, platform=Platform.SLACK)
    response = send_slack(sl.event_callback(sl.message("Green flag", user=sl.STRANGER)))
    assert response.status_code == 200 and response.json()["result"] == "refused"
    assert not Entry.objects.exists()
    [reply] = messaging_on.calls("/chat.postEphemeral")
    assert reply.body["user"] == sl.STRANGER and "link CODE" in reply.body["text"]


@pytest.mark.parametrize(("role", "status"), [("Contributor", "draft"), ("Editor", "published")])
def test_a_contributors_messages_arrive_as_drafts_and_an_editors_are_published(
    messaging_on, make_member, link, slack_channel, role, status
):
    link(make_member(role, "reporter"), platform=Platform.SLACK)
    send_slack(sl.event_callback(sl.message("Caution for debris")))
    assert Entry.objects.get().status == status


def test_the_text_of_a_message_sharing_a_file_is_posted(messaging_on, publisher, link, slack_channel):
    link(publisher, platform=Platform.SLACK)
    send_slack(sl.event_callback(sl.message("Grid photo", subtype="file_share", files=[{"id": "F0PHOTO"}])))
    assert Entry.objects.get().html == "<p>Grid photo</p>"


def test_slack_formatting_becomes_sanitized_html(messaging_on, publisher, link, slack_channel):
    link(publisher, platform=Platform.SLACK)
    text = "*Green* _flag_ ~red~ `lap_1` <https://example.com/a?b=1&amp;c=2|story> <@U0OTHER> &lt;script&gt;"
    send_slack(sl.event_callback(sl.message(text)))
    assert Entry.objects.get().html == (
        "<p><strong>Green</strong> <em>flag</em> <s>red</s> <code>lap_1</code> "
        '<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow ugc">story</a> '
        "@U0OTHER &lt;script&gt;</p>"
    )


# --- Edits, deletions, retries ----------------------------------------------------------------


def test_an_edited_message_updates_its_entry(messaging_on, publisher, link, slack_channel):
    link(publisher, platform=Platform.SLACK)
    original = sl.message("Leader pits on lap 45")
    send_slack(sl.event_callback(original))

    response = send_slack(
        sl.event_callback(
            sl.message_changed(
                ts=original["ts"], text="Leader pits on lap *46*", previous_text=original["text"]
            )
        )
    )

    assert response.json()["result"] == "updated"
    entry = Entry.objects.get()
    assert entry.html == "<p>Leader pits on lap <strong>46</strong></p>" and entry.version == 2


def test_a_deleted_message_deletes_its_entry(messaging_on, publisher, link, slack_channel):
    link(publisher, platform=Platform.SLACK)
    original = sl.message("Wrong driver named")
    send_slack(sl.event_callback(original))
    entry = Entry.objects.get()

    response = send_slack(
        sl.event_callback(sl.message_deleted(ts=original["ts"], previous_text=original["text"]))
    )

    assert response.json()["result"] == "deleted"
    entry.refresh_from_db()
    assert entry.is_tombstone and entry.html == ""
    assert not Entry.objects.visible_to_readers().exists()


def test_a_contributors_deletion_leaves_the_entry_for_an_editor(
    messaging_on, make_member, link, slack_channel
):
    link(make_member("Contributor", "casey"), platform=Platform.SLACK)
    original = sl.message("Draft from the pits")
    send_slack(sl.event_callback(original))

    response = send_slack(
        sl.event_callback(sl.message_deleted(ts=original["ts"], previous_text=original["text"]))
    )

    assert response.json()["result"] == "refused"
    assert not Entry.objects.get().is_tombstone
    assert messaging_on.sent_texts()[-1] == "Not deleted from Livefeed: You may not delete entries."


def test_a_retried_event_posts_once(messaging_on, publisher, link, slack_channel):
    link(publisher, platform=Platform.SLACK)
    payload = sl.event_callback(sl.message("Green flag"))
    first = send_slack(payload)
    body = sl.encode(payload)
    retry = send_slack(
        None,
        raw=body,
        headers={**sl.signed_headers(body), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert first.json()["result"] == "posted" and retry.json()["result"] == "duplicate"
    assert Entry.objects.count() == 1 and MessagingEntry.objects.count() == 1


def test_a_retried_edit_is_applied_once(messaging_on, publisher, link, slack_channel):
    link(publisher, platform=Platform.SLACK)
    original = sl.message("Lap 10")
    send_slack(sl.event_callback(original))
    edit = sl.event_callback(sl.message_changed(ts=original["ts"], text="Lap 11", previous_text="Lap 10"))
    assert send_slack(edit).json()["result"] == "updated"
    assert send_slack(edit).json()["result"] == "duplicate"
    assert Entry.objects.get().version == 2
