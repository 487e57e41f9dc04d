"""Safe retries: the same Idempotency-Key with the same request gets the first answer and writes
once, on the API and on the desk; a reused key for another request, or a malformed one, is refused."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from feeds import services
from feeds.models import Entry, Feed, IdempotencyKey

pytestmark = pytest.mark.django_db


def api_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {user.token}")
    return client


@pytest.fixture
def api(publisher) -> APIClient:
    return api_client(publisher)


def entries_path(feed: Feed) -> str:
    return f"/api/feeds/{feed.slug}/entries/"


def keyed(key: str) -> dict[str, str]:
    return {"HTTP_IDEMPOTENCY_KEY": key}


def test_same_key_and_request_returns_the_first_answer_and_writes_once(api, live_feed):
    key = str(uuid.uuid4())
    first = api.post(
        entries_path(live_feed), {"headline": "Green", "body": "Go"}, format="json", **keyed(key)
    )
    again = api.post(
        entries_path(live_feed), {"body": "Go", "headline": "Green"}, format="json", **keyed(key)
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Entry.objects.count() == 1
    assert Feed.objects.get(pk=live_feed.pk).seq == live_feed.seq + 1


def test_without_a_key_every_post_writes(api, live_feed):
    for _ in range(2):
        assert api.post(entries_path(live_feed), {"body": "Go"}, format="json").status_code == 201
    assert Entry.objects.count() == 2


def test_same_key_with_another_body_or_path_is_refused_with_422(api, publisher, live_feed):
    key = str(uuid.uuid4())
    assert api.post(entries_path(live_feed), {"body": "Go"}, format="json", **keyed(key)).status_code == 201
    other_body = api.post(entries_path(live_feed), {"body": "Stop"}, format="json", **keyed(key))
    assert other_body.status_code == 422
    assert (
        "Idempotency-Key" in other_body.json()["detail"]
        and "different request" in other_body.json()["detail"]
    )
    other_feed = services.create_feed(by=publisher, title="Day Race", slug="day-race", status="live")
    other_path = api.post(entries_path(other_feed), {"body": "Go"}, format="json", **keyed(key))
    assert other_path.status_code == 422
    assert list(Entry.objects.values_list("body", flat=True)) == ["Go"]


def test_different_users_with_the_same_key_are_independent(make_member, live_feed):
    key = str(uuid.uuid4())
    for user in (make_member("Editor", "eve"), make_member("Editor", "flo")):
        response = api_client(user).post(entries_path(live_feed), {"body": "Go"}, format="json", **keyed(key))
        assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert sorted(Entry.objects.values_list("author__username", flat=True)) == ["eve", "flo"]


def test_an_expired_key_is_not_replayed_and_is_purged(api, live_feed, settings):
    settings.LIVEFEED = {**settings.LIVEFEED, "IDEMPOTENCY_TTL_HOURS": 24}
    key = str(uuid.uuid4())
    api.post(entries_path(live_feed), {"body": "Go"}, format="json", **keyed(key))
    stored = IdempotencyKey.objects.get()
    assert timedelta(hours=23) < stored.expires_at - timezone.now() <= timedelta(hours=24)
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    later = api.post(entries_path(live_feed), {"body": "Go"}, format="json", **keyed(key))
    assert later.status_code == 201 and "Idempotent-Replayed" not in later
    assert Entry.objects.count() == 2
    assert IdempotencyKey.objects.get().pk != stored.pk


def test_patch_and_delete_are_applied_once(api, live_feed):
    entry_id = api.post(entries_path(live_feed), {"body": "v1"}, format="json").json()["id"]
    url = f"{entries_path(live_feed)}{entry_id}/"
    patch_key, delete_key = str(uuid.uuid4()), str(uuid.uuid4())
    edits = [api.patch(url, {"body": "v2"}, format="json", **keyed(patch_key)) for _ in range(2)]
    assert [e.status_code for e in edits] == [200, 200] and edits[0].json() == edits[1].json()
    assert Entry.objects.get().version == 2
    deletes = [api.delete(url, **keyed(delete_key)) for _ in range(2)]
    assert [d.status_code for d in deletes] == [204, 204] and deletes[1]["Idempotent-Replayed"] == "true"
    assert api.delete(url).status_code == 404  # without the key, the entry is gone


def test_feed_creation_and_change_are_applied_once(api, live_feed):
    feed, race = {"title": "Practice", "slug": "practice"}, {"race": {"flag": "yellow"}, "announce": True}
    feed_key, race_key = str(uuid.uuid4()), str(uuid.uuid4())
    created = [api.post("/api/feeds/", feed, format="json", **keyed(feed_key)) for _ in range(2)]
    assert [c.status_code for c in created] == [201, 201] and created[0].json() == created[1].json()
    for _ in range(2):
        response = api.patch(f"/api/feeds/{live_feed.slug}/", race, format="json", **keyed(race_key))
        assert response.status_code == 200
    assert Entry.objects.filter(kind="race_status").count() == 1


def test_a_deterministic_4xx_is_replayed_without_running_again(api, live_feed):
    key = str(uuid.uuid4())
    refused = api.post(entries_path(live_feed), {"body": ""}, format="json", **keyed(key))
    again = api.post(entries_path(live_feed), {"body": ""}, format="json", **keyed(key))
    assert refused.status_code == again.status_code == 400
    assert again.json() == refused.json() and "body" in again.json()
    assert again["Idempotent-Replayed"] == "true"


def test_a_server_error_is_not_kept_so_the_retry_writes(api, live_feed, monkeypatch):
    key = str(uuid.uuid4())
    real_create = services.create_entry

    def fail_once(**kwargs):
        monkeypatch.setattr(services, "create_entry", real_create)
        real_create(**kwargs)  # written, then the request fails: the write must roll back with the key
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "create_entry", fail_once)
    api.raise_request_exception = False
    failed = api.post(entries_path(live_feed), {"body": "Go"}, format="json", **keyed(key))
    assert failed.status_code == 500
    assert not Entry.objects.exists() and not IdempotencyKey.objects.exists()
    retried = api.post(entries_path(live_feed), {"body": "Go"}, format="json", **keyed(key))
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
    assert Entry.objects.count() == 1


@pytest.mark.parametrize("key", ["", "   ", "k" * 256, "caf\u00e9"])
def test_a_malformed_key_is_a_400_naming_the_header(api, live_feed, key):
    response = api.post(entries_path(live_feed), {"body": "Go"}, format="json", **keyed(key))
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert not Entry.objects.exists()


def test_a_key_of_255_characters_is_accepted(api, live_feed):
    response = api.post(entries_path(live_feed), {"body": "Go"}, format="json", **keyed("k" * 255))
    assert response.status_code == 201


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_write_one_entry(publisher, live_feed):
    retries = 6
    key = str(uuid.uuid4())
    barrier = threading.Barrier(retries)
    answers: list[tuple[int, bytes]] = []
    errors: list[BaseException] = []

    def retry() -> None:
        try:
            client = api_client(publisher)
            barrier.wait()
            response = client.post(
                entries_path(live_feed), {"body": "Safety car"}, format="json", **keyed(key)
            )
            answers.append((response.status_code, response.content))
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=retry) for _ in range(retries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Entry.objects.count() == 1
    assert {status for status, _ in answers} == {201} and len({body for _, body in answers}) == 1


@pytest.fixture
def desk(make_member) -> Client:
    client = Client()
    client.force_login(make_member("Editor", "eve"))
    return client


def test_the_desk_composer_posts_once_per_key(desk, live_feed):
    url = reverse("admin:feeds_desk_entries", args=[live_feed.pk])
    key = str(uuid.uuid4())
    answers = [
        desk.post(url, {"kind": "text", "body": "Pit stop", "publish": "on"}, **keyed(key)) for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [201, 201] and answers[0].json() == answers[1].json()
    assert Entry.objects.count() == 1
    refused = desk.post(url, {"kind": "text", "body": "Other text", "publish": "on"}, **keyed(key))
    assert refused.status_code == 422 and "Idempotency-Key" in refused.json()["detail"]
    assert desk.post(url, {"kind": "text", "body": "Pit stop"}, **keyed("")).status_code == 400


def test_the_desks_actions_are_applied_once_per_key(desk, publisher, live_feed):
    entry = services.create_entry(feed=live_feed, by=publisher, body="Leader pits", status="draft")
    entries_url = reverse("admin:feeds_desk_entries", args=[live_feed.pk])
    race_url = reverse("admin:feeds_desk_race", args=[live_feed.pk])
    status_url = reverse("admin:feeds_desk_status", args=[live_feed.pk])
    actions = [
        (f"{entries_url}{entry.pk}/", {"kind": "text", "body": "Leader pits, lap 50", "version": 1}),
        (f"{entries_url}{entry.pk}/", {"action": "publish"}),
        (
            f"{entries_url}{entry.pk}/restore/",
            {"history_id": entry.history.earliest("history_date").history_id},
        ),
        (status_url, {"status": "ended"}),
    ]
    for url, data in actions:
        key = str(uuid.uuid4())
        assert [desk.post(url, data, **keyed(key)).status_code for _ in range(2)] == [200, 200]
    assert Entry.objects.get().version == 4  # edit, publish, restore: one save each
    race = json.dumps({"changes": {"flag": "red"}, "announce": True})
    key = str(uuid.uuid4())
    for _ in range(2):
        assert desk.post(race_url, race, content_type="application/json", **keyed(key)).status_code == 200
    assert Entry.objects.filter(kind="race_status").count() == 1
    delete_key = str(uuid.uuid4())
    deleted = [desk.post(f"{entries_url}{entry.pk}/delete/", **keyed(delete_key)) for _ in range(2)]
    assert [d.status_code for d in deleted] == [200, 200]


def test_the_schema_documents_the_header_on_every_write():
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
            if "readers" in operation.get("tags", []):
                # What readers send (a vote, a reaction: once per browser by nature) takes no key.
                assert "Idempotency-Key" not in headers, (method, path)
                continue
            assert ("Idempotency-Key" in headers) == (method in ("post", "patch", "delete")), (method, path)
