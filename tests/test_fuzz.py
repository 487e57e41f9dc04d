"""The write API, fuzzed from its own OpenAPI schema: never a 5xx, never a half-written change."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from feeds import services
from feeds.abuse import WriteRateThrottle
from feeds.models import Entry, Feed
from feeds.rendering import render_markdown
from tests.fixtures.html_safety import active_content

EXAMPLES = 80


@pytest.fixture
def keep_test_connection():
    """Like Django's test client: requests served in-process must not close the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


WRITE_OPERATIONS = [
    ("/api/feeds/", "POST"),
    ("/api/feeds/{slug}/", "PATCH"),
    ("/api/feeds/{slug}/entries/", "POST"),
    ("/api/feeds/{slug}/entries/{entry_id}/", "PATCH"),
    ("/api/feeds/{slug}/entries/{entry_id}/", "DELETE"),
]

# One well-formed request per operation, tried before the generated ones. Generated bodies that
# the schema allows are rarely valid entries (each kind needs its own fields), and which ones
# Hypothesis draws shifts with the project's code, so the write path is reached on purpose here.
# Path parameters are aimed at the test's feed and entry like any other case's.
VALID_REQUESTS = {
    ("/api/feeds/", "POST"): {"body": {"title": "Qualifying", "slug": "qualifying"}, "media_type": "application/json"},
    ("/api/feeds/{slug}/", "PATCH"): {
        "path_parameters": {"slug": "x"}, "body": {"title": "Night Race, renamed"}, "media_type": "application/json",
    },
    ("/api/feeds/{slug}/entries/", "POST"): {
        "path_parameters": {"slug": "x"}, "body": {"headline": "Green flag", "body": "Racing."},
        "media_type": "application/json",
    },
    ("/api/feeds/{slug}/entries/{entry_id}/", "PATCH"): {
        "path_parameters": {"slug": "x", "entry_id": 1}, "body": {"body": "Racing again."},
        "media_type": "application/json",
    },
    ("/api/feeds/{slug}/entries/{entry_id}/", "DELETE"): {"path_parameters": {"slug": "x", "entry_id": 1}},
}


@pytest.fixture
def api_schema(keep_test_connection):
    from livefeed.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


def assert_database_is_consistent() -> None:
    """Every visible change has its own seq within its feed's counter; stored HTML is what the
    stored Markdown renders to, and never active."""
    for feed in Feed.objects.all():
        seqs = list(Entry.objects.filter(feed=feed, seq__isnull=False).values_list("seq", flat=True))
        if feed.changed_seq:
            seqs.append(feed.changed_seq)
        assert len(seqs) == len(set(seqs)) and all(0 < seq <= feed.seq for seq in seqs)
    for entry in Entry.objects.filter(deleted_at__isnull=True):
        assert entry.html == render_markdown(entry.body)
        assert active_content(entry.html) == []
        assert entry.status != Entry.Status.PUBLISHED or entry.seq is not None or entry.feed.status == "draft"


@pytest.mark.parametrize("path, method", WRITE_OPERATIONS)
@pytest.mark.django_db
def test_write_api_answers_bad_input_with_4xx_and_stays_consistent(
    api_schema, path, method, publisher, live_feed, monkeypatch
):
    monkeypatch.setattr(WriteRateThrottle, "THROTTLE_RATES", {"write": "100000/min"})
    operation = api_schema[path][method]
    statuses: list[int] = []

    # Valid-looking input and deliberately malformed input (wrong types, missing or extra fields).
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @example(case=operation.Case(**VALID_REQUESTS[(path, method)]))
    @given(case=cases)
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def check(case) -> None:
        entry = Entry.objects.filter(feed=live_feed, deleted_at__isnull=True).first() or services.create_entry(
            feed=live_feed, by=publisher, body="An entry to edit"
        )
        if case.path_parameters:
            # Aim most cases at a real feed and entry, so bodies reach validation, not a 404.
            if len(str(case.path_parameters.get("slug", ""))) % 4:
                case.path_parameters["slug"] = live_feed.slug
            if "entry_id" in case.path_parameters and len(str(case.path_parameters["entry_id"])) % 3:
                case.path_parameters["entry_id"] = entry.pk
        response = case.call(headers={"Authorization": f"Bearer {publisher.token}"})
        statuses.append(response.status_code)
        assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text[:500])
        if response.status_code == 400:
            assert response.json(), "a 400 names what was wrong"
        assert_database_is_consistent()

    check()
    # The well-formed request was written and the fuzzing reached the validation, not only 404s.
    assert any(200 <= status < 300 for status in statuses), statuses
    if method != "DELETE":
        assert 400 in statuses, statuses
    print(path, method, sorted(Counter(statuses).items()))
