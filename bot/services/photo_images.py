"""Reading a downloaded photo with Pillow: its content hash, its perceptual hash, a thumbnail.

- ``sha256`` of the bytes names the photo in the store: the same bytes are kept once.
- The perceptual hash is a 64-bit difference hash (dHash): the picture turned grey, rotated upright (EXIF),
  shrunk to 9×8 pixels, and one bit per pair of neighbours in a row (is the left one brighter). Re-encoding
  or rescaling a picture changes a few bits at most; see ``bot.domain.photo_match`` for what counts as the
  same picture. It is a dozen lines over Pillow, which the thumbnails need anyway, where the ``imagehash``
  package would bring numpy, SciPy and PyWavelets for the same 64 bits.
- The thumbnail: a JPEG (quality 80) at most ``THUMB_MAX`` (320) pixels on its longer side, upright, for the
  project page's timeline (a few to 20 KB).
- The screen copy (:func:`screen_of`): a JPEG at most ``SCREEN_MAX`` (1280) pixels on its longer side, for the
  photo's own page, so that a photo sent as a file (up to 20 MB) is not what a phone downloads to look at it.

CPU-bound: call :func:`examine` in a worker thread.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from bot.services.photo_store import THUMB_TYPE as THUMB_TYPE  # what thumbnail_of makes

THUMB_MAX = 320
THUMB_QUALITY = 80
SCREEN_MAX = 1280
SCREEN_QUALITY = 85
SCREEN_BYTES = 400_000  # an original no heavier, and no bigger than SCREEN_MAX, is shown as it is
# A photo from a chat app is at most a few thousand pixels a side; a bigger claim is a decompression bomb.
MAX_PIXELS = 60_000_000
_ORIENTATION = 0x0112  # the EXIF tag saying how the camera held the picture
_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp", "BMP": "image/bmp",
          "TIFF": "image/tiff", "HEIF": "image/heif", "MPO": "image/jpeg"}


@dataclass(frozen=True)
class Examined:
    """What a photo's bytes are: their sha256, and when they are a picture Pillow reads, its type, size,
    perceptual hash and thumbnail (all None otherwise: the bytes are still kept)."""

    sha256: str
    size: int
    content_type: str
    width: int | None = None
    height: int | None = None
    phash: int | None = None
    thumbnail: bytes | None = None


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dhash(image: Image.Image) -> int:
    """The 64-bit difference hash of a picture (see the module's docstring)."""
    small = image.convert("L").resize((9, 8), Image.Resampling.LANCZOS)
    pixels = small.tobytes()  # one byte a pixel, row by row
    value = 0
    for row in range(8):
        for col in range(8):
            left, right = pixels[row * 9 + col], pixels[row * 9 + col + 1]
            value = (value << 1) | (1 if left > right else 0)
    return value


def _flat_jpeg(image: Image.Image, quality: int) -> bytes:
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, "white")  # transparency onto white, as a page shows it
        converted = image.convert("RGBA")
        background.paste(converted, mask=converted.getchannel("A"))
        image = background
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def thumbnail_of(image: Image.Image) -> bytes:
    """A JPEG of the picture at most THUMB_MAX pixels on its longer side."""
    thumb = image.copy()
    thumb.thumbnail((THUMB_MAX, THUMB_MAX), Image.Resampling.LANCZOS)
    return _flat_jpeg(thumb, THUMB_QUALITY)


def screen_of(data: bytes) -> bytes | None:
    """A JPEG of the photo at most SCREEN_MAX pixels on its longer side, upright, for its page; None when the
    original may be shown as it is (no bigger than that, and at most SCREEN_BYTES) or is no picture Pillow
    reads (the original is then shown as it is)."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > MAX_PIXELS:
                return None
            if max(opened.size) <= SCREEN_MAX and len(data) <= SCREEN_BYTES:
                return None
            opened.draft("RGB", (SCREEN_MAX, SCREEN_MAX))  # JPEG: decode at a fraction of the size
            image = ImageOps.exif_transpose(opened)
            image.thumbnail((SCREEN_MAX, SCREEN_MAX), Image.Resampling.LANCZOS)
            return _flat_jpeg(image, SCREEN_QUALITY)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        return None


def examine(data: bytes) -> Examined:
    """The hashes and the thumbnail of a downloaded photo; bytes that are no picture Pillow can read (or
    too big a one) are described by their sha256 alone."""
    digest = sha256_of(data)
    plain = Examined(sha256=digest, size=len(data), content_type="application/octet-stream")
    try:
        # Pillow refuses (DecompressionBombError) pictures over twice its own limit when opening them; ours is
        # lower and checked before anything is decoded. (No warnings filter here: that state is process-wide
        # and this runs in worker threads.)
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > MAX_PIXELS:
                return plain
            content_type = _TYPES.get(opened.format or "", "application/octet-stream")
            width, height = opened.size
            if opened.getexif().get(_ORIENTATION) in (5, 6, 7, 8):  # stored on its side: shown turned
                width, height = height, width
            opened.draft("RGB", (THUMB_MAX * 2, THUMB_MAX * 2))  # JPEG: decode at a fraction of the size
            image = ImageOps.exif_transpose(opened)
            image.load()
            return Examined(sha256=digest, size=len(data), content_type=content_type,
                            width=width, height=height, phash=dhash(image), thumbnail=thumbnail_of(image))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        return plain
