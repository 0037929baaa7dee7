"""The web pages' photos kept in an S3-compatible bucket (``PHOTO_STORE=s3://…``): the pages keep one client,
so its connections to the bucket serve photo after photo. A client made for every photo opened a connection
(over the internet, a TLS handshake) for each thumbnail of a project page, some three times slower even on a
local bucket, and made boto3 clients in several threads at once from its one default session, which boto3
does not support.

The bucket is a small S3 stand-in that keeps connections open between requests as S3 does (moto's server
closes each one) and counts them; the photos are kept in a folder by the photo keeper, then copied into it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web

from bot.services.photo_keeper import PhotoKeeper
from bot.services.photo_store import LocalPhotoStore
from tests.fakes.s3 import ACCESS_KEY, REGION, SECRET_KEY
from tests.fakes.serving import serve_locally
from tests.photos.pictures import photo
from tests.web.harness import ROLE_PEOPLE, web_harness
from tests.web.test_evidence_photos import Files

pytest.importorskip("boto3")

BUCKET = "photos"
NO_SUCH_KEY = "<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchKey</Code><Message>none</Message></Error>"


class Bucket:
    """GET and HEAD of the objects of one bucket (path-style addresses), over connections kept open."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.connections: set[object] = set()  # the client ends seen (host, port): one per connection

    async def answer(self, request: web.Request) -> web.Response:
        self.connections.add(request.transport.get_extra_info("peername") if request.transport else None)
        data = self.objects.get(request.match_info["key"]) if request.match_info["bucket"] == BUCKET else None
        if data is None:
            return web.Response(status=404, body=b"" if request.method == "HEAD" else NO_SUCH_KEY.encode(),
                                content_type="application/xml")
        return web.Response(body=data, content_type="application/octet-stream",
                            headers={"ETag": '"0"'})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{bucket}/{key:.+}", self.answer)  # and HEAD
        return app


async def test_a_project_pages_thumbnails_come_over_the_same_connection_to_the_bucket(
        ledger_template: Path, tmp_path: Path) -> None:
    objects: dict[str, bytes] = {}
    bucket = Bucket(objects)
    runner, port = await serve_locally(bucket.app())
    settings = {"PHOTO_STORE": f"s3://{BUCKET}", "PHOTO_S3_ENDPOINT": f"http://127.0.0.1:{port}",
                "PHOTO_S3_REGION": REGION, "PHOTO_S3_ACCESS_KEY": ACCESS_KEY, "PHOTO_S3_SECRET_KEY": SECRET_KEY}
    try:
        async with web_harness(ledger_template, tmp_path, **settings) as site:
            today = site.core.clock.now().date()
            files = {}
            for back in range(4):
                ids = [f"AgACbucket{back}-{i}" for i in range(3)]
                files.update({file_id: photo(60 + 3 * back + i) for i, file_id in enumerate(ids)})
                await site.report("ZD2026-001", today - timedelta(days=back), "10", "主体施工", photos=ids)
            # kept in a folder (the keeper as the bot runs it), then put in the bucket under the same keys
            folder = tmp_path / "kept"
            local = PhotoKeeper(site.core.db, site.core.clock, LocalPhotoStore(folder), {"telegram": Files(files)})
            while (await local.keep_due()).kept:
                pass
            objects.update({str(path.relative_to(folder)): path.read_bytes()
                            for path in folder.rglob("*") if path.is_file()})
            async with site.signed_in(ROLE_PEOPLE["lead"]) as browser:
                async with browser.get("/web/project/ZD2026-001") as page:
                    html = await page.text()
                thumbnails = [part.split('"')[0] for part in html.split('src="')[1:]
                              if part.split('"')[0].endswith("/thumb")]
                assert len(thumbnails) == 12
                for address in thumbnails:  # one after another, as a phone on a slow line loads them
                    async with browser.get(address) as thumbnail:
                        assert thumbnail.status == 200 and (await thumbnail.read())[:2] == b"\xff\xd8"
                async with browser.get(thumbnails[0].removesuffix("/thumb")) as enlarged:  # asks if it is kept
                    assert enlarged.status == 200 and "/screen" in await enlarged.text()
    finally:
        await runner.cleanup()
    assert len(bucket.connections) == 1, len(bucket.connections)
