"""The pages' standings are computed in the background (bot.web.live_standings): a view never waits for them,
before the first result it is told to wait and reload, the figures follow the data within the stated bound
(WEB_STANDINGS_SECONDS after a change, at once after midnight), and stopping the server stops the refresher."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import ClientSession, CookieJar

from bot.clock import SHANGHAI, FrozenClock
from bot.web.live_standings import FULL_REFRESH, LiveStandings, Snapshot
from bot.workers import Workers
from tests.databases import BACKENDS
from tests.e2e.harness import START
from tests.polling import until
from tests.web.harness import ROLE_PEOPLE, WebHarness, sample_database, web_harness

ADMIN = ROLE_PEOPLE["admin"]
T = TypeVar("T")


class HeldWorkers(Workers):
    """Workers whose jobs wait while ``hold`` is cleared (a computation as long as the test wants), then run
    in a thread (reading the database with an engine of their own, as the worker process does)."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = asyncio.Event()
        self.hold.set()
        self.waiting = asyncio.Event()  # set while a job waits for the hold to be lifted

    async def run(self, function: Callable[..., T], /, *args: Any) -> T:
        if not self.hold.is_set():
            self.waiting.set()
            await self.hold.wait()
            self.waiting.clear()
        return await asyncio.to_thread(function, *args)


@asynccontextmanager
async def held_site(backend: str, template: Path, folder: Path, held: HeldWorkers,
                    **options: Any) -> AsyncIterator[WebHarness]:
    """The pages with ``held`` as their worker, on a database it can open too (a SQLite file, PostgreSQL)."""
    async with sample_database(backend, template, folder) as url:
        async with web_harness(template, folder, url=url, workers=held, **options) as site:
            yield site


async def next_computation(live: LiveStandings, seen: int) -> Snapshot:
    """The snapshot of the first computation to end after ``seen`` had."""
    await until(lambda: live.computed > seen, "a computation to end", 30, every=0.01)
    assert live.latest is not None
    return live.latest


async def look_often(live: LiveStandings) -> None:
    """Restart the refresher looking every 10 ms (real time): the frozen clock alone decides what is due."""
    await live.stop()
    live.check = 0.01
    live.start()


async def overview(client: ClientSession) -> tuple[int, str]:
    async with client.get("/web/") as response:
        return response.status, await response.text()


def as_of(page: str) -> str:
    found = re.search(r"截至 (\S+)，数据截至 ([0-9: -]+)</small>", page)
    assert found is not None, page[:2000]
    return f"{found.group(1)} {found.group(2)}"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_view_before_the_first_standings_is_told_to_wait(backend: str, ledger_template: Path,
        tmp_path: Path) -> None:
    held = HeldWorkers()
    held.hold.clear()
    async with held_site(backend, ledger_template, tmp_path, held, wait_for_standings=False) as site:
        live = site.state.standings
        assert not live.running  # without WEB_PUBLIC_URL nobody was expected: the first view starts it
        async with site.browser() as client:
            async with client.get(await site.link(ADMIN, "/web/problems")) as response:
                assert response.status == 200  # a page without standings does not wait for them
            for path in ("/web/", "/web/units", "/web/town/龙首新区", "/web/download/ledger.xlsx"):
                began = time.perf_counter()
                async with client.get(path) as response:
                    page = await response.text()
                    assert response.status == 503, path
                    assert response.headers["Retry-After"] == "3"
                    assert "'nonce-" in response.headers["Content-Security-Policy"]
                assert time.perf_counter() - began < 5
                assert "正在统计，请稍候" in page and '<meta http-equiv="refresh" content="3">' in page
                assert "<script" not in page
            await asyncio.wait_for(held.waiting.wait(), 10)  # the computation under way, held
            assert live.latest is None
            held.hold.set()
            await live.ready()
            status, page = await overview(client)
    assert status == 200 and as_of(page) == "2026-11-20 10:00"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_with_a_public_address_the_standings_are_computed_at_start(backend: str, ledger_template: Path,
                                                                        tmp_path: Path) -> None:
    held = HeldWorkers()
    held.hold.clear()
    async with held_site(backend, ledger_template, tmp_path, held, wait_for_standings=False,
                         WEB_PUBLIC_URL="https://dd.example.gov.cn") as site:
        await asyncio.wait_for(held.waiting.wait(), 10)  # no page was asked for
        assert site.state.standings.running
        held.hold.set()
        snapshot = await site.state.standings.ready()
    assert snapshot.at == START and snapshot.today == date(2026, 11, 20)
    assert snapshot.last_week.cutoff == date(2026, 11, 15)  # last week's end, for the overview's change


async def test_the_standings_follow_the_data_within_the_bound(site: WebHarness) -> None:
    live, clock = site.state.standings, site.core.clock
    assert isinstance(clock, FrozenClock) and live.refresh == 60
    await look_often(live)
    first = await live.ready()
    before = next(p for p in first.current.projects if p.code == "ZD2026-001").ytd_done
    async with site.signed_in(ADMIN) as client:
        await site.report("ZD2026-001", date(2026, 11, 20), "5000", "主体结构封顶")
        clock.advance(seconds=59)
        await asyncio.sleep(0.3)  # some thirty looks: not a minute since the last computation yet
        assert live.latest is first and as_of((await overview(client))[1]) == "2026-11-20 10:00"
        seen = live.computed
        clock.advance(seconds=1)
        changed = await next_computation(live, seen)  # a minute on, the report is seen
        assert next(p for p in changed.current.projects if p.code == "ZD2026-001").ytd_done == before + 5000
        assert as_of((await overview(client))[1]) == "2026-11-20 10:01"

        clock.advance(seconds=60)
        await asyncio.sleep(0.3)
        assert live.latest is changed  # nothing changed: nothing recomputed
        seen = live.computed
        clock.advance(seconds=FULL_REFRESH * 60 - 60)
        await next_computation(live, seen)  # ten minutes on, recomputed all the same


    seen = live.computed
    clock.set(datetime(2026, 11, 21, 0, 0, 1, tzinfo=SHANGHAI))
    tomorrow = await next_computation(live, seen)  # after midnight at once
    assert tomorrow.today == date(2026, 11, 21) and tomorrow.current.cutoff == date(2026, 11, 21)
    async with site.signed_in(ADMIN) as client:
        assert as_of((await overview(client))[1]) == "2026-11-21 00:00"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_views_during_a_computation_read_the_last_standings(backend: str, ledger_template: Path,
        tmp_path: Path) -> None:
    held = HeldWorkers()
    async with held_site(backend, ledger_template, tmp_path, held) as site:
        live = site.state.standings
        await look_often(live)
        async with site.signed_in(ADMIN) as client:
            held.hold.clear()
            await site.report("ZD2026-001", date(2026, 11, 20), "5000", "主体结构封顶")
            site.core.clock.advance(seconds=60)  # type: ignore[attr-defined]
            await asyncio.wait_for(held.waiting.wait(), 10)  # the new computation under way
            status, page = await overview(client)
            assert status == 200 and as_of(page) == "2026-11-20 10:00"  # at once, with the last figures
            seen = live.computed
            held.hold.set()
            await next_computation(live, seen)
            assert as_of((await overview(client))[1]) == "2026-11-20 10:01"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_stopping_the_server_stops_the_refresher(backend: str, ledger_template: Path,
        tmp_path: Path) -> None:
    held = HeldWorkers()
    held.hold.clear()
    async with held_site(backend, ledger_template, tmp_path, held, wait_for_standings=False,
                         WEB_PUBLIC_URL="https://dd.example.gov.cn") as site:
        live = site.state.standings
        await asyncio.wait_for(held.waiting.wait(), 10)  # stopped in the middle of a computation
    assert not live.running
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "web-standings"]


async def test_diaodu_run_builds_them_in_its_worker_process_and_stops_cleanly(tmp_path: Path) -> None:
    """`diaodu run` with WEB_PUBLIC_URL: the standings are built at start-up in the worker process, the pages
    show them, and stopping the bot leaves no refresher behind."""
    from bot.services.web_links import make_link
    from storage.db import Database
    from storage.migrate import upgrade
    from storage.models import Person, PersonRole
    from tests.e2e.harness import e2e_settings, serving
    from tests.fakes.bot_api import FakeBotAPI

    url = f"sqlite+aiosqlite:///{tmp_path / 'serve.sqlite3'}"
    await asyncio.to_thread(upgrade, url)
    async with FakeBotAPI() as fake:
        # http: the cookie is not Secure. The port is the one the system picks, known once the bot listens.
        settings = e2e_settings(fake, DATABASE_URL=url, HTTP_HOST="127.0.0.1", HTTP_PORT=0, DATA_DIR=str(tmp_path),
                                WEB_PUBLIC_URL="http://127.0.0.1")
        task, stop, port = await serving(settings)
        try:
            db = Database(url)
            try:
                async with db.session() as session:
                    admin = Person(name="管理员", active=True, created_at=START, roles=[PersonRole(role="admin")])
                    session.add(admin)
                    await session.flush()
                    link = await make_link(session, public_url=f"http://127.0.0.1:{port}", person_id=admin.id,
                                           now=datetime.now(SHANGHAI))
            finally:
                await db.dispose()
            async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as client:
                async with asyncio.timeout(60):
                    async with client.get(link, allow_redirects=False) as response:
                        assert response.status == 302, await response.text()
                    while True:  # until the worker process has built the first standings
                        async with client.get(f"http://127.0.0.1:{port}/web/") as response:
                            page = await response.text()
                            if response.status == 200:
                                break
                            assert response.status == 503 and "正在统计" in page
                        await asyncio.sleep(0.1)
            assert "重点项目总览" in page and "数据截至" in page
            assert [t for t in asyncio.all_tasks() if t.get_name() == "web-standings"]
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "web-standings"]


async def test_standings_come_back_from_the_worker_as_they_left(site: WebHarness,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.services import standings_worker
    from bot.services.standings import current_standings

    monkeypatch.setattr(standings_worker, "SLICE", 7)  # several slices of the sample ledger's projects
    async with site.core.db.session() as session:
        standings = await current_standings(session, today=date(2026, 11, 20))
    head, slices = standings_worker.pack(standings)
    assert len(slices) == -(-len(standings.projects) // 7) > 1
    back = await standings_worker.unpack((head, slices))
    assert back == standings and back.praised and back.warned
    for named in (back.praised, back.urged, back.warned, back.not_started):
        assert all(any(p is q for q in back.projects) for p in named)  # the same objects, not copies


async def test_the_trend_chart_is_drawn_with_the_standings(site: WebHarness) -> None:
    """The overview's chart is drawn by the refresher with each snapshot; a view gets those very bytes."""
    from bot.web.pages.downloads import TREND, TREND_NARROW

    snapshot = await site.state.standings.ready()
    drawn, narrow = snapshot.derived[TREND], snapshot.derived[TREND_NARROW]
    assert drawn.lstrip().startswith(b"<?xml") and narrow.lstrip().startswith(b"<?xml") and drawn != narrow
    async with site.signed_in(ADMIN) as client:
        async with client.get("/web/chart/trend.svg") as response:
            assert response.status == 200 and await response.read() == drawn
        async with client.get("/web/chart/trend.svg?narrow=1") as response:  # a phone's (bot.web.charts)
            assert response.status == 200 and await response.read() == narrow
