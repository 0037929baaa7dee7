"""The web pages' photos kept in an S3-compatible bucket (``PHOTO_STORE=s3://…``): the pages keep one client,
so its connections to the bucket serve photo after photo. A client made for every photo opened a connection
(over the internet, a TLS handshake) for each thumbnail of a project page, some three times slower even on a
local bucket, and made boto3 clients in several threads at once from its one default session, which boto3
does not support.

The bucket is a small S3 stand-in that keeps connections open between requests as S3 does (moto's server
closes each one) and counts them; the photos are kept in a folder by the photo keeper, then copied into it."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select

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


class DownBucket(Bucket):
    """The bucket, answering 503 to everything while ``down`` (an S3 service failing, after the client's retries)."""

    down = False

    async def answer(self, request: web.Request) -> web.Response:
        if self.down:
            return web.Response(status=503, body=b"" if request.method == "HEAD" else
                                b"<Error><Code>ServiceUnavailable</Code><Message>down</Message></Error>",
                                content_type="application/xml")
        return await super().answer(request)


async def test_a_bucket_that_cannot_be_read_leaves_the_pages_working_and_tells_the_office(
        ledger_template: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The photo's page still says whose report it is and where it stands among its photos, and that the photo is
    kept but cannot be shown now; its bytes answer 503 (a thumbnail a stand-in saying so), never a server error;
    the log says it once with the cause; lasting five minutes, the admins hear of it and /readyz names it."""
    from bot.ops.health import health
    from bot.services.photo_store_fault import StoreFaultNotices
    from storage.models import OutboxMessage, ReportPhoto

    objects: dict[str, bytes] = {}
    bucket = DownBucket(objects)
    runner, port = await serve_locally(bucket.app())
    settings = {"PHOTO_STORE": f"s3://{BUCKET}", "PHOTO_S3_ENDPOINT": f"http://127.0.0.1:{port}",
                "PHOTO_S3_REGION": REGION, "PHOTO_S3_ACCESS_KEY": ACCESS_KEY, "PHOTO_S3_SECRET_KEY": SECRET_KEY}
    try:
        async with web_harness(ledger_template, tmp_path, **settings) as site:
            clock = site.core.clock
            site.state.store_faults = faults = StoreFaultNotices(site.core.db, clock)
            files = {"AgACdown-0": photo(90), "AgACdown-1": photo(91)}
            await site.report("ZD2026-001", clock.now().date(), "10", "主体施工", photos=list(files))
            folder = tmp_path / "kept"
            local = PhotoKeeper(site.core.db, clock, LocalPhotoStore(folder), {"telegram": Files(files)})
            assert (await local.keep_due()).kept == 2
            objects.update({str(path.relative_to(folder)): path.read_bytes()
                            for path in folder.rglob("*") if path.is_file()})
            async with site.core.db.session() as session:
                first, second = (await session.scalars(select(ReportPhoto.id).order_by(ReportPhoto.id))).all()
            bucket.down = True
            async with site.signed_in(ROLE_PEOPLE["admin"]) as browser:
                with caplog.at_level(logging.WARNING):
                    async with browser.get(f"/web/photo/{first}") as page:
                        text = await page.text()
                    assert page.status == 200, text
                    assert "照片库暂时无法访问，这张照片现在无法显示。照片本身已保存" in text
                    assert "第 1 张，共 2 张" in text and f'href="/web/photo/{second}"' in text
                    assert "/screen" not in text
                    for kind in ("thumb", "file", "screen"):
                        async with browser.get(f"/web/photo/{second}/{kind}") as answer:
                            body = (await answer.read()).decode()
                            assert answer.status == 503 and answer.headers["Retry-After"] == "60", body
                            assert answer.headers["Cache-Control"] == "no-store"
                            assert ("暂时无法显示" if kind == "thumb" else "照片本身已保存，不会丢失") in body
                    async with browser.get("/web/project/ZD2026-001") as project:
                        assert project.status == 200 and f"/web/photo/{first}/thumb" in await project.text()
                said = [r for r in caplog.records if "cannot be read" in r.getMessage()]
                assert len(said) == 1 and "503" in said[0].getMessage() and said[0].exc_info is None
                assert await faults.current() is None  # five failing seconds are no fault yet
                clock.advance(minutes=6)
                async with browser.get(f"/web/photo/{first}/thumb") as answer:
                    assert answer.status == 503
                await site.state.photo_reads.told()
                status, report = await health(site.core.db, clock, ready=True, store_faults=faults)
                assert status == 503 and report["photo_store_fault"]["reading"] is True
                assert "photo store cannot be read" in report["problems"]
                async with site.core.db.session() as session:
                    told = (await session.scalars(select(OutboxMessage.payload))).all()
                assert len(told) >= 1 and all("照片库暂时无法访问" in payload["html"] for payload in told)
                bucket.down = False
                async with browser.get(f"/web/photo/{first}/thumb") as answer:
                    assert answer.status == 200 and (await answer.read())[:2] == b"\xff\xd8"
                await site.state.photo_reads.told()
                assert await faults.current() is None
                async with site.core.db.session() as session:
                    told = (await session.scalars(select(OutboxMessage.payload))).all()
                assert any("照片库已恢复访问" in payload["html"] for payload in told)
    finally:
        await runner.cleanup()
