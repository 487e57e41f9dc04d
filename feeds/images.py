"""Uploaded entry images: checked with Pillow, resized once into renditions served with `srcset`."""

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
    """Check an upload and write the original and its renditions; return the original's storage
    name and the details readers need (`src`, `width`, `height`, `renditions`)."""
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
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)
            image.load()
    except ValidationError:
        raise
    except Image.DecompressionBombError:
        raise _refuse("The image has too many pixels.")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _refuse("The file is not a JPEG, PNG or WebP image.")

    folder = f"entries/{uuid.uuid4().hex}"
    original = default_storage.save(f"{folder}/original.{ALLOWED_FORMATS[image_format]}", ContentFile(data))
    width, height = image.size
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    renditions = []
    for target in RENDITION_WIDTHS:
        if target >= width and renditions:
            break
        scaled = image if target >= width else image.resize((target, round(height * target / width)), Image.LANCZOS)
        buffer = io.BytesIO()
        scaled.save(buffer, "WEBP", quality=82, method=4)
        name = default_storage.save(f"{folder}/w{scaled.width}.webp", ContentFile(buffer.getvalue()))
        renditions.append({"width": scaled.width, "url": default_storage.url(name)})
    details = {"src": renditions[-1]["url"], "width": width, "height": height, "renditions": renditions}
    return original, details
