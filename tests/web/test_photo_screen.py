"""A photo's page shows a copy of at most 1280 px (``…/screen``), not the photo as sent: a photo sent as a file
may weigh up to 20 MB, which a phone should not download to look at it. The copy is made the first time it is
asked for and kept in the photo store; a tap on it opens the original (``…/file``), unchanged. A photo no
bigger than the copy would be is shown as it is."""

from __future__ import annotations

import io
import random
from datetime import timedelta

from PIL import Image

from bot.services.photo_images import sha256_of
from bot.services.photo_store import open_photo_store, screen_key
from tests.photos.pictures import jpeg, photo
from tests.web.harness import WebHarness, raise_problem
from tests.web.test_evidence_photos import PROBLEM_PHOTOS, keeper, problem_photo_ids


def heavy_photo(seed: int) -> bytes:
    """A 2400 × 1800 JPEG full of detail (noise compresses badly): several MB, as a photo sent as a file is."""
    noise = random.Random(seed).randbytes(2400 * 1800 * 3)
    return jpeg(Image.frombytes("RGB", (2400, 1800), noise), quality=92)


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


async def test_a_heavy_photo_is_shown_at_screen_size_and_opens_as_sent(site: WebHarness) -> None:
    heavy = heavy_photo(1)
    assert len(heavy) > 2_000_000
    day = site.core.clock.now().date() - timedelta(days=1)
    await site.report("ZD2026-001", day, "120", "桩基完成", photos=["AgACheavy", "AgACsmall"])
    assert (await keeper(site, {"AgACheavy": heavy, "AgACsmall": photo(21)}).keep_due()).kept == 2
    async with site.signed_in("郝芳") as hao:
        async with hao.get("/web/project/ZD2026-001") as page:
            html = await page.text()
        heavy_id, small_id = [part.split("/")[0] for part in html.split('src="/web/photo/')[1:3]]
        async with hao.get(f"/web/photo/{heavy_id}") as shown:
            text = await shown.text()
        assert f'<a href="/web/photo/{heavy_id}/file"><img class="photo" src="/web/photo/{heavy_id}/screen"' in text
        async with hao.get(f"/web/photo/{heavy_id}/screen") as screen:
            first = await screen.read()
            assert screen.status == 200 and screen.content_type == "image/jpeg"
            assert "immutable" in screen.headers["Cache-Control"]
        assert max(size_of(first)) == 1280 and size_of(first) == (1280, 960)
        assert len(first) < 1_000_000 < len(heavy)
        assert await open_photo_store(site.state.settings).get(screen_key(sha256_of(heavy))) == first  # kept
        async with hao.get(f"/web/photo/{heavy_id}/screen") as again:
            assert await again.read() == first
        async with hao.get(f"/web/photo/{heavy_id}/file") as original:
            assert await original.read() == heavy  # a tap on the photo: as it was sent
        async with hao.get(f"/web/photo/{small_id}/screen") as small:
            assert await small.read() == photo(21)  # no bigger than a copy would be: shown as it is
    assert not await open_photo_store(site.state.settings).has(screen_key(sha256_of(photo(21))))


async def test_a_problems_heavy_photo_is_shown_at_screen_size(site: WebHarness) -> None:
    heavy = heavy_photo(2)
    number = await raise_problem(site, "ZD2026-001", "郝芳", "区住建局", "还有12户未签约",
                                 photos=[("telegram", "AgACproblem")])
    assert (await keeper(site, {"AgACproblem": heavy}).keep_due()).kept == 1
    [photo_id] = await problem_photo_ids(site)
    async with site.signed_in("郝芳") as hao:
        async with hao.get(f"{PROBLEM_PHOTOS}/{photo_id}") as shown:
            assert f'src="{PROBLEM_PHOTOS}/{photo_id}/screen"' in await shown.text(), number
        async with hao.get(f"{PROBLEM_PHOTOS}/{photo_id}/screen") as screen:
            assert screen.status == 200 and size_of(await screen.read()) == (1280, 960)
    async with site.signed_in("武杰") as wu:  # ZD2026-002's liaison: not his project's problem
        async with wu.get(f"{PROBLEM_PHOTOS}/{photo_id}/screen") as refused:
            assert refused.status == 403
