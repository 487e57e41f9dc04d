"""The kinds registry is the one list of entry kinds: a kind registered there is validated,
rendered and offered by the admin, the desk composer and the API with no other change. The
pit stop kind used here is the worked example in docs/kinds.md, loaded from that file."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from feeds import kinds, services
from feeds.kinds.base import DetailField, Kind
from feeds.models import Entry

DOCS = Path(__file__).resolve().parent.parent / "docs" / "kinds.md"


def docs_example() -> type[Kind]:
    """The kind class written out in docs/kinds.md's worked example."""
    section = DOCS.read_text().split("## Worked example", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict[str, object] = {"__name__": "feeds.kinds.pit_stop"}
    exec(compile(code, str(DOCS), "exec"), namespace)
    return namespace["PitStopKind"]


@pytest.fixture
def pit_stop() -> Iterator[Kind]:
    kind = kinds.register(docs_example()())
    yield kind
    kinds.unregister(kind.name)


def test_built_in_kinds_are_registered_in_the_order_editors_see_them():
    # Kinds a plug-in app registers (the participation app's poll) come after the built-in ones.
    assert [name for name, _ in kinds.choices()][:5] == ["text", "quote", "social", "image", "race_status"]


def test_every_kind_name_code_refers_to_is_registered():
    assert {value for value, _ in Entry.Kind.choices} <= {name for name, _ in kinds.choices()}


def test_entry_kind_choices_come_from_the_registry(pit_stop):
    assert ("pit_stop", "Pit stop") in Entry._meta.get_field("kind").choices


def test_an_unknown_kind_is_refused_naming_the_kind():
    with pytest.raises(ValidationError) as error:
        kinds.clean_details(kind="lap_chart", details={}, body="x", headline="", has_image=False)
    assert error.value.message_dict == {"kind": ["Unknown kind."]}


def test_a_kind_name_cannot_be_registered_twice():
    with pytest.raises(ImproperlyConfigured, match="already registered"):
        kinds.register(kinds.get("quote").__class__())


@pytest.mark.parametrize("input_name", ["speaker", "body", "image"])
def test_a_detail_input_name_already_in_use_is_refused(input_name):
    class Clashing(Kind):
        name = "clashing"
        label = "Clashing"
        fields = (DetailField(input_name, "Clash"),)

    with pytest.raises(ImproperlyConfigured, match=input_name):
        kinds.register(Clashing())
    with pytest.raises(kinds.UnknownKind):
        kinds.get("clashing")


def test_the_docs_example_validates_its_fields(pit_stop):
    cleaned = kinds.clean_details(
        kind="pit_stop",
        details={"car": " 75 ", "lap": "112", "stop_time": "12.4", "extra": "dropped"},
        body="",
        headline="",
        has_image=False,
    )
    assert cleaned == {"car": "75", "lap": "112", "stop_time": "12.4"}
    with pytest.raises(ValidationError) as missing:
        kinds.clean_details(kind="pit_stop", details={"lap": "112"}, body="", headline="", has_image=False)
    assert missing.value.message_dict == {"car": ["Car is required."]}
    with pytest.raises(ValidationError) as not_a_lap:
        kinds.clean_details(
            kind="pit_stop", details={"car": "75", "lap": "soon"}, body="", headline="", has_image=False
        )
    assert not_a_lap.value.message_dict == {"lap": ["Enter the lap as a whole number."]}


def test_the_docs_example_renders_as_the_docs_say(pit_stop):
    html = kinds.render_entry(
        kind="pit_stop", body="Four tyres and fuel.", details={"car": "75", "lap": "112", "stop_time": "12.4"}
    )
    assert html == '<p class="entry-pit-stop">Car 75 pits on lap 112 · 12.4 s</p><p>Four tyres and fuel.</p>'
    assert html in DOCS.read_text()


def test_a_registered_kinds_details_are_escaped_and_sanitized(pit_stop):
    html = kinds.render_entry(kind="pit_stop", body="", details={"car": "<script>x()</script>", "lap": "1"})
    assert "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.django_db
def test_the_services_save_a_registered_kind(pit_stop, publisher, live_feed):
    entry = services.create_entry(
        feed=live_feed, by=publisher, kind="pit_stop", body="Four tyres.", details={"car": "75", "lap": "112"}
    )
    entry.refresh_from_db()
    assert entry.details == {"car": "75", "lap": "112", "stop_time": ""}
    assert entry.html == '<p class="entry-pit-stop">Car 75 pits on lap 112</p><p>Four tyres.</p>'


@pytest.mark.django_db
def test_the_admin_offers_a_registered_kind_and_saves_it(pit_stop, publisher, live_feed):
    client = Client()
    client.force_login(publisher)
    page = client.get(reverse("admin:feeds_entry_add")).content.decode()
    assert '<option value="pit_stop">Pit stop</option>' in page
    assert 'name="pit_stop_time"' in page and 'class="fieldset-heading">Pit stop</h2>' in page
    response = client.post(
        reverse("admin:feeds_entry_add"),
        {
            "feed": live_feed.pk,
            "kind": "pit_stop",
            "headline": "",
            "body": "",
            "status": "published",
            "car": "75",
            "lap": "112",
            "pit_stop_time": "12.4",
        },
    )
    assert response.status_code == 302
    assert Entry.objects.get().details == {"car": "75", "lap": "112", "stop_time": "12.4"}


@pytest.mark.django_db
def test_the_admin_shows_a_registered_kinds_error_on_its_field(pit_stop, publisher, live_feed):
    client = Client()
    client.force_login(publisher)
    response = client.post(
        reverse("admin:feeds_entry_add"),
        {
            "feed": live_feed.pk,
            "kind": "pit_stop",
            "headline": "",
            "body": "",
            "status": "published",
            "car": "75",
            "lap": "soon",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["lap"] == ["Enter the lap as a whole number."]
    assert not Entry.objects.exists()


@pytest.mark.django_db
def test_the_desk_composer_offers_a_registered_kind_and_posts_it(pit_stop, make_member, live_feed):
    client = Client()
    client.force_login(make_member("Editor", "eve"))
    page = client.get(reverse("admin:feeds_feed_desk", args=[live_feed.pk])).content.decode()
    assert (
        '<option value="pit_stop" data-kind-body-label="What the crew did (optional)">Pit stop</option>'
        in page
    )
    assert 'data-kind-fields="pit_stop"' in page and 'name="pit_stop_time"' in page
    state = json.loads(page.split('id="desk-state" type="application/json">')[1].split("</script>")[0])
    assert state["kind_fields"]["pit_stop"] == [
        ["car", "Car", "car"],
        ["lap", "Lap", "lap"],
        ["pit_stop_time", "Stationary time", "stop_time"],
    ]
    response = client.post(
        reverse("admin:feeds_desk_entries", args=[live_feed.pk]),
        {"kind": "pit_stop", "car": "75", "lap": "112", "pit_stop_time": "12.4", "publish": "on"},
    )
    assert response.status_code == 201
    assert response.json()["entry"]["details"] == {"car": "75", "lap": "112", "stop_time": "12.4"}


@pytest.mark.django_db
def test_the_desk_does_not_offer_kinds_posted_another_way(make_member, live_feed):
    client = Client()
    client.force_login(make_member("Editor", "eve"))
    page = client.get(reverse("admin:feeds_feed_desk", args=[live_feed.pk])).content.decode()
    assert '<option value="quote"' in page and '<option value="race_status"' not in page


@pytest.mark.django_db
def test_the_api_accepts_a_registered_kind_and_names_a_bad_field(pit_stop, publisher, live_feed):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {publisher.token}")
    url = f"/api/feeds/{live_feed.slug}/entries/"
    missing = api.post(url, {"kind": "pit_stop", "details": {"lap": "112"}}, format="json")
    assert missing.status_code == 400 and missing.json()["car"] == ["Car is required."]
    created = api.post(url, {"kind": "pit_stop", "details": {"car": "75", "lap": "112"}}, format="json")
    assert created.status_code == 201
    assert Entry.objects.get().html.startswith('<p class="entry-pit-stop">Car 75 pits on lap 112</p>')


@pytest.mark.django_db
def test_an_unregistered_kind_is_no_longer_accepted(pit_stop, publisher, live_feed):
    kinds.unregister("pit_stop")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {publisher.token}")
    response = api.post(
        f"/api/feeds/{live_feed.slug}/entries/", {"kind": "pit_stop", "details": {}}, format="json"
    )
    assert response.status_code == 400 and "kind" in response.json()
    assert not Entry.objects.exists()
