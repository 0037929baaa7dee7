"""Site photos for the tests, drawn with Pillow: a scene per seed, saved as JPEG, and the same scene
re-encoded or rescaled (what a liaison's phone does when a picture is forwarded again)."""

from __future__ import annotations

import io
import random
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFilter


@lru_cache(maxsize=64)
def _scene(seed: int, size: tuple[int, int]) -> Image.Image:
    rng = random.Random(seed)
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.rectangle([x, y, x + rng.randrange(50, 500), y + rng.randrange(50, 400)],
                       fill=tuple(rng.randrange(256) for _ in range(3)))
    return image.filter(ImageFilter.GaussianBlur(2))


def scene(seed: int, size: tuple[int, int] = (1280, 960)) -> Image.Image:
    """A picture of coloured blocks, different for every seed (drawn once, a copy each time)."""
    return _scene(seed, size).copy()


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


@lru_cache(maxsize=64)
def photo(seed: int) -> bytes:
    """A JPEG of scene `seed` as a phone would send it."""
    return jpeg(scene(seed))


def resent(seed: int, *, scale: float = 0.5, quality: int = 60) -> bytes:
    """The same scene rescaled and saved again at a lower quality: other bytes, the same picture."""
    image = scene(seed)
    return jpeg(image.resize((int(image.width * scale), int(image.height * scale))), quality)
