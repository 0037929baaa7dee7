"""Reading a downloaded photo (bot.services.photo_images): its sha256, a thumbnail of at most 320 px as JPEG,
upright, and a perceptual hash that a rescaled, re-encoded copy keeps within DUPLICATE_DISTANCE bits while
other pictures are far away; bytes that are no picture are described by their sha256 only."""

from __future__ import annotations

import hashlib
import io
from itertools import combinations

from PIL import Image

from bot.domain.photo_match import DUPLICATE_DISTANCE, distance
from bot.services.photo_images import MAX_PIXELS, THUMB_MAX, examine
from tests.photos.pictures import jpeg, photo, resent, scene


def test_a_photo_gets_its_sha256_size_and_a_bounded_jpeg_thumbnail() -> None:
    data = photo(1)
    seen = examine(data)
    assert seen.sha256 == hashlib.sha256(data).hexdigest() and seen.size == len(data)
    assert (seen.content_type, seen.width, seen.height) == ("image/jpeg", 1280, 960)
    assert seen.thumbnail is not None
    with Image.open(io.BytesIO(seen.thumbnail)) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (THUMB_MAX, 240)
    assert len(seen.thumbnail) < 30_000


def test_rescaled_and_recompressed_copies_stay_close_and_other_pictures_far() -> None:
    """The measurement behind DUPLICATE_DISTANCE: 12 pictures, each rescaled to a half and to 62 % and saved
    again at JPEG quality 60 and 40, against every other picture."""
    hashes = {seed: examine(photo(seed)).phash for seed in range(12)}
    worst_copy = 0
    for seed, value in hashes.items():
        for scale, quality in ((0.5, 60), (0.625, 40)):
            copy = examine(resent(seed, scale=scale, quality=quality)).phash
            assert value is not None and copy is not None
            worst_copy = max(worst_copy, distance(value, copy))
    nearest_other = min(distance(a, b) for a, b in combinations(hashes.values(), 2))  # type: ignore[arg-type]
    assert worst_copy <= DUPLICATE_DISTANCE < nearest_other
    assert nearest_other >= 3 * DUPLICATE_DISTANCE


def test_a_photo_taken_on_its_side_is_turned_upright() -> None:
    upright = scene(3, size=(960, 1280))
    lying = upright.transpose(Image.Transpose.ROTATE_270)  # what the camera stored
    exif = Image.Exif()
    exif[0x0112] = 8  # "turn it a quarter counter-clockwise to show it"
    out = io.BytesIO()
    lying.save(out, "JPEG", quality=90, exif=exif.tobytes())
    seen = examine(out.getvalue())
    assert (seen.width, seen.height) == (960, 1280)
    with Image.open(io.BytesIO(seen.thumbnail or b"")) as thumb:
        assert thumb.size == (240, THUMB_MAX)
    assert distance(seen.phash or 0, examine(jpeg(upright)).phash or 0) <= DUPLICATE_DISTANCE


def test_a_transparent_png_gets_a_white_background_thumbnail() -> None:
    image = Image.new("RGBA", (400, 200), (255, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    seen = examine(out.getvalue())
    assert seen.content_type == "image/png" and seen.thumbnail is not None
    with Image.open(io.BytesIO(seen.thumbnail)) as thumb:
        assert thumb.mode == "RGB" and thumb.getpixel((10, 10)) == (255, 255, 255)


def test_bytes_that_are_no_picture_are_described_by_their_hash_only() -> None:
    for data in (b"", b"not a picture", photo(1)[:200]):
        seen = examine(data)
        assert seen.sha256 == hashlib.sha256(data).hexdigest()
        assert (seen.phash, seen.thumbnail, seen.content_type) == (None, None, "application/octet-stream")


def test_a_picture_claiming_too_many_pixels_is_not_decoded() -> None:
    side = int(MAX_PIXELS ** 0.5) + 10
    out = io.BytesIO()
    Image.new("L", (side, side)).save(out, "PNG")  # compresses to almost nothing
    seen = examine(out.getvalue())
    assert seen.thumbnail is None and seen.phash is None
