"""Uploaded entry images: checked with Pillow, resized once into renditions served with `srcset`.

Only the renditions are kept. They are encoded afresh from the pixels, turned the way the camera's
orientation tag says, with no EXIF or XMP: a phone's photo carries where it was taken and the
camera's serial number, and everything in the media folder is public. The upload itself is not
stored.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
RENDITION_WIDTHS = (480, 960, 1600)
# About 40 megapixels: a large camera's photo. More is refused before any pixel is decoded.
MAX_PIXELS = 40_000_000


def _refuse(message: str) -> ValidationError:
    return ValidationError({"image": message})


def process_upload(upload: UploadedFile) -> tuple[str, dict[str, Any]]:
    """Check an upload and write its renditions; return the largest one's storage name (the
    entry's image) and the details readers need (`src`, `width`, `height`, `renditions`)."""
    if upload.size is not None and upload.size > settings.MAX_IMAGE_BYTES:
        raise _refuse(f"The image is larger than {settings.MAX_IMAGE_BYTES // (1024 * 1024)} MB.")
    data = upload.read()
    if len(data) > settings.MAX_IMAGE_BYTES:
        raise _refuse(f"The image is larger than {settings.MAX_IMAGE_BYTES // (1024 * 1024)} MB.")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            image_format = probe.format
            width, height = probe.size
            if image_format not in ALLOWED_FORMATS:
                raise _refuse("Only JPEG, PNG and WebP images are accepted.")
            if width * height > MAX_PIXELS:
                raise _refuse(f"The image has too many pixels ({width}×{height}).")
            probe.verify()
        with Image.open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened)
            image.load()
    except ValidationError:
        raise
    except Image.DecompressionBombError:
        raise _refuse("The image has too many pixels.")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _refuse("The file is not a JPEG, PNG or WebP image.")

    folder = f"entries/{uuid.uuid4().hex}"
    # The colour profile stays (colours would shift without it); every other kind of metadata goes.
    icc_profile = image.info.get("icc_profile") or b""
    width, height = image.size
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    renditions: list[dict[str, Any]] = []
    name = ""
    for target in RENDITION_WIDTHS:
        if target >= width and renditions:
            break
        scaled = (
            image
            if target >= width
            else image.resize((target, round(height * target / width)), Image.Resampling.LANCZOS)
        )
        buffer = io.BytesIO()
        scaled.save(buffer, "WEBP", quality=82, method=4, exif=b"", xmp=b"", icc_profile=icc_profile)
        name = default_storage.save(f"{folder}/w{scaled.width}.webp", ContentFile(buffer.getvalue()))
        renditions.append({"width": scaled.width, "url": default_storage.url(name)})
    details = {"src": renditions[-1]["url"], "width": width, "height": height, "renditions": renditions}
    return name, details
