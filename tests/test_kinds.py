"""Every entry kind is rendered once, at save time, into the entry's sanitized HTML, and carries
its structured fields in the payload."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from feeds import events, services
from feeds.kinds.base import MAX_FIELD
from feeds.models import Entry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def image_file(
    name: str = "photo.png", size: tuple[int, int] = (2000, 1000), image_format: str = "PNG"
) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, image_format)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{image_format.lower()}")


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def test_quote_renders_the_quote_speaker_and_role(publisher, live_feed):
    entry = services.create_entry(
        feed=live_feed,
        by=publisher,
        kind="quote",
        body="We had the *car* to win.",
        details={"speaker": "Sam Reyes", "role": "driver, No. 75 truck"},
    )
    assert entry.html == (
        '<blockquote class="entry-quote"><p>We had the <em>car</em> to win.</p>'
        "<footer>— <cite>Sam Reyes</cite>, driver, No. 75 truck</footer></blockquote>"
    )
    assert events.entry_payload(entry)["details"] == {"speaker": "Sam Reyes", "role": "driver, No. 75 truck"}


def test_quote_without_a_speaker_is_refused_naming_the_field(publisher, live_feed):
    with pytest.raises(ValidationError) as error:
        services.create_entry(feed=live_feed, by=publisher, kind="quote", body="Words", details={})
    assert "speaker" in error.value.message_dict
    assert not Entry.objects.exists()


def test_a_detail_is_limited_as_sent_not_as_trimmed(publisher, live_feed):
    speaker = " " + "S" * MAX_FIELD
    with pytest.raises(ValidationError) as error:
        services.create_entry(
            feed=live_feed, by=publisher, kind="quote", body="W", details={"speaker": speaker}
        )
    assert "speaker" in error.value.message_dict
    assert not Entry.objects.exists()


def test_quote_fields_are_escaped(publisher, live_feed):
    entry = services.create_entry(
        feed=live_feed, by=publisher, kind="quote", body="hi", details={"speaker": "<script>x()</script>"}
    )
    assert "<script>" not in entry.html and "&lt;script&gt;" in entry.html


@pytest.mark.parametrize(
    ("url", "network"),
    [
        ("https://x.com/nascar/status/1234567890", "X"),
        ("https://www.instagram.com/p/Cabc123/", "Instagram"),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "YouTube"),
        ("https://bsky.app/profile/someone.bsky.social/post/3k2abc", "Bluesky"),
    ],
)
def test_social_post_renders_a_link_card_without_third_party_scripts(publisher, live_feed, url, network):
    entry = services.create_entry(
        feed=live_feed, by=publisher, kind="social", body="Big crash in turn 3", details={"url": url}
    )
    assert entry.details["network"] == network
    assert f'href="{url.replace("&", "&amp;")}"' in entry.html
    assert "<p>Big crash in turn 3</p>" in entry.html
    assert "<script" not in entry.html and "<iframe" not in entry.html


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/status/1",
        "javascript:alert(1)",
        "http://x.com/a/status/1",
        "https://x.com/",
        "not a url",
        "https://user:pw@x.com/a/status/1",
    ],
)
def test_social_refuses_unknown_or_malformed_urls(publisher, live_feed, url):
    response = _api(publisher).post(
        f"/api/feeds/{live_feed.slug}/entries/", {"kind": "social", "details": {"url": url}}, format="json"
    )
    assert response.status_code == 400 and "url" in response.json()
    assert not Entry.objects.exists()


def _api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {user.token}")
    return client


def test_image_upload_makes_renditions_once_and_serves_them_with_srcset(publisher, live_feed, media_root):
    response = _api(publisher).post(
        f"/api/feeds/{live_feed.slug}/entries/",
        {
            "kind": "image",
            "image": image_file(),
            "details": '{"alt": "Pit stop", "caption": "Stop 3", "credit": "Ana Lee"}',
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    details = response.json()["details"]
    assert [r["width"] for r in details["renditions"]] == [480, 960, 1600]
    for rendition in details["renditions"]:
        assert (media_root / rendition["url"].removeprefix("/media/")).exists()
    html = response.json()["html"]
    assert 'srcset="/media/' in html and " 480w" in html and " 1600w" in html
    assert 'alt="Pit stop"' in html and "<figcaption>Stop 3" in html and "Ana Lee" in html


def test_small_image_is_not_upscaled(publisher, live_feed):
    entry = services.create_entry(
        feed=live_feed,
        by=publisher,
        kind="image",
        image=image_file(size=(300, 200), image_format="JPEG"),
        details={"alt": "Small"},
    )
    assert [r["width"] for r in entry.details["renditions"]] == [300]


def test_image_needs_alt_text(publisher, live_feed):
    with pytest.raises(ValidationError) as error:
        services.create_entry(feed=live_feed, by=publisher, kind="image", image=image_file(), details={})
    assert "alt" in error.value.message_dict


def test_a_file_that_is_not_an_image_is_refused(publisher, live_feed):
    upload = SimpleUploadedFile("photo.png", b"MZ\x90\x00 definitely not a picture", content_type="image/png")
    response = _api(publisher).post(
        f"/api/feeds/{live_feed.slug}/entries/",
        {"kind": "image", "image": upload, "details": '{"alt": "x"}'},
        format="multipart",
    )
    assert response.status_code == 400 and "image" in response.json()
    assert not Entry.objects.exists()


def test_a_gif_is_refused(publisher, live_feed):
    with pytest.raises(ValidationError) as error:
        services.create_entry(
            feed=live_feed,
            by=publisher,
            kind="image",
            image=image_file("a.gif", image_format="GIF"),
            details={"alt": "x"},
        )
    assert "Only JPEG, PNG and WebP" in error.value.message_dict["image"][0]


def test_a_decompression_bomb_is_refused(publisher, live_feed):
    bomb = SimpleUploadedFile("bomb.png", png_claiming(60_000, 60_000), content_type="image/png")
    with pytest.raises(ValidationError) as error:
        services.create_entry(feed=live_feed, by=publisher, kind="image", image=bomb, details={"alt": "x"})
    assert "too many pixels" in error.value.message_dict["image"][0]


def test_an_oversized_upload_is_refused(publisher, live_feed, settings):
    settings.MAX_IMAGE_BYTES = 1000
    with pytest.raises(ValidationError) as error:
        services.create_entry(
            feed=live_feed, by=publisher, kind="image", image=image_file(), details={"alt": "x"}
        )
    assert "larger than" in error.value.message_dict["image"][0]


def test_image_fields_cannot_be_forged_through_details(publisher, live_feed):
    entry = services.create_entry(
        feed=live_feed,
        by=publisher,
        kind="image",
        image=image_file(size=(300, 200)),
        details={
            "alt": "x",
            "src": "https://evil.example/a.png",
            "renditions": [{"width": 1, "url": "javascript:x"}],
        },
    )
    assert "evil.example" not in entry.html and "javascript:" not in entry.html


def test_editing_an_image_caption_keeps_the_image(publisher, live_feed):
    entry = services.create_entry(
        feed=live_feed, by=publisher, kind="image", image=image_file(size=(300, 200)), details={"alt": "x"}
    )
    services.update_entry(entry=entry, by=publisher, details={"alt": "x", "caption": "Later"})
    assert entry.details["renditions"] and "<figcaption>Later</figcaption>" in entry.html


def test_an_image_sent_with_a_kind_that_takes_none_is_refused_not_dropped(publisher, live_feed, media_root):
    """A quote posted with a photo would otherwise go out without it, and its editor not know."""
    quote = {"kind": "quote", "body": "Flat out.", "details": '{"speaker": "Sam Reyes"}'}
    response = _api(publisher).post(
        f"/api/feeds/{live_feed.slug}/entries/", {**quote, "image": image_file()}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["image"] == ["This kind of entry takes no image."]
    assert not Entry.objects.exists()

    entry = services.create_entry(
        feed=live_feed, by=publisher, kind="quote", body="Flat out.", details={"speaker": "Sam Reyes"}
    )
    with pytest.raises(ValidationError) as error:
        services.update_entry(entry=entry, by=publisher, image=image_file())
    assert "image" in error.value.message_dict
    entry.refresh_from_db()
    assert entry.version == 1 and not entry.image
    assert not media_root.exists() or not any(path.is_file() for path in media_root.rglob("*"))
