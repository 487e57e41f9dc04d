"""A photo's EXIF data (where it was taken, the camera's serial number) never reaches readers."""

from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
from PIL import Image

SERIAL = "SN-4711-0815-CAMERA"
GPS_IFD, EXIF_IFD, ORIENTATION, BODY_SERIAL, MAKE = 0x8825, 0x8769, 0x0112, 0xA431, 0x010F


def phone_photo() -> bytes:
    """A 300×200 JPEG as a phone writes it: GPS position, camera serial, turned by its orientation tag."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # to be shown turned 90° clockwise
    exif[MAKE] = "Livefeed Test Camera"
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (48.0, 51.0, 29.6), 3: "E", 4: (2.0, 17.0, 40.2)})
    exif.get_ifd(EXIF_IFD)[BODY_SERIAL] = SERIAL
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (20, 120, 200)).save(buffer, "JPEG", exif=exif)
    data = buffer.getvalue()
    written = Image.open(io.BytesIO(data)).getexif()
    assert written.get_ifd(GPS_IFD) and written.get_ifd(EXIF_IFD)[BODY_SERIAL] == SERIAL
    return data


def test_no_served_image_carries_gps_or_camera_serial(start_daphne, publisher, live_feed, tmp_path: Path):
    media = tmp_path / "media"
    server = start_daphne(MEDIA_ROOT=str(media))
    response = httpx2.post(
        f"{server.url}/api/feeds/{live_feed.slug}/entries/",
        headers={"Authorization": f"Bearer {publisher.token}"},
        data={"kind": "image", "details": '{"alt": "The pit lane"}'},
        files={"image": ("pit.jpg", phone_photo(), "image/jpeg")},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    entry = response.json()
    page = httpx2.get(f"{server.url}/feeds/{live_feed.slug}/", timeout=30).text
    urls = {entry["details"]["src"], *(r["url"] for r in entry["details"]["renditions"])}
    urls |= set(re.findall(r"/media/[^\s\"',]+", page + entry["html"]))
    assert urls
    for url in urls:
        served = httpx2.get(f"{server.url}{url}", timeout=30)
        assert served.status_code == 200, url
        image = Image.open(io.BytesIO(served.content))
        exif = image.getexif()
        assert not exif.get_ifd(GPS_IFD) and BODY_SERIAL not in exif.get_ifd(EXIF_IFD), url
        assert SERIAL.encode() not in served.content and b"Livefeed Test Camera" not in served.content, url
        assert image.height > image.width, f"{url} is not turned the way the camera meant"
    # Nothing else in the public folder either, under a guessable name or not.
    folder = Path(urlsplit(entry["details"]["src"]).path).parent
    assert httpx2.get(f"{server.url}{folder}/original.jpg", timeout=30).status_code == 404
    for stored in media.rglob("*"):
        if stored.is_file():
            assert SERIAL.encode() not in stored.read_bytes(), stored
