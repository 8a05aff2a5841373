"""Photos of a problem: a resident's report, or a responder on scene or resolving an incident.

Every photo is checked (JPEG, PNG or WebP, at most 5 MB and 40 million pixels) and re-encoded from
its pixels alone, so nothing of the original's metadata (EXIF, the GPS position, comments) is kept.
A photo is answered only to someone who may see its report or incident, never cached by proxies.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from collections.abc import Sequence
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext as _

from banyan.core.errors import InvalidInput
from banyan.response.models import PHOTO_MAX_BYTES, PHOTOS_PER_STEP

PHOTO_MAX_PIXELS = 40_000_000  # about 7,300 × 5,500: any phone camera, and no decompression bomb
PHOTO_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def clean_photo(data: bytes) -> tuple[bytes, str]:
    """Check that ``data`` is a JPEG, PNG or WebP image of at most 5 MB and re-encode it without its
    metadata (EXIF, GPS position, comments). Returns the clean bytes and their media type."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > PHOTO_MAX_BYTES:
        raise InvalidInput(
            _("The photo is larger than %(max)d MB.") % {"max": PHOTO_MAX_BYTES // (1024 * 1024)},
            field="photo",
            code="too_large",
        )
    refused = InvalidInput(
        _("The photo is not an image Banyan accepts; send a JPEG, PNG or WebP picture."),
        field="photo",
        code="not_an_image",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format
                if probe.width * probe.height > PHOTO_MAX_PIXELS:
                    raise InvalidInput(
                        _("The photo has more than %(max)d million pixels.")
                        % {"max": PHOTO_MAX_PIXELS // 1_000_000},
                        field="photo",
                        code="too_large",
                    )
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
    except InvalidInput:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise refused from None
    except Image.DecompressionBombWarning:
        raise refused from None
    if kind not in PHOTO_FORMATS:
        raise refused
    # A fresh image holds pixels only: nothing of the original's metadata travels with it.
    clean = Image.new(upright.mode, upright.size)
    clean.paste(upright)
    if kind == "JPEG" and clean.mode not in ("RGB", "L", "CMYK"):
        clean = clean.convert("RGB")
    out = io.BytesIO()
    options: dict[str, Any] = {"quality": 90} if kind in ("JPEG", "WEBP") else {}
    clean.save(out, format=kind, **options)
    return out.getvalue(), PHOTO_FORMATS[kind]


def clean_photos(photos: Sequence[bytes], *, field: str = "photos") -> list[tuple[bytes, str]]:
    """Check and clean several photos (at most ``PHOTOS_PER_STEP``); an error names which one."""
    if len(photos) > PHOTOS_PER_STEP:
        raise InvalidInput(
            _("Send at most %(max)d photos at a time.") % {"max": PHOTOS_PER_STEP}, field=field
        )
    cleaned = []
    for number, data in enumerate(photos, start=1):
        try:
            cleaned.append(clean_photo(data))
        except InvalidInput as exc:
            message = exc.message
            if len(photos) > 1:
                message = _("Photo %(number)d: %(problem)s") % {"number": number, "problem": message}
            raise InvalidInput(message, field=field, code=exc.code) from None
    return cleaned


def decode_photo(text: str, *, field: str = "photo_base64") -> bytes:
    """A photo sent as base64 in JSON: too long or not base64 is refused naming ``field``."""
    if len(text) > PHOTO_MAX_BYTES * 4 // 3 + 4:
        raise InvalidInput(
            _("The photo is larger than %(max)d MB.") % {"max": PHOTO_MAX_BYTES // (1024 * 1024)},
            field=field,
            code="too_large",
        )
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(_("The photo is not base64."), field=field) from None


def photo_response(data: bytes | memoryview, media_type: str, name: str) -> HttpResponse:
    """A stored photo as a download of its own: private, never sniffed as something else."""
    response = HttpResponse(bytes(data), content_type=media_type)
    response["Content-Disposition"] = f'inline; filename="{name}.{EXTENSIONS.get(media_type, "bin")}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
