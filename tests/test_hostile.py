"""Hostile text posted through the API and the admin never comes back active, on any reader path."""

from __future__ import annotations

import io
import json

import extruct
import feedparser
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image
from rest_framework.test import APIClient

from feeds.abuse import WriteRateThrottle
from feeds.models import Entry
from tests.fixtures.html_safety import active_content, page_active_content

pytestmark = pytest.mark.django_db

MARK = "window.__pwned=1"
CORPUS = [
    f"<script>{MARK}</script>",
    f'<img src=x onerror="{MARK}">',
    f'"><img src=x onerror={MARK}>',
    f"<svg onload={MARK}><script>{MARK}</script></svg>",
    f"<math><mtext><table><mglyph><style><img src=x onerror={MARK}></style></mglyph></table></mtext></math>",
    f'<iframe src="javascript:{MARK}"></iframe><object data=x></object><embed src=x>',
    f"[click](javascript:{MARK}) [c2](JaVaScRiPt:{MARK}) [c3](java&#x09;script:{MARK})",
    f"[c4](&#106;avascript:{MARK}) [c5](%6Aavascript:{MARK}) [c6]( javascript:{MARK})",
    "[d](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX19wd25lZD0xPC9zY3JpcHQ+) ![i](data:image/svg+xml,<svg onload=x>)",
    '[v](vbscript:msgbox(1)) ![j](javascript:alert(1)) <a href="jAvAsCrIpT&colon;alert(1)">a</a>',
    f"</script><script>{MARK}</script><!--",
    "<div><p><b>broken <i>markup <a href='https://ok.example'",
    "{{ 7|add:42 }} {% debug %} ${7*7} #{7*7}",
    "\u202etxt.exe \u202d left-to-right \u2066isolate\u2069",
    f"<style>body{{display:none}}</style><form action=javascript:{MARK}><button>go</button></form>",
    f"<details open ontoggle={MARK}><summary>x</summary></details>",
    f'<base href="javascript:{MARK}//"><meta http-equiv=refresh content="0;url=javascript:{MARK}">',
]
HOSTILE_SOCIAL_URLS = [
    f"javascript:{MARK}",
    f"JaVaScRiPt:{MARK}",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    'https://x.com/a"><script>alert(1)</script>',
    " https://x.com/a",
    "https://evil.example/post/1",
]


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(buffer, "PNG")
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


@pytest.fixture
def hostile_feed(publisher, live_feed, settings, tmp_path, monkeypatch):
    """A live feed holding every payload as a text entry's headline and body, a quote and its
    speaker, an image's alt, caption and credit, posted through the API and the admin."""
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(WriteRateThrottle, "THROTTLE_RATES", {"write": "100000/min"})
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {publisher.token}")
    admin = Client()
    admin.force_login(publisher)
    url = f"/api/feeds/{live_feed.slug}/entries/"
    for payload in CORPUS:
        headline = payload[:200]
        posted = [
            api.post(url, {"headline": headline, "body": payload}, format="json"),
            api.post(
                url,
                {
                    "kind": "quote",
                    "body": payload,
                    "details": {"speaker": payload[:200], "role": payload[:200]},
                },
                format="json",
            ),
            api.post(
                url,
                {
                    "kind": "image",
                    "image": png(),
                    "details": json.dumps(
                        {"alt": payload[:300], "caption": payload[:300], "credit": payload[:200]}
                    ),
                },
            ),
            admin.post(
                "/admin/feeds/entry/add/",
                {
                    "feed": live_feed.pk,
                    "kind": "text",
                    "headline": headline,
                    "body": payload,
                    "details": "{}",
                    "status": "published",
                    "version": 0,
                },
            ),
        ]
        assert [response.status_code for response in posted] == [201, 201, 201, 302], [
            r.content[:300] for r in posted
        ]
    return live_feed


def html_fields(value):
    """Every HTML string in a JSON document (keys ending in "html"); other text is shown as text."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("html") and isinstance(item, str):
                yield item
            else:
                yield from html_fields(item)
    elif isinstance(value, list):
        for item in value:
            yield from html_fields(item)


def test_hostile_social_urls_are_refused_naming_the_field(publisher, live_feed):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {publisher.token}")
    for url in HOSTILE_SOCIAL_URLS:
        response = api.post(
            f"/api/feeds/{live_feed.slug}/entries/",
            {"kind": "social", "details": {"url": url}},
            format="json",
        )
        assert response.status_code == 400 and "url" in response.json(), url
    assert not Entry.objects.exists()


def test_nul_bytes_are_a_400_naming_the_fields(publisher, live_feed):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {publisher.token}")
    response = api.post(
        f"/api/feeds/{live_feed.slug}/entries/", {"headline": "a\x00b", "body": "c\x00d"}, format="json"
    )
    assert response.status_code == 400 and {"headline", "body"} <= set(response.json())
    assert not Entry.objects.exists()


def test_a_one_megabyte_body_is_a_400_naming_the_field(publisher, live_feed):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {publisher.token}")
    response = api.post(f"/api/feeds/{live_feed.slug}/entries/", {"body": "x" * 1_000_000}, format="json")
    assert response.status_code == 400 and "body" in response.json()
    assert not Entry.objects.exists()


def test_no_page_a_reader_opens_carries_active_content(hostile_feed):
    client = Client()
    entries = list(Entry.objects.visible_to_readers().filter(feed=hostile_feed))
    assert len(entries) == 4 * len(CORPUS)
    pages = [
        f"/feeds/{hostile_feed.slug}/",
        f"/feeds/{hostile_feed.slug}/embed/",
        f"/feeds/{hostile_feed.slug}/?order=oldest",
    ]
    pages += [f"/feeds/{hostile_feed.slug}/entries/{entry.pk}/" for entry in entries[::7]]
    for path in pages:
        html = client.get(path).content.decode()
        assert page_active_content(html) == [], path
        head = html[: html.index("</head>")]
        assert head.count("<script") == head.count("</script>"), path


def test_json_paths_carry_only_sanitized_html(hostile_feed):
    client = Client()
    documents = [
        client.get(f"/api/feeds/{hostile_feed.slug}/").json(),
        client.get(f"/api/feeds/{hostile_feed.slug}/events/?after=0").json(),
        client.get(f"/feeds/{hostile_feed.slug}/feed.json").json(),
    ]
    checked = 0
    for document in documents:
        for html in html_fields(document):
            assert active_content(html) == [], html[:200]
            checked += 1
    assert checked >= 100


@pytest.mark.parametrize("path", ["atom", "rss"])
def test_syndication_feeds_parse_and_carry_only_sanitized_html(hostile_feed, path):
    parsed = feedparser.parse(Client().get(f"/feeds/{hostile_feed.slug}/{path}/").content)
    assert not parsed.bozo and len(parsed.entries) == 50
    for item in parsed.entries:
        assert active_content(item.summary) == []


def test_json_ld_stays_inside_its_script_element(hostile_feed):
    html = Client().get(f"/feeds/{hostile_feed.slug}/").content.decode()
    [document] = extruct.extract(html, syntaxes=["json-ld"])["json-ld"]
    assert document["@type"] == "LiveBlogPosting" and len(document["liveBlogUpdate"]) == 10


def test_oembed_html_is_one_iframe_of_the_widget(hostile_feed):
    entry = Entry.objects.visible_to_readers().filter(feed=hostile_feed).first()
    for url in (
        f"http://testserver/feeds/{hostile_feed.slug}/",
        f"http://testserver/feeds/{hostile_feed.slug}/entries/{entry.pk}/",
    ):
        html = Client().get("/oembed/", {"url": url}).json()["html"]
        assert active_content(html) == ["<iframe>"]
        assert html.startswith(f'<iframe src="http://testserver/feeds/{hostile_feed.slug}/embed/')


def test_template_syntax_and_direction_overrides_are_kept_as_text(hostile_feed):
    html = Client().get(f"/feeds/{hostile_feed.slug}/").content.decode()
    assert "{{ 7|add:42 }}" in html and "{% debug %}" in html
    assert "\u202etxt.exe" in html


@pytest.mark.django_db(transaction=True)
async def test_websocket_messages_carry_only_sanitized_html(hostile_feed, settings):
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator

    from feeds.models import Feed
    from livefeed.asgi import application

    current = (await database_sync_to_async(Feed.objects.get)(pk=hostile_feed.pk)).seq
    # The whole feed in one catch-up, change by change, rather than a reset to reload it.
    settings.LIVEFEED = {**settings.LIVEFEED, "PAGE_SIZE": current + 1}
    communicator = WebsocketCommunicator(application, f"/ws/feeds/{hostile_feed.slug}/?after=0")
    assert (await communicator.connect())[0]
    seen, checked = 0, 0
    while seen < current:
        message = json.loads(await communicator.receive_from(timeout=5))
        seen = message["seq"]
        for html in html_fields(message):
            assert active_content(html) == [], html[:200]
            checked += 1
    await communicator.disconnect()
    assert checked >= 4 * len(CORPUS)
