"""The JSON API: public reads, token-authenticated writes, clear answers to bad input."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from feeds import services
from feeds.models import Entry, Feed
from feeds.tokens import issue_token, revoke_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(publisher) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {publisher.token}")
    return client


def test_feed_list_shows_only_published_feeds_live_first(publisher):
    services.create_feed(by=publisher, title="Ended", slug="ended", status="ended")
    services.create_feed(by=publisher, title="Draft", slug="draft")
    services.create_feed(by=publisher, title="Live", slug="live", status="live")
    response = APIClient().get("/api/feeds/")
    assert response.status_code == 200
    assert [feed["slug"] for feed in response.json()["feeds"]] == ["live", "ended"]


def test_feed_detail_pages_newest_first_with_a_cursor(publisher, live_feed, settings):
    settings.LIVEFEED = {**settings.LIVEFEED, "PAGE_SIZE": 2}
    entries = [services.create_entry(feed=live_feed, by=publisher, body=f"lap {n}") for n in range(5)]
    services.create_entry(feed=live_feed, by=publisher, body="draft", status="draft")
    client = APIClient()
    seen = []
    url = f"/api/feeds/{live_feed.slug}/"
    while url:
        data = client.get(url).json()
        seen += [entry["id"] for entry in data["entries"]]
        url = data["older"]
    assert seen == [entry.pk for entry in reversed(entries)]


def test_feed_detail_answers_a_forged_cursor_as_no_such_page(live_feed):
    response = APIClient().get(f"/api/feeds/{live_feed.slug}/?before=not-a-cursor")
    assert response.status_code == 404 and "No such page" in response.json()["detail"]


def test_draft_feed_is_the_same_404_as_nothing(publisher):
    services.create_feed(by=publisher, title="Secret", slug="secret")
    client = APIClient()
    draft, missing = client.get("/api/feeds/secret/"), client.get("/api/feeds/missing/")
    assert draft.status_code == missing.status_code == 404
    assert draft.json() == missing.json()
    assert client.get("/api/feeds/secret/events/").status_code == 404


def test_events_are_the_websocket_messages_after_a_seq(publisher, live_feed):
    first = services.create_entry(feed=live_feed, by=publisher, body="one")
    services.create_entry(feed=live_feed, by=publisher, body="hidden", status="draft")
    second = services.create_entry(feed=live_feed, by=publisher, body="two")
    data = APIClient().get(f"/api/feeds/{live_feed.slug}/events/?after={first.seq}").json()
    assert data["seq"] == second.seq
    assert [(event["type"], event["entry"]["id"]) for event in data["events"]] == [
        ("entry.created", second.pk)
    ]


def test_events_refuse_a_bad_after(live_feed):
    response = APIClient().get(f"/api/feeds/{live_feed.slug}/events/?after=-1")
    assert response.status_code == 400 and "after" in response.json()


def test_post_entry_publishes_it(api, live_feed):
    response = api.post(
        f"/api/feeds/{live_feed.slug}/entries/", {"headline": "Green", "body": "**Go**"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["html"] == "<p><strong>Go</strong></p>" and body["seq"] == live_feed.seq + 1
    assert Entry.objects.visible_to_readers().filter(pk=body["id"]).exists()


def test_patch_and_delete_entry(api, live_feed):
    entry_id = api.post(f"/api/feeds/{live_feed.slug}/entries/", {"body": "v1"}, format="json").json()["id"]
    url = f"/api/feeds/{live_feed.slug}/entries/{entry_id}/"
    assert api.patch(url, {"body": "v2", "pinned": True}, format="json").json()["html"] == "<p>v2</p>"
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert api.patch(url, {"body": "v3"}, format="json").status_code == 404


def test_create_feed(api):
    response = api.post(
        "/api/feeds/", {"title": "Practice", "slug": "practice", "status": "live"}, format="json"
    )
    assert response.status_code == 201 and response.json()["status"] == "live"
    duplicate = api.post("/api/feeds/", {"title": "Again", "slug": "practice"}, format="json")
    assert duplicate.status_code == 409 and "practice" in duplicate.json()["detail"]
    assert Feed.objects.filter(slug="practice").count() == 1


def test_create_feed_derives_a_free_slug_from_the_title(api):
    first = api.post("/api/feeds/", {"title": "Harbor City 200: Qualifying!"}, format="json")
    second = api.post("/api/feeds/", {"title": "Harbor City 200 – Qualifying"}, format="json")
    assert first.status_code == second.status_code == 201
    assert first.json()["slug"] == "harbor-city-200-qualifying"
    assert second.json()["slug"] == "harbor-city-200-qualifying-2"


def test_create_feed_judges_title_and_slug_as_sent(api):
    """The schema's limits are on the string sent: trimming must not turn a refusal into a 201."""
    too_long = api.post("/api/feeds/", {"title": " " + "T" * 200}, format="json")
    blank = api.post("/api/feeds/", {"title": "\x1f"}, format="json")  # trimmed to nothing
    assert blank.status_code == 400 and "title" in blank.json()
    spaced_slug = api.post("/api/feeds/", {"title": "Practice", "slug": " practice"}, format="json")
    assert too_long.status_code == 400 and "title" in too_long.json()
    assert spaced_slug.status_code == 400 and "slug" in spaced_slug.json()
    assert not Feed.objects.exists()


def test_unknown_api_addresses_answer_json_404():
    response = APIClient().get("/api/feeds/not a slug/entries/-1/")
    assert response.status_code == 404 and response.json()["detail"]


def test_change_feed_status(api, live_feed):
    response = api.patch(f"/api/feeds/{live_feed.slug}/", {"status": "ended"}, format="json")
    assert response.status_code == 200
    assert Feed.objects.get(pk=live_feed.pk).status == "ended"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"body": ""}, "body"),
        ({"body": "x", "status": "maybe"}, "status"),
        ({"body": "x", "kind": "hologram"}, "kind"),
        ({"headline": "h" * 201, "body": "x"}, "headline"),
        ({"body": "x" * 100_001}, "body"),
        ({"body": "x", "pinned": "sometimes"}, "pinned"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(api, live_feed, payload, field):
    response = api.post(f"/api/feeds/{live_feed.slug}/entries/", payload, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not Entry.objects.exists()
    assert Feed.objects.get(pk=live_feed.pk).seq == live_feed.seq


def test_malformed_json_is_a_400(api, live_feed):
    response = api.post(f"/api/feeds/{live_feed.slug}/entries/", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_writes_need_a_token(live_feed):
    response = APIClient().post(f"/api/feeds/{live_feed.slug}/entries/", {"body": "x"}, format="json")
    assert response.status_code in (401, 403) and not Entry.objects.exists()


def test_a_wrong_or_revoked_token_is_refused(publisher, live_feed):
    token, key = issue_token(user=publisher)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert (
        client.post(f"/api/feeds/{live_feed.slug}/entries/", {"body": "ok"}, format="json").status_code == 201
    )
    revoke_token(token=token)
    assert (
        client.post(f"/api/feeds/{live_feed.slug}/entries/", {"body": "no"}, format="json").status_code == 401
    )
    client.credentials(HTTP_AUTHORIZATION="Bearer lf_made_up")
    assert (
        client.post(f"/api/feeds/{live_feed.slug}/entries/", {"body": "no"}, format="json").status_code == 401
    )


def test_a_tokens_last_use_is_kept_to_the_minute_with_one_write_a_minute(publisher, live_feed):
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from feeds.models import ApiToken
    from feeds.tokens import token_for_key

    token, key = issue_token(user=publisher)
    assert token.last_used_at is None
    before = timezone.now()
    token_for_key(key)
    first_use = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first_use is not None and first_use >= before

    with CaptureQueriesContext(connection) as queries:
        token_for_key(key)
    assert [query for query in queries if "UPDATE" in query["sql"]] == []
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first_use

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first_use - timedelta(minutes=1))
    token_for_key(key)
    assert ApiToken.objects.get(pk=token.pk).last_used_at >= before


def test_tokens_are_stored_hashed(publisher):
    token, key = issue_token(user=publisher)
    assert key not in token.key_hash and token.key_hash != key


def test_users_who_may_not_publish_cannot_write(django_user_model, live_feed):
    user = django_user_model.objects.create_user(username="intern")
    _, key = issue_token(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.post(f"/api/feeds/{live_feed.slug}/entries/", {"body": "x"}, format="json")
    assert response.status_code == 403 and not Entry.objects.exists()


def openapi() -> dict:
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_openapi_schema_describes_the_write_api():
    assert "/api/feeds/{slug}/entries/" in openapi()["paths"]


def test_openapi_reads_are_public_and_writes_need_the_bearer_token():
    for path, operations in openapi()["paths"].items():
        for method, operation in operations.items():
            if (method == "get" and "/audience/" not in path) or "readers" in operation.get("tags", []):
                # Reads, and what readers send (votes, reactions, questions), take no token.
                assert not operation.get("security"), (method, path)
            else:
                # Writes, and the staff's audience figures.
                assert operation["security"] == [{"bearerAuth": []}], (method, path)


def test_openapi_answers_are_typed_and_every_refusal_is_declared():
    schema = openapi()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if method == "get":
                assert {"200", "404"} <= set(responses) or path == "/api/feeds/", (method, path)
            elif "readers" in operation.get("tags", []):
                assert {"400", "403", "404", "413", "429"} <= set(responses), (method, path)
                assert responses["429"]["headers"]["Retry-After"]["required"]
            else:
                assert {"400", "401", "403", "413", "422", "429"} <= set(responses), (method, path)
                assert responses["429"]["headers"]["Retry-After"]["required"]
            for status, response in responses.items():
                for body in response.get("content", {}).values():
                    assert body["schema"] != {"type": "object"}, (method, path, status)
    conflict = schema["paths"]["/api/feeds/{slug}/entries/{entry_id}/"]["patch"]["responses"]["409"]
    assert conflict["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Conflict"
    assert {"Feed", "Entry", "WrittenEntry", "Event", "EventsPage", "FeedPage", "Error"} <= set(
        schema["components"]["schemas"]
    )


def test_api_reference_page_loads_redoc_from_this_site_under_the_csp():
    from django.contrib.staticfiles import finders

    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'spec-url="/api/schema/"' in html and "<script>" not in html and "googleapis" not in html
    script = html.split('<script src="')[1].split('"')[0]
    assert script.startswith("/static/") and finders.find(script.removeprefix("/static/"))
    policy = response["Content-Security-Policy"]
    assert (
        "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    )


def test_an_edit_sent_as_a_form_with_no_field_is_refused(api, live_feed, publisher):
    entry = services.create_entry(feed=live_feed, by=publisher, body="v1")
    url = f"/api/feeds/{live_feed.slug}/entries/{entry.pk}/"
    response = api.generic("PATCH", url, b"--b--\r\n", content_type="multipart/form-data; boundary=b")
    assert response.status_code == 400 and "no fields" in response.json()["detail"]
    assert api.patch(url, {}, format="json").status_code == 200
    assert Entry.objects.get(pk=entry.pk).version == entry.version


def test_a_form_field_sent_empty_is_a_value_not_a_field_left_out(api, live_feed):
    """status="" in a multipart post is no status the schema knows: refused, not read as published."""
    url = f"/api/feeds/{live_feed.slug}/entries/"
    response = api.post(url, {"body": "Lap 5", "status": ""}, format="multipart")
    assert response.status_code == 400 and "status" in response.json()
    assert not Entry.objects.exists()
    empty_but_allowed = {"body": "Lap 5", "headline": "", "publish_at": ""}  # text may be blank, a time null
    entry = api.post(url, empty_but_allowed, format="multipart").json()
    silent_edit = {"body": "Lap 6", "correction_note": ""}  # stated in the schema: empty is left out
    edited = api.patch(f"{url}{entry['id']}/", silent_edit, format="multipart")
    assert edited.status_code == 200 and edited.json()["corrections"] == []


def test_feed_entries_page_oldest_first_by_an_after_cursor(publisher, live_feed, settings):
    settings.LIVEFEED = {**settings.LIVEFEED, "PAGE_SIZE": 2}
    for lap in range(5):
        services.create_entry(feed=live_feed, by=publisher, headline=f"Lap {lap}", body="-")
    client = APIClient()
    seen, url = [], f"/api/feeds/{live_feed.slug}/?order=oldest"
    while url:
        body = client.get(url).json()
        seen += [entry["headline"] for entry in body["entries"]]
        url = body["newer"]
    assert seen == [f"Lap {lap}" for lap in range(5)]
    assert client.get(f"/api/feeds/{live_feed.slug}/?order=sideways").status_code == 400
    assert client.get(f"/api/feeds/{live_feed.slug}/?after=%%%").status_code == 404


def _bodies(operation: dict) -> list[tuple[str, dict]]:
    """Each request body an operation offers, one per media type and `oneOf` branch, with the
    properties stated beside `oneOf` merged in (they apply to every branch)."""
    bodies = []
    for media_type, content in operation["requestBody"]["content"].items():
        schema = content["schema"]
        for branch in schema.get("oneOf", [schema]):
            properties = {**schema.get("properties", {}), **branch.get("properties", {})}
            bodies.append((f"{media_type} {branch.get('title', '')}", properties))
    return bodies


def test_every_entry_field_the_server_reads_is_stated_in_every_body_the_schema_offers(live_feed):
    """A field the server checks but a body leaves unstated is, to a client, one it may send with
    any value; the server would then refuse a request its schema calls valid."""
    from feeds import race
    from feeds.api.serializers import TEXT_DETAILS, EntryWriteSerializer

    read_on_create = set(EntryWriteSerializer().fields)
    read_on_edit = set(EntryWriteSerializer(instance=Entry(feed=live_feed)).fields)
    details_checked = {*TEXT_DETAILS, "url", *race.FIELDS}
    entries = openapi()["paths"]["/api/feeds/{slug}/entries/"]
    for operation, read in (
        (entries["post"], read_on_create),
        (openapi()["paths"]["/api/feeds/{slug}/entries/{entry_id}/"]["patch"], read_on_edit),
    ):
        for body, properties in _bodies(operation):
            assert read <= set(properties), (body, read - set(properties))
            assert details_checked <= set(properties["details"]["properties"]), body
    assert "version" not in read_on_create and "version" in read_on_edit


@pytest.mark.parametrize(
    "sent, field",
    [
        ({"body": "Go", "details": {"author": ["Ann"]}}, "author"),
        ({"kind": "quote", "body": "Go", "details": {"speaker": "Ann", "lap": "ten"}}, "lap"),
        ({"body": "Go", "details": "Ann"}, "details"),
        ({"body": "Go", "image": "https://example.com/photo.jpg"}, "image"),
    ],
)
def test_fields_a_kind_does_not_keep_are_still_checked_as_the_schema_states(api, live_feed, sent, field):
    response = api.post(f"/api/feeds/{live_feed.slug}/entries/", sent, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not Entry.objects.filter(feed=live_feed).exists()


def test_a_new_entry_leaves_the_edit_only_fields_unread(api, live_feed):
    response = api.post(
        f"/api/feeds/{live_feed.slug}/entries/",
        {"body": "Go", "version": "latest", "correction_note": 7},
        format="json",
    )
    assert response.status_code == 201 and response.json()["version"] == 1


OUTSIDE_THE_YEARS_KEPT = ["0001-01-01T00:00:00+00:06", "9999-12-31T23:59:00-01:00", "1899-12-31T23:59:59Z"]


@pytest.mark.parametrize("moment", OUTSIDE_THE_YEARS_KEPT)
def test_times_outside_the_years_kept_are_refused_naming_the_field_and_the_range(api, live_feed, moment):
    """Valid RFC 3339, but its offset could carry it past what can be stored: refused as the schema's
    pattern says, with the range in the message, not as "out of range" of nothing the client knew."""
    feed = api.patch(f"/api/feeds/{live_feed.slug}/", {"coverage_start": moment}, format="json")
    entry = api.post(
        f"/api/feeds/{live_feed.slug}/entries/", {"body": "x", "publish_at": moment}, format="json"
    )
    for response, field in ((feed, "coverage_start"), (entry, "publish_at")):
        assert response.status_code == 400
        assert response.json()[field] == ["Give a time between the years 1900 and 2999."]
    assert Feed.objects.get(pk=live_feed.pk).coverage_start == live_feed.coverage_start
    assert not Entry.objects.filter(feed=live_feed).exists()


def test_a_time_in_the_years_kept_is_taken(api, live_feed):
    response = api.patch(
        f"/api/feeds/{live_feed.slug}/", {"coverage_start": "1900-01-01T00:00:00+01:00"}, format="json"
    )
    assert response.status_code == 200 and response.json()["coverage_start"].startswith("1899-12-31T23:00")


def test_every_time_a_client_sends_is_stated_with_the_years_kept():
    from feeds.moments import YEAR_PATTERN

    def times(node):
        if isinstance(node, dict):
            if node.get("format") == "date-time":
                yield node
            for value in node.values():
                yield from times(value)
        elif isinstance(node, list):
            for value in node:
                yield from times(value)

    schema = openapi()
    sent = [
        moment
        for operations in schema["paths"].values()
        for operation in operations.values()
        if "requestBody" in operation
        for moment in times(operation["requestBody"])
    ]
    sent += [
        moment
        for name in ("FeedCreate", "PatchedFeedUpdate")
        for moment in times(schema["components"]["schemas"][name])
    ]
    assert len(sent) >= 5 and all(moment.get("pattern") == YEAR_PATTERN for moment in sent)


def test_a_forged_cursor_timed_outside_the_years_kept_is_no_such_page(live_feed):
    import base64

    cursor = base64.urlsafe_b64encode(b"0001-01-01T00:00:00+00:06|1").decode().rstrip("=")
    response = APIClient().get(f"/api/feeds/{live_feed.slug}/?before={cursor}")
    assert response.status_code == 404 and "No such page" in response.json()["detail"]
