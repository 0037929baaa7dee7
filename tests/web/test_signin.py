"""Signing in with a one-time link, the session cookie, logout, idle expiry and deactivation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from yarl import URL

from bot.clock import FrozenClock
from storage.models import Person, WebLink, WebSession
from tests.databases import BACKENDS
from tests.e2e.harness import START
from tests.web.harness import ROLE_PEOPLE, WebHarness, sample_database, web_harness


async def test_a_link_signs_in_once_and_leads_to_its_page(site: WebHarness) -> None:
    link = await site.link("郝芳", "/web/project/ZD2026-001")
    async with site.browser() as client:
        async with client.get(link, allow_redirects=False) as response:
            assert response.status == 302
            assert response.headers["Location"] == "/web/project/ZD2026-001"
            cookie = response.cookies["diaodu_session"]
            assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/web"
            assert not cookie["secure"]  # WEB_PUBLIC_URL is not https here
        async with client.get("/web/project/ZD2026-001") as response:
            assert response.status == 200
            assert "城北高速连接线" in await response.text()
    async with site.browser() as other:  # the same link again, in another browser
        async with other.get(link, allow_redirects=False) as response:
            assert response.status == 403
            assert "已使用过" in await response.text()
            assert "diaodu_session" not in response.cookies


async def test_an_expired_link_is_refused(site: WebHarness) -> None:
    link = await site.link("郝芳")
    site.core.clock.advance(minutes=10, seconds=1)  # type: ignore[attr-defined]
    async with site.browser() as client:
        async with client.get(link, allow_redirects=False) as response:
            assert response.status == 403
            assert "已过期" in await response.text()


async def test_a_foreign_or_forged_link_is_refused(site: WebHarness) -> None:
    link = await site.link("郝芳")
    forged = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
    async with site.browser() as client:
        for url in (forged, f"{site.base}/web/login?t=", f"{site.base}/web/login"):
            async with client.get(url, allow_redirects=False) as response:
                assert response.status == 403, url
                assert "无效" in await response.text()
        async with client.get("/web/", allow_redirects=False) as response:
            assert response.status == 302  # nothing signed in


async def test_a_link_never_leads_off_site(site: WebHarness) -> None:
    for target in ("https://evil.example/web/", "//evil.example/web/", "/healthz", "/web/\\evil"):
        async with site.browser() as client:
            async with client.get(await site.link("郝芳", target), allow_redirects=False) as response:
                assert response.headers["Location"] == "/web/", target


async def test_only_hashes_are_stored(site: WebHarness) -> None:
    link = await site.link("郝芳")
    token = link.rsplit("t=", 1)[1]
    async with site.browser() as client:
        async with client.get(link, allow_redirects=False) as response:
            session_id = response.cookies["diaodu_session"].value
    async with site.core.db.session() as session:
        stored = [*(await session.scalars(select(WebLink.token_hash))).all(),
                  *(await session.scalars(select(WebSession.id_hash))).all()]
    assert stored and all(len(value) == 64 for value in stored)
    assert token not in stored and session_id not in stored


async def test_logout_ends_the_session(site: WebHarness) -> None:
    async with site.signed_in("郝芳") as client:
        async with client.post("/web/logout") as response:
            assert response.status == 200 and "已退出" in await response.text()
        async with client.get("/web/", allow_redirects=False) as response:
            assert response.status == 302
    async with site.core.db.session() as session:
        assert all(s.ended_at is not None for s in (await session.scalars(select(WebSession))).all())


async def test_a_session_ends_after_the_idle_limit(site: WebHarness) -> None:
    async with site.signed_in("郝芳") as client:
        site.core.clock.advance(hours=11)  # type: ignore[attr-defined]
        async with client.get("/web/", allow_redirects=False) as response:
            assert response.status == 200  # seen: the idle clock starts again
        site.core.clock.advance(hours=11, minutes=59)  # type: ignore[attr-defined]
        async with client.get("/web/", allow_redirects=False) as response:
            assert response.status == 200
        site.core.clock.advance(hours=12)  # type: ignore[attr-defined]
        async with client.get("/web/project/ZD2026-001", allow_redirects=False) as response:
            assert response.status == 302
        # Opened again (a bookmark, a link in the chat), the page says the sign-in lapsed, and why.
        async with client.get("/web/project/ZD2026-001") as response:
            page = await response.text()
        assert "您的登录已失效（连续 12 小时未使用会自动退出" in page and "/web" in page
        assert response.url.path == "/web/signin"
        assert dict(response.url.query) == {"next": "/web/project/ZD2026-001", "why": "ended"}
    async with site.browser() as stranger:  # never signed in: only how to sign in
        async with stranger.get("/web/project/ZD2026-001") as response:
            assert "已失效" not in await response.text()


async def test_deactivation_ends_the_session(site: WebHarness) -> None:
    async with site.signed_in("郝芳") as client:
        async with client.get("/web/", allow_redirects=False) as response:
            assert response.status == 200
        async with site.core.db.session() as session:
            person = await session.scalar(select(Person).where(Person.name == "郝芳"))
            assert person is not None
            person.active = False
        async with client.get("/web/", allow_redirects=False) as response:
            assert response.status == 302
    async with site.core.db.session() as session:
        assert all(s.ended_at is not None for s in (await session.scalars(select(WebSession))).all())
    async with site.browser() as client:  # nor can a new link sign them in
        async with client.get(await site.link("郝芳"), allow_redirects=False) as response:
            assert response.status == 403 and "停用" in await response.text()


async def test_sessions_outlive_the_process(site: WebHarness, ledger_template: Path, tmp_path: Path) -> None:
    """Sessions are in the database: a second server on it (another process, or after a restart) knows them."""
    from aiohttp import web

    from bot.web.server import add_web_routes
    from tests.fakes.serving import serve_locally

    async with site.signed_in(ROLE_PEOPLE["admin"]) as client:
        app = web.Application()
        other = add_web_routes(app, db=site.core.db, clock=site.core.clock, settings=site.state.settings)
        runner, port = await serve_locally(app)
        try:
            await other.standings.ready()
            async with client.get(f"http://127.0.0.1:{port}/web/", allow_redirects=False) as response:
                assert response.status == 200
        finally:
            await runner.cleanup()


async def test_https_makes_the_cookie_secure(ledger_template: Path, tmp_path: Path) -> None:
    async with web_harness(ledger_template, tmp_path, WEB_PUBLIC_URL="https://dd.example.gov.cn") as harness:
        async with harness.browser() as client:
            async with client.get(await harness.link("郝芳"), allow_redirects=False) as response:
                assert response.cookies["diaodu_session"]["secure"]


async def test_every_answer_carries_the_security_headers(site: WebHarness) -> None:
    async with site.signed_in("郝芳") as client:
        for path in ("/web/", "/web/project/ZD2026-001", "/web/chart/trend.svg", "/web/static/app.css"):
            async with client.get(path) as response:
                csp = response.headers["Content-Security-Policy"]
                assert "default-src 'none'" in csp and "script-src 'self' 'nonce-" in csp
                assert "https://" not in csp.split("frame-ancestors")[0]  # nothing loaded from elsewhere
                assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_two_servers_on_one_database_share_the_sessions(backend: str, ledger_template: Path,
                                                               tmp_path: Path) -> None:
    """Two processes on one database (each with its own engine and server, as on PostgreSQL): signed in on
    one, served by the other; logged out on one, signed out of both."""
    async with sample_database(backend, ledger_template, tmp_path) as url:
        clock = FrozenClock(START)
        async with (web_harness(ledger_template, tmp_path, url=url, clock=clock) as first,
                    web_harness(ledger_template, tmp_path, url=url, clock=clock) as second):
            assert first.core.db is not second.core.db and first.base != second.base
            async with first.signed_in("郝芳") as client:  # the cookie goes to either port of 127.0.0.1
                async with client.get(f"{second.base}/web/project/ZD2026-001", allow_redirects=False) as response:
                    assert response.status == 200 and "城北高速连接线" in await response.text()
                cookie = client.cookie_jar.filter_cookies(URL(f"{first.base}/web/"))["diaodu_session"].value
                async with second.browser() as elsewhere:  # logged out there (this browser keeps its cookie)
                    elsewhere.cookie_jar.update_cookies({"diaodu_session": cookie}, URL(f"{second.base}/web/"))
                    async with elsewhere.post("/web/logout") as response:
                        assert response.status == 200 and "已退出" in await response.text()
                for server in (first, second):
                    async with client.get(f"{server.base}/web/", allow_redirects=False) as response:
                        assert response.status == 302, server.base
            async with second.signed_in(ROLE_PEOPLE["admin"]) as client:
                async with client.get(f"{first.base}/web/", allow_redirects=False) as response:
                    assert response.status == 200


async def test_a_link_opened_again_where_its_person_is_signed_in_goes_on_to_its_page(site: WebHarness) -> None:
    """A second tap on the same link (or the browser's history) finds its person signed in: no error, the page.
    In a browser where someone else is signed in, the used link is refused as ever."""
    link = await site.link("郝芳", "/web/project/ZD2026-001")
    async with site.browser() as client:
        async with client.get(link) as first:
            assert first.status == 200 and "城北高速连接线" in await first.text()
        async with client.get(link, allow_redirects=False) as again:
            assert again.status == 302 and again.headers["Location"] == "/web/project/ZD2026-001"
    async with site.signed_in("武杰") as other:
        async with other.get(link, allow_redirects=False) as refused:
            assert refused.status == 403 and "已使用过" in await refused.text()


async def test_another_persons_link_replaces_the_browsers_session(site: WebHarness) -> None:
    """One browser, two people (a shared office computer): 郝芳 is signed in, 武杰 opens his own link. The
    browser is now 武杰's, and 郝芳's session has ended (her old cookie no longer opens anything)."""
    async with site.signed_in("郝芳") as client:
        hers = next(c.value for c in client.cookie_jar if c.key == "diaodu_session")
        async with client.get(await site.link("武杰")) as response:
            assert response.status == 200 and "武杰" in await response.text()
    async with site.browser() as stale:
        stale.cookie_jar.update_cookies({"diaodu_session": hers})
        async with stale.get("/web/", allow_redirects=False) as response:
            assert response.status == 302 and response.headers["Location"].startswith("/web/signin")
