"""The API, fuzzed from its own OpenAPI schema against a running server with every Schemathesis check:
answers conform to the schema (status, headers, body), valid requests are accepted, invalid ones
refused, never a 5xx, never a half-written change. Randomized each run; the seed is printed, and
`LIVEFEED_FUZZ_SEED=<seed>` replays a run."""

from __future__ import annotations

import io
import itertools
import json
import os
import random
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import pytest
import schemathesis
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, example, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.specs.openapi.formats import unregister_string_format

from feeds import kinds, services
from feeds.api.schema import SLUG_PATTERN
from feeds.api.serializers import SOCIAL_URL_PATTERN
from feeds.models import Entry, Feed
from feeds.rendering import render_markdown
from feeds.timing.models import TimingSource
from tests.fixtures.html_safety import active_content

EXAMPLES = int(os.environ.get("LIVEFEED_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("LIVEFEED_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
TIMING_PUSH = (Path(__file__).parent / "fixtures" / "timing" / "livefeed_caution.json").read_text()

# One well-formed request per write, sent before the generated ones, so the write path is reached
# on every run whatever Hypothesis draws. Path parameters are aimed at the test's feed and entry.
VALID_REQUESTS = {
    ("/api/feeds/", "POST"): {"body": {"title": "Qualifying"}, "media_type": "application/json"},
    ("/api/feeds/{slug}/", "PATCH"): {
        "path_parameters": {"slug": "x"},
        "body": {"title": "Night Race, renamed", "race": {"lap": 3}},
        "media_type": "application/json",
    },
    ("/api/feeds/{slug}/entries/", "POST"): {
        "path_parameters": {"slug": "x"},
        "body": {"headline": "Green flag", "body": "Racing."},
        "media_type": "application/json",
    },
    ("/api/feeds/{slug}/entries/{entry_id}/", "PATCH"): {
        "path_parameters": {"slug": "x", "entry_id": 1},
        "body": {"body": "Racing again."},
        "media_type": "application/json",
    },
    ("/api/feeds/{slug}/entries/{entry_id}/", "DELETE"): {"path_parameters": {"slug": "x", "entry_id": 1}},
    ("/api/feeds/{slug}/timing/", "POST"): {
        "path_parameters": {"slug": "x"},
        "body": json.loads(TIMING_PUSH),
        "media_type": "application/json",
    },
}


# And one refused request per write, aimed at the real feed and entry: the refusal is a 400 that
# names the field and conforms to the schema, on every run.
INVALID_REQUESTS = {
    ("/api/feeds/", "POST"): {"body": {"title": " "}, "media_type": "application/json"},
    ("/api/feeds/{slug}/", "PATCH"): {"body": {"race": {"flag": "purple"}}, "media_type": "application/json"},
    ("/api/feeds/{slug}/entries/", "POST"): {"body": {"kind": "quote"}, "media_type": "application/json"},
    ("/api/feeds/{slug}/entries/{entry_id}/", "PATCH"): {
        "body": {"pinned": "yes"},
        "media_type": "application/json",
    },
    ("/api/feeds/{slug}/entries/{entry_id}/", "DELETE"): {"headers": {"Idempotency-Key": "k" * 300}},
    ("/api/feeds/{slug}/timing/", "POST"): {"body": {"flag": "green"}, "media_type": "application/json"},
}


def _image(kind: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, format=kind)
    return buffer.getvalue()


@pytest.fixture
def uploads_are_images():
    """A schema's `format: binary` upload here is an image: draw real JPEG, PNG and WebP files."""
    schemathesis.openapi.format("binary", st.sampled_from([_image("PNG"), _image("JPEG"), _image("WEBP")]))
    yield
    unregister_string_format("binary")


@pytest.fixture
def forms_read_as_the_api_reads_them(monkeypatch):
    """Schemathesis judges an accepted negative form case by re-reading the body as sent: on the
    wire every field is text, so a mutation may vanish (a boolean `body` sent as the text "true" is
    a valid body). Its re-reading cannot judge this API's multipart bodies, though: their schema is
    a `oneOf` by kind, and their image part is a file its validator cannot read, so it counted every
    such case as invalid. Read the fields as the API does: each one's text, or that text parsed as
    JSON where the field's schema in the entry's kind wants a boolean, a number or an object (how
    `pinned` and `details` travel in a form), with files as opaque strings. Judge them by the schema
    as written: the one Schemathesis optimizes for drawing folds a length into a pattern, making
    "contains a visible character" (`[^…]`, at most 500) into "only visible characters"
    (`^[^…]{1,500}$`), so a question with a space in it read as invalid (in either form encoding).
    An accepted case whose sent body is invalid by this reading still fails."""
    from schemathesis.core.jsonschema import make_validator
    from schemathesis.specs.openapi import checks as openapi_checks

    as_sent = openapi_checks._form_body_is_valid_as_sent

    def as_the_api_reads_it(response, case, media_type):
        if as_sent(response, case, media_type):
            return True
        fields = openapi_checks._sent_form_fields(response, media_type)  # None unless a form
        body = case.operation.get_body_for_media_type(media_type)
        if fields is None or body is None:
            return False
        schema = body.unoptimized_schema
        validator_cls = openapi_checks._get_openapi_schema(case).adapter.jsonschema_validator_cls
        for branch in schema.get("oneOf") or [{}]:
            wanted = {**schema.get("properties", {}), **branch.get("properties", {})}
            sent: dict[str, object] = {}
            for name, texts in fields.items():
                text = texts[-1]  # a repeated field: the API reads its last value
                if text is None:
                    sent[name] = ""  # a file part
                    continue
                readings = [text]
                try:
                    readings.append(json.loads(text))
                except ValueError:
                    pass
                field = make_validator(wanted.get(name, {}), validator_cls)
                sent[name] = next((reading for reading in readings if field.is_valid(reading)), text)
            if make_validator(schema, validator_cls).is_valid(sent):
                return True
        return False

    monkeypatch.setattr(openapi_checks, "_form_body_is_valid_as_sent", as_the_api_reads_it)


def _moment(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _blank(value: object) -> bool:
    return not isinstance(value, str) or not value.strip()


def _merged(stored: dict, changes: object) -> dict:
    merged = dict(stored)
    for name, value in changes.items() if isinstance(changes, dict) else ():
        if value is None or value == "":
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def _laps_in_order(race: dict) -> bool:
    lap, total = race.get("lap"), race.get("laps_total")
    return not (isinstance(lap, int) and isinstance(total, int) and lap > total)


def meets_the_stated_rules(case, feed: Feed) -> bool:
    """What the schema states in words because JSON Schema cannot say it: rules that compare two
    values, or a value with the time or with what is stored (docs/api.md, the fields' descriptions)."""
    body = case.body if isinstance(case.body, dict) else {}
    now = datetime.now(UTC)
    publish_at = _moment(body.get("publish_at"))
    if publish_at is not None and publish_at <= now + timedelta(seconds=5):
        return False  # publish_at is in the future
    feed = Feed.objects.get(pk=feed.pk)
    if case.path == "/api/feeds/" or (case.path == "/api/feeds/{slug}/" and case.method == "PATCH"):
        creating = case.path == "/api/feeds/"
        status = body.get("status", "draft" if creating else feed.status)
        start = (
            body["coverage_start"]
            if "coverage_start" in body
            else (None if creating else feed.coverage_start)
        )
        end = body["coverage_end"] if "coverage_end" in body else (None if creating else feed.coverage_end)
        start, end = (
            (_moment(start) if isinstance(start, str) else start),
            (_moment(end) if isinstance(end, str) else end),
        )
        if start is None and status in ("live", "ended"):
            start = now  # a live feed's coverage starts when it goes live
        if start is not None and end is not None and end < start:
            return False
        return _laps_in_order(_merged(feed.race, body.get("race")))
    if case.path.endswith("/timing/"):
        # A push leaves out (or sends null for) what it does not carry: the stored value stays.
        return _laps_in_order({**feed.race, **{k: v for k, v in body.items() if v is not None}})
    if case.path.endswith("/entries/{entry_id}/") and case.method == "PATCH" and isinstance(case.body, dict):
        entry = Entry.objects.filter(feed=feed, deleted_at__isnull=True).first()
        stored = (
            {
                "kind": entry.kind,
                "headline": entry.headline,
                "body": entry.body,
                "details": dict(entry.details),
            }
            if entry is not None
            else {"kind": "text", "headline": "", "body": "An entry to edit", "details": {}}
        )
        after = {**stored, **{name: body[name] for name in stored if name in body}}
        if "correction_note" in body and not _correction_is_possible(entry, after, body):
            return False
        if "image" in body and after["kind"] not in {kind.name for kind in kinds.all() if kind.takes_image}:
            return False  # only an image entry takes an image
        details = after["details"] if isinstance(after["details"], dict) else {}
        kind = after["kind"]
        if kind == "text":
            return not (_blank(after["headline"]) and _blank(after["body"]))
        if kind == "quote":
            return not _blank(after["body"]) and not _blank(details.get("speaker"))
        if kind == "social":
            return (
                isinstance(details.get("url"), str)
                and re.fullmatch(SOCIAL_URL_PATTERN, details["url"]) is not None
            )
        if kind == "race_status":
            return details.get("flag") is not None and _laps_in_order(details)
        # An image entry needs its image (sent with it, or kept) and its alt text.
        has_image = "image" in body or (entry is not None and bool(entry.image))
        return has_image and not _blank(details.get("alt"))
    if case.path.endswith("/entries/") and isinstance(body.get("details"), dict):
        return _laps_in_order(body["details"])
    return True


def _correction_is_possible(entry: Entry | None, after: dict, body: dict) -> bool:
    """A correction (an edit with `correction_note`) is of an entry readers see, keeps it published,
    and changes the wording readers see (its headline or HTML)."""
    if entry is None or not entry.is_visible_to_readers:
        return False
    if body.get("status", entry.status) != "published" or body.get("publish_at"):
        return False
    if "image" in body and after["kind"] in {kind.name for kind in kinds.all() if kind.takes_image}:
        return True  # a new image is new HTML (other kinds leave an image out)
    headline = after["headline"].strip() if isinstance(after["headline"], str) else entry.headline
    try:
        details = kinds.clean_details(
            kind=after["kind"],
            details=after["details"],
            body=after["body"],
            headline=headline,
            has_image=bool(entry.image),
        )
    except (ValidationError, kinds.UnknownKind):
        return False
    if kinds.get(after["kind"]).takes_image:
        details.update({key: value for key, value in entry.details.items() if key in services.IMAGE_KEYS})
    html = kinds.render_entry(kind=after["kind"], body=after["body"], details=details)
    return (headline, html) != (entry.headline, entry.html)


def assert_database_is_consistent() -> None:
    """Every visible change has its own seq within its feed's counter; stored HTML is what the
    stored Markdown renders to, and never active."""
    for feed in Feed.objects.all():
        seqs = list(Entry.objects.filter(feed=feed, seq__isnull=False).values_list("seq", flat=True))
        if feed.changed_seq:
            seqs.append(feed.changed_seq)
        assert len(seqs) == len(set(seqs)) and all(0 < seq <= feed.seq for seq in seqs)
    for entry in Entry.objects.filter(deleted_at__isnull=True):
        assert entry.kind != "text" or entry.html == render_markdown(entry.body)
        assert active_content(entry.html) == []
        assert entry.status != Entry.Status.PUBLISHED or entry.seq is not None or entry.feed.status == "draft"


@pytest.fixture
def api_server(start_daphne, publisher, live_feed):
    TimingSource.objects.create(
        feed=live_feed, author=publisher, format="livefeed", post_flag_changes="published"
    )
    return start_daphne(
        API_WRITE_RATE="1000000/min",
        LIVEFEED_PARTICIPATION_VOTE_RATE="1000000/min",
        LIVEFEED_PARTICIPATION_QUESTION_RATE="1000000/min",
    )


def test_the_api_keeps_its_schema_under_fuzzing(
    api_server, publisher, live_feed, uploads_are_images, forms_read_as_the_api_reads_them
):
    print(f"\nSchemathesis fuzz seed: {SEED} (replay with LIVEFEED_FUZZ_SEED={SEED})")
    # Like most HTTP APIs (and caches adding ?utm_… to links), Livefeed ignores query parameters it
    # does not define; that is documented, so unknown parameters are not drawn as invalid input.
    # The token is given as the schema's bearerAuth, so cases that leave it out on purpose do.
    config = schemathesis.Config.from_dict(
        {
            "generation": {"allow-extra-parameters": False},
            "auth": {"openapi": {"bearerAuth": {"bearer": publisher.token}}},
        }
    )
    api = schemathesis.openapi.from_url(f"{api_server.url}/api/schema/?format=json", config=config)
    load_all_checks()
    checks = list(CHECKS.get_all())
    statuses: dict[str, Counter] = {}
    fresh_keys = itertools.count()

    def signed(request: dict) -> dict:
        """An explicit case carries the token itself (the configured auth is for generated ones)."""
        return {
            **request,
            "headers": {**request.get("headers", {}), "Authorization": f"Bearer {publisher.token}"},
        }

    target = services.create_entry(feed=live_feed, by=publisher, body="An entry to aim invalid edits at")

    for result in api.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        seen = statuses.setdefault(label, Counter())
        positive = operation.as_strategy(GenerationMode.POSITIVE).filter(
            lambda case: meets_the_stated_rules(case, live_feed)
        )
        # Invalid input anywhere, and invalid input sent to the real feed and entry, so that bodies
        # and headers are judged by the validation rather than stopped by a 404.
        aimed = {"slug": live_feed.slug, "entry_id": target.pk}
        aimed = {name: value for name, value in aimed.items() if "{" + name + "}" in operation.path}
        cases = st.one_of(
            positive,
            operation.as_strategy(GenerationMode.NEGATIVE),
            operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=aimed),
        )
        valid = VALID_REQUESTS.get((operation.path, operation.method.upper()))

        def check(case) -> None:
            entry = Entry.objects.filter(
                feed=live_feed, deleted_at__isnull=True
            ).first() or services.create_entry(feed=live_feed, by=publisher, body="An entry to edit")
            if case.path_parameters:
                # Aim most cases at the real feed and entry, so bodies reach validation, not a 404.
                # Only a drawn value that is itself valid is replaced: an invalid one stays the case's point.
                slug, entry_id = case.path_parameters.get("slug"), case.path_parameters.get("entry_id")
                if isinstance(slug, str) and re.fullmatch(SLUG_PATTERN, slug) and len(slug) % 4:
                    case.path_parameters["slug"] = live_feed.slug
                if isinstance(entry_id, int) and entry_id >= 0 and len(str(entry_id)) % 3:
                    case.path_parameters["entry_id"] = entry.pk
            key = (case.headers or {}).get("Idempotency-Key")
            if isinstance(key, str) and case.meta and case.meta.generation.mode.is_positive:
                # A key is one write's: a drawn key ("0") reused for another request is rightly
                # refused (422), which the schema cannot foresee. Keep its characters, make it new.
                case.headers["Idempotency-Key"] = f"{key[:200]}-{next(fresh_keys)}"
            response = case.call(base_url=api_server.url)
            seen[response.status_code] += 1  # noqa: B023 (check runs within this iteration)
            case.validate_response(response, checks=checks)
            assert_database_is_consistent()

        run = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))(
            seed(SEED)(given(case=cases)(check))
        )
        invalid = INVALID_REQUESTS.get((operation.path, operation.method.upper()))
        if invalid is not None:
            run = example(case=operation.Case(path_parameters=dict(aimed), **signed(invalid)))(run)
        if valid is not None:
            run = example(case=operation.Case(**signed(valid)))(run)
        began = time.monotonic()
        run()
        print(label, f"{time.monotonic() - began:.1f} s")

    for label, seen in statuses.items():
        print(label, sorted(seen.items()))
    print(
        f"{sum(sum(seen.values()) for seen in statuses.values())} requests, {len(checks)} checks each, 0 failures"
    )
    # Each write's well-formed request was accepted and its invalid one refused.
    for path, method in VALID_REQUESTS:
        seen = statuses[f"{method} {path}"]
        assert any(200 <= status < 300 for status in seen) and seen[400], (method, path, seen)


def test_a_malformed_multipart_body_gets_the_apis_json_400_through_daphne(start_daphne, publisher, live_feed):
    server = start_daphne()
    response = httpx.post(
        f"{server.url}/api/feeds/{live_feed.slug}/entries/",
        content=b"--abc--\r\n",
        headers={
            "Authorization": f"Bearer {publisher.token}",
            "Content-Type": "multipart/form-data; boundary=abc",
        },
    )
    assert response.status_code == 400 and response.headers["Content-Type"] == "application/json"
    assert response.json()
