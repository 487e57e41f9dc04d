"""The desk's WebSocket: staff only, same origin only, drafts included, readers counted."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from feeds import presence, services
from livefeed.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = b"http://127.0.0.1:8000"


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def open_desk(
    slug: str, *, cookie: bytes = b"", origin: bytes = ORIGIN
) -> tuple[WebsocketCommunicator, bool, int | None]:
    headers = [(b"origin", origin), (b"host", b"127.0.0.1:8000")]
    if cookie:
        headers.append((b"cookie", cookie))
    communicator = WebsocketCommunicator(application, f"/ws/desk/{slug}/", headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def next_message(communicator: WebsocketCommunicator, wanted: str) -> dict:
    while True:
        message = json.loads(await communicator.receive_from(timeout=10))
        if message["type"] == wanted:
            return message


async def test_staff_see_other_editors_drafts_live(make_member, publisher, live_feed):
    contributor = await database_sync_to_async(make_member)("Contributor", "casey")
    cookie = await database_sync_to_async(session_cookie)(publisher)
    desk, connected, _ = await open_desk(live_feed.slug, cookie=cookie)
    assert connected
    await database_sync_to_async(services.create_entry)(
        feed=live_feed, by=contributor, body="embargoed", status="draft"
    )
    message = await next_message(desk, "entry.updated")
    assert message["entry"]["status"] == "draft" and message["entry"]["body"] == "embargoed"
    assert message["entry"]["author"] == "Casey"
    await desk.disconnect()


async def test_without_a_session_the_desk_socket_is_closed_with_4403(live_feed):
    desk, connected, _ = await open_desk(live_feed.slug)
    assert connected
    assert (await desk.receive_output(timeout=10))["code"] == 4403


async def test_the_desk_socket_refuses_other_origins(publisher, live_feed):
    cookie = await database_sync_to_async(session_cookie)(publisher)
    _, connected, _ = await open_desk(live_feed.slug, cookie=cookie, origin=b"https://evil.example")
    assert not connected


async def test_the_desk_counts_the_feeds_readers(publisher, live_feed):
    cookie = await database_sync_to_async(session_cookie)(publisher)
    # Counts start from zero in every test: no reader of an earlier test is still counted.
    assert await presence.reader_count(feed_slug=live_feed.slug) == 0
    readers = []
    for _ in range(3):
        reader = WebsocketCommunicator(application, f"/ws/feeds/{live_feed.slug}/")
        assert (await reader.connect())[0]
        readers.append(reader)
    desk, connected, _ = await open_desk(live_feed.slug, cookie=cookie)
    assert connected
    assert (await next_message(desk, "readers"))["count"] == 3
    await readers.pop().disconnect()
    assert (await next_message(desk, "readers"))["count"] == 2
    for reader in readers:
        await reader.disconnect()
    await desk.disconnect()


async def outputs_until_close(communicator: WebsocketCommunicator) -> list[dict]:
    outputs = []
    while True:
        output = await communicator.receive_output(timeout=10)
        outputs.append(output)
        if output["type"] == "websocket.close":
            return outputs


def revoke_staff(user) -> None:
    type(user).objects.filter(pk=user.pk).update(is_staff=False)


def end_sessions(user) -> None:
    from django.contrib.sessions.models import Session

    for session in Session.objects.all():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()


@pytest.mark.parametrize("revoke", [revoke_staff, end_sessions], ids=["role-revoked", "logged-out"])
async def test_a_revoked_editor_stops_receiving_drafts(make_member, publisher, live_feed, revoke):
    editor = await database_sync_to_async(make_member)("Editor", "dana")
    cookie = await database_sync_to_async(session_cookie)(editor)
    desk, connected, _ = await open_desk(live_feed.slug, cookie=cookie)
    assert connected
    create = database_sync_to_async(services.create_entry)
    await create(feed=live_feed, by=publisher, body="before revocation", status="draft")
    assert (await next_message(desk, "entry.updated"))["entry"]["body"] == "before revocation"
    await database_sync_to_async(revoke)(editor)
    await create(feed=live_feed, by=publisher, body="after revocation", status="draft")
    outputs = await outputs_until_close(desk)
    assert outputs[-1] == {"type": "websocket.close", "code": 4403}
    assert not any("after revocation" in output.get("text", "") for output in outputs)


async def test_an_idle_desk_is_closed_once_its_session_ends(make_member, live_feed):
    """No change needed: the periodic check closes it too."""
    editor = await database_sync_to_async(make_member)("Editor", "dana")
    cookie = await database_sync_to_async(session_cookie)(editor)
    desk, connected, _ = await open_desk(live_feed.slug, cookie=cookie)
    assert connected
    assert (await next_message(desk, "readers"))["count"] == 0
    await database_sync_to_async(end_sessions)(editor)
    assert (await outputs_until_close(desk))[-1] == {"type": "websocket.close", "code": 4403}
