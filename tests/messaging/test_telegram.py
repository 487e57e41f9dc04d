"""Telegram's webhook: secret checks, linking, posting as the linked user under their role,
formatting, photos, edits, redeliveries and bad input."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from feeds import services
from feeds.messaging.models import LinkCode, MessagingAccount, MessagingDelivery, MessagingEntry
from feeds.models import Entry
from tests.fixtures import telegram_updates as tg
from tests.messaging.conftest import desk_link_code, jpeg_bytes, send_telegram

pytestmark = pytest.mark.django_db


def nothing_written() -> bool:
    return not Entry.objects.exists() and not MessagingEntry.objects.exists()


# --- Off, secrets, bad input ------------------------------------------------------------------


def test_webhook_answers_404_and_writes_nothing_while_telegram_is_off(
    settings, bot_api, publisher, link, live_feed
):
    link(publisher)
    settings.MESSAGING = {"TELEGRAM_API_URL": bot_api.url}
    response = send_telegram(tg.text_update("Green flag"))
    assert response.status_code == 404
    assert nothing_written() and not MessagingDelivery.objects.exists() and bot_api.requests == []


@pytest.mark.parametrize("secret", [None, "", "webhook-secret_0123456788", "x" * 300])
def test_missing_or_wrong_secret_is_refused_with_403_and_nothing_written(
    messaging_on, publisher, link, secret
):
    link(publisher)
    response = send_telegram(tg.text_update("Green flag"), secret=secret)
    assert response.status_code == 403
    assert nothing_written() and not MessagingDelivery.objects.exists() and messaging_on.requests == []


def test_malformed_json_answers_400_and_writes_nothing(messaging_on, publisher, link):
    link(publisher)
    response = send_telegram(None, raw=b'{"update_id": 5, "message": {')
    assert response.status_code == 400 and response.json()["detail"] == "The body is not JSON."
    assert nothing_written() and not MessagingDelivery.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([1, 2], "JSON object"),
        ({"message": {}}, "update_id"),
        ({"update_id": "7", "message": {}}, "update_id"),
        ({"update_id": 7, "message": "Green flag"}, "message"),
        (
            {"update_id": 7, "message": {"message_id": 1, "chat": {"id": "x"}, "text": "hi"}},
            "message.chat.id",
        ),
        ({"update_id": 7, "message": {**tg.message(text="hi"), "photo": [{"width": 5}]}}, "message.photo"),
    ],
)
def test_malformed_update_answers_400_naming_the_field(messaging_on, publisher, link, payload, field):
    link(publisher)
    response = send_telegram(payload)
    assert response.status_code == 400 and field in response.json()["detail"]
    assert nothing_written()


def test_unknown_update_type_answers_200_and_is_ignored(messaging_on, publisher, link):
    link(publisher)
    response = send_telegram(tg.callback_query_update())
    assert response.status_code == 200 and response.json()["result"] == "ignored"
    assert "callback_query" in response.json()["detail"] and nothing_written()


# --- Linking ----------------------------------------------------------------------------------


def test_a_code_from_the_desk_links_the_account_and_its_messages_post_as_that_user(
    messaging_on, make_member, live_feed
):
    editor = make_member("Editor", "erin")
    desk = Client()
    desk.force_login(editor)
    code = desk_link_code(desk, live_feed)

    assert send_telegram(tg.text_update(f"/link {code.lower()}")).json()["result"] == "linked"
    assert send_telegram(tg.text_update(f"/feed {live_feed.slug}")).json()["result"] == "command"
    response = send_telegram(tg.text_update("Green flag at Harbor City"))

    assert response.json()["result"] == "posted"
    entry = Entry.objects.get()
    assert entry.author == editor and entry.feed == live_feed and entry.status == Entry.Status.PUBLISHED
    assert entry.html == "<p>Green flag at Harbor City</p>" and entry.seq is not None
    account = MessagingAccount.objects.get()
    assert account.user == editor and account.display_name == "@rita_porter"
    replies = messaging_on.sent_texts()
    assert replies[0].startswith("Linked to Livefeed as Erin") and "published at once" in replies[1]
    assert all(call.body["chat_id"] == tg.REPORTER["id"] for call in messaging_on.calls("/sendMessage"))


def test_a_link_code_is_stored_only_as_a_hash(messaging_on, make_member, live_feed):
    desk = Client()
    desk.force_login(make_member("Editor", "erin"))
    code = desk_link_code(desk, live_feed)
    stored = LinkCode.objects.get()
    assert code.replace("-", "") not in stored.code_hash and len(stored.code_hash) == 64


def test_a_used_link_code_is_refused(messaging_on, make_member, live_feed):
    desk = Client()
    desk.force_login(make_member("Editor", "erin"))
    code = desk_link_code(desk, live_feed)
    assert send_telegram(tg.text_update(f"/link {code}")).json()["result"] == "linked"

    response = send_telegram(tg.text_update(f"/link {code}", sender=tg.STRANGER))

    assert response.json()["result"] == "refused"
    assert not MessagingAccount.objects.filter(external_id=str(tg.STRANGER["id"])).exists()
    assert "expired or already used" in messaging_on.sent_texts()[-1]


def test_an_expired_link_code_is_refused(messaging_on, make_member, live_feed):
    desk = Client()
    desk.force_login(make_member("Editor", "erin"))
    code = desk_link_code(desk, live_feed)
    LinkCode.objects.update(expires_at=timezone.now() - timezone.timedelta(seconds=1))

    assert send_telegram(tg.text_update(f"/link {code}")).json()["result"] == "refused"
    assert not MessagingAccount.objects.exists()
    assert send_telegram(tg.text_update("Green flag")).json()["result"] == "refused"
    assert nothing_written()


def test_unlinked_account_is_answered_how_to_link_and_nothing_posted(messaging_on, publisher, link):
    link(publisher)
    response = send_telegram(tg.text_update("Green flag", sender=tg.STRANGER))
    assert response.status_code == 200 and response.json()["result"] == "refused"
    assert nothing_written()
    [reply] = messaging_on.calls("/sendMessage")
    assert reply.body["chat_id"] == tg.STRANGER["id"] and "/link CODE" in reply.body["text"]


def test_unlink_stops_posting(messaging_on, publisher, link):
    link(publisher)
    assert send_telegram(tg.text_update("/unlink")).json()["result"] == "command"
    assert send_telegram(tg.text_update("Green flag")).json()["result"] == "refused"
    assert nothing_written()


# --- Feeds and roles --------------------------------------------------------------------------


def test_feeds_lists_open_feeds_and_feed_chooses_one(messaging_on, publisher, link, live_feed):
    account = link(publisher)
    account.feed = None
    account.save()
    services.create_feed(by=publisher, title="Old Race", slug="old-race", status="ended")
    services.create_feed(by=publisher, title="Next Race", slug="next-race")

    assert send_telegram(tg.text_update("Before choosing")).json()["result"] == "refused"
    assert "Choose a feed first" in messaging_on.sent_texts()[-1]
    send_telegram(tg.text_update("/feeds"))
    listing = messaging_on.sent_texts()[-1]
    assert (
        "night-race — Night Race (Live)" in listing and "next-race" in listing and "old-race" not in listing
    )
    assert send_telegram(tg.text_update("/feed old-race")).json()["result"] == "refused"
    send_telegram(tg.text_update("/feed next-race"))
    send_telegram(tg.text_update("Practice starts"))
    assert Entry.objects.get().feed.slug == "next-race"


@pytest.mark.parametrize(("role", "status"), [("Contributor", "draft"), ("Editor", "published")])
def test_a_contributors_messages_arrive_as_drafts_and_an_editors_are_published(
    messaging_on, make_member, link, role, status
):
    link(make_member(role, "reporter"))
    send_telegram(tg.text_update("Caution for debris"))
    entry = Entry.objects.get()
    assert entry.status == status
    assert (entry.seq is None) == (status == "draft"), "a draft takes no seq and reaches no reader"


def test_formatting_entities_are_kept_as_markdown_and_rendered_sanitized(messaging_on, publisher, link):
    link(publisher)
    text = "🏁 Bold italic code link https://example.com/live bad\nprint(lap)"
    entities = [
        tg.entity("bold", 3, 11),
        tg.entity("italic", 8, 6),
        tg.entity("code", 15, 4),
        tg.entity("text_link", 20, 4, url="https://example.com/story?a=1&b=2"),
        tg.entity("url", 25, 24),
        tg.entity("text_link", 50, 3, url="javascript:alert(1)"),
        tg.entity("pre", 54, 10, language="python"),
    ]
    send_telegram(tg.text_update(text, entities=entities))
    entry = Entry.objects.get()
    assert entry.body.startswith("🏁 **Bold *italic***")
    assert entry.html == (
        "<p>🏁 <strong>Bold <em>italic</em></strong> <code>code</code> "
        '<a href="https://example.com/story?a=1&amp;b=2" rel="noopener noreferrer nofollow ugc">link</a> '
        '<a href="https://example.com/live" rel="noopener noreferrer nofollow ugc">https://example.com/live</a> '
        "bad</p>\n<pre><code>print(lap)\n</code></pre>"
    )


def test_markdown_typed_as_plain_text_shows_as_typed(messaging_on, publisher, link):
    link(publisher)
    send_telegram(
        tg.text_update("<script>alert(1)</script> *not bold* [x](javascript:alert(1))\n# 1. not a heading")
    )
    html = Entry.objects.get().html
    assert html == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt; *not bold* [x](javascript:alert(1))\n# 1. not a heading</p>"
    )


# --- Photos -----------------------------------------------------------------------------------


def test_a_photo_becomes_an_image_entry_with_its_caption(messaging_on, publisher, link, media_root):
    link(publisher)
    messaging_on.add_file("pit-800", jpeg_bytes(800, 533))
    sizes = tg.photo_sizes("pit")
    message = tg.message(
        photo=sizes, caption="Pit stop for No. 24", caption_entities=[tg.entity("bold", 0, 8)]
    )

    response = send_telegram(tg.update(message))

    assert response.json()["result"] == "posted"
    entry = Entry.objects.get()
    assert entry.kind == Entry.Kind.IMAGE and entry.author == publisher
    assert entry.body == "**Pit stop** for No. 24" and entry.details["alt"] == "Pit stop for No. 24"
    assert entry.details["width"] == 800 and entry.image.name.endswith(".webp")
    assert '<img src="/media/entries/' in entry.html and "<strong>Pit stop</strong>" in entry.html
    [get_file] = messaging_on.calls("/getFile")
    assert get_file.body == {"file_id": "pit-800"}, "the largest size is fetched"
    assert [r.path for r in messaging_on.requests if r.method == "GET"] == [
        f"/telegram/file/bot{get_file.path.split('/bot')[1].split('/')[0]}/photos/file_0.jpg"
    ]


def test_a_photo_that_is_not_an_image_is_refused_and_nothing_written(
    messaging_on, publisher, link, media_root
):
    link(publisher)
    messaging_on.add_file("fake-800", b"%PDF-1.7 not an image at all")
    response = send_telegram(tg.update(tg.message(photo=tg.photo_sizes("fake"))))
    assert response.status_code == 200 and response.json()["result"] == "refused"
    assert nothing_written()
    assert not media_root.exists() or not any(path.is_file() for path in media_root.rglob("*"))
    assert "not a JPEG, PNG or WebP image" in messaging_on.sent_texts()[-1]


def test_an_oversized_photo_is_refused_without_downloading_it(messaging_on, publisher, link, settings):
    link(publisher)
    settings.MAX_IMAGE_BYTES = 1000
    response = send_telegram(tg.update(tg.message(photo=tg.photo_sizes("huge"))))
    assert response.json()["result"] == "refused" and nothing_written()
    assert messaging_on.calls("/getFile") == [] and "larger than" in messaging_on.sent_texts()[-1]


def test_a_download_larger_than_the_limit_is_cut_off_and_refused(
    messaging_on, publisher, link, settings, media_root
):
    link(publisher)
    settings.MAX_IMAGE_BYTES = 5000
    messaging_on.add_file("liar-320", jpeg_bytes(320, 213) + b"\0" * 200_000)
    messaging_on.unsized_file_ids.add("liar-320")
    sizes = [
        {key: value for key, value in size.items() if key != "file_size"}
        for size in tg.photo_sizes("liar", sizes=((320, 213, 0),))
    ]
    response = send_telegram(tg.update(tg.message(photo=sizes)))
    assert response.json()["result"] == "refused" and nothing_written()
    assert len(messaging_on.calls("/getFile")) == 1 and "larger than" in messaging_on.sent_texts()[-1]


def test_a_failed_download_answers_503_so_telegram_redelivers_and_nothing_is_lost(
    messaging_on, publisher, link, media_root
):
    link(publisher)
    messaging_on.add_file("flaky-800", jpeg_bytes())
    messaging_on.failing_file_ids.add("flaky-800")
    update = tg.update(tg.message(photo=tg.photo_sizes("flaky")))

    assert send_telegram(update).status_code == 503
    assert nothing_written() and not MessagingDelivery.objects.exists()

    messaging_on.failing_file_ids.clear()
    assert send_telegram(update).json()["result"] == "posted"
    assert Entry.objects.get().kind == Entry.Kind.IMAGE


# --- Edits and redeliveries -------------------------------------------------------------------


def test_an_edited_message_updates_its_entry(messaging_on, publisher, link):
    link(publisher)
    original = tg.message(text="Leader pits on lap 45")
    send_telegram(tg.update(original))
    entry = Entry.objects.get()

    edited = {**original, "text": "Leader pits on lap 46", "entities": [tg.entity("italic", 15, 3)]}
    response = send_telegram(tg.update(edited, kind="edited_message"))

    assert response.json()["result"] == "updated"
    entry.refresh_from_db()
    assert entry.html == "<p>Leader pits on <em>lap</em> 46</p>" and entry.version == 2
    assert Entry.objects.count() == 1


def test_an_edit_of_a_message_that_is_no_entry_is_ignored(messaging_on, publisher, link):
    link(publisher)
    response = send_telegram(tg.update(tg.message(text="never posted"), kind="edited_message"))
    assert response.json()["result"] == "ignored" and nothing_written()


def test_a_contributor_cannot_edit_an_entry_once_an_editor_published_it(
    messaging_on, make_member, link, publisher
):
    link(make_member("Contributor", "casey"))
    original = tg.message(text="Draft from the pits")
    send_telegram(tg.update(original))
    entry = Entry.objects.get()
    services.update_entry(entry=entry, by=publisher, status=Entry.Status.PUBLISHED)

    response = send_telegram(
        tg.update({**original, "text": "Changed after publication"}, kind="edited_message")
    )

    assert response.json()["result"] == "refused"
    entry.refresh_from_db()
    assert entry.body == "Draft from the pits"
    assert "Not posted: You may only edit your own drafts." == messaging_on.sent_texts()[-1]


def test_a_redelivered_update_posts_once(messaging_on, publisher, link):
    link(publisher)
    update = tg.text_update("Green flag")
    first, second = send_telegram(update), send_telegram(update)
    assert first.json()["result"] == "posted" and second.json()["result"] == "duplicate"
    assert Entry.objects.count() == 1 and MessagingEntry.objects.count() == 1
    edit = tg.update({**update["message"], "text": "Green flag, lap 1"}, kind="edited_message")
    assert (
        send_telegram(edit).json()["result"] == "updated"
        and send_telegram(edit).json()["result"] == "duplicate"
    )
    assert Entry.objects.get().version == 2


def test_a_redelivered_link_command_is_a_no_op_not_a_refusal(messaging_on, make_member, live_feed):
    desk = Client()
    desk.force_login(make_member("Editor", "erin"))
    update = tg.text_update(f"/link {desk_link_code(desk, live_feed)}")
    assert send_telegram(update).json()["result"] == "linked"
    assert send_telegram(update).json()["result"] == "duplicate"
    assert len(messaging_on.calls("/sendMessage")) == 1
