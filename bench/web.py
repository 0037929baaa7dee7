"""The web pages on a large district: server time of the overview (总览) and the weight of every page.

    python bench/web.py [--projects 10000] [--reports 1000000] [--problems 3000] [--rounds 5] [--seed 7]
                        [--photos 3] [--database PATH] [--page /web/reporting ...]

A fresh SQLite file (WAL) gets the district of ``bench/ranking.py`` (--projects projects, --reports reports
over the working days of 2026 up to 27 November, --problems problems), plus an admin, and the newest 60
reports of ZD2026-00001 (what its page lists) get --photos site photos each, kept as ``diaodu run`` keeps
them (``bot.services.photo_keeper``: the photo store under the data folder, a 320 px thumbnail each; the
pictures are drawn with a photo's detail, so that their thumbnails weigh what a site photo's do, ~20 KB).
With --database the district is kept in that file and reused by the next run (building it takes minutes).

The pages are served as ``diaodu run`` serves them (``bot.web.server.add_web_routes`` on an aiohttp server on
a local port, the standings built in a worker process of ``bot.workers``), the clock stands on Monday 23
November 2026 10:00, and the admin signs in through a one-time link. A middleware times each request inside
the server (from the request's arrival to the response being ready).

- overview at start: the first 总览 as the server starts, while the first standings are being computed in the
  background (the page that says so and reloads itself), and how long that computation took;
- overview, warm: the 总览 with the standings computed, --rounds times, median and max;
- overview during a recomputation: a report arrives and the clock moves on by WEB_STANDINGS_SECONDS, so the
  refresher recomputes the standings in the background (what happens about once a minute while reports come
  in); the 总览 is asked for every 100 ms until the new standings are shown: every one of those views;
- the figures: the standings the pages show are compared with ``current_standings`` computed directly (the
  chat's /rank): they must be the same;
- weight: every page (and the 大屏) with what it loads (stylesheet, icon, script, charts, photo thumbnails),
  bytes on the wire, and the longest the event loop was held while the page was served (a task that asks
  for the loop every 5 ms measures how late it gets it: the other requests' wait);
- with --page PATH (repeatable): that page --rounds times, median and max server time and loop held, and the
  process's CPU time while it was served (worker threads included): what the page costs, whatever the load.

Goals: every overview (at start, warm, during a recomputation) in at most 300 ms of server time (the issue's
goal); no page heavier than 1 MB with what it loads, thumbnails included. The load average is printed with
the times: on a busy machine they stretch with the load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for folder in (REPO, REPO / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import aiohttp  # noqa: E402
import ranking  # noqa: E402  (bench/ranking.py: the same district)
from aiohttp import web  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bot.app import settle_heap  # noqa: E402
from bot.clock import SHANGHAI, FrozenClock  # noqa: E402
from bot.config import Settings, load_settings  # noqa: E402
from bot.services.photo_keeper import PhotoKeeper  # noqa: E402
from bot.services.photo_store import open_photo_store  # noqa: E402
from bot.services.standings import current_standings  # noqa: E402
from bot.services.web_links import make_link  # noqa: E402
from bot.web.server import add_web_routes  # noqa: E402
from bot.workers import Workers  # noqa: E402
from storage.audit import Actor  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Person, PersonRole, Project, Report, ReportPhoto  # noqa: E402
from storage.reports import add_report  # noqa: E402

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
GOAL_MS = 300.0
GOAL_BYTES = 1_000_000
PAGES = ["/web/", "/web/?screen=1", "/web/project/ZD2026-00001", "/web/problems", "/web/units", "/web/towns",
         "/web/town/河西镇", "/web/unit/区住建局", "/web/reporting", "/web/downloads"]
ASSETS = re.compile(r'(?:src|href)="(/web/(?:static/|chart/|photo/\d+/thumb)[^"]*)"')
PHOTOGRAPHED = "ZD2026-00001"
ADMIN = "管理员"


class LoopHeld:
    """While running: the longest the event loop went without getting back to a task that sleeps 5 ms."""

    TICK = 0.005

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.TICK)
            self.longest = max(self.longest, time.perf_counter() - before - self.TICK)

    def __enter__(self) -> LoopHeld:
        self.longest = 0.0
        self._task = asyncio.create_task(self._watch())
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    @property
    def ms(self) -> float:
        return self.longest * 1000


def timing_middleware(times: list[float], cpu: list[float] | None = None) -> Any:
    """Each request's server time in ``times`` (and the process's CPU time meanwhile in ``cpu``)."""
    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        began, began_cpu = time.perf_counter(), time.process_time()
        try:
            return await handler(request)
        finally:
            times.append(time.perf_counter() - began)
            if cpu is not None:
                cpu.append(time.process_time() - began_cpu)

    return middleware


async def run(args: argparse.Namespace) -> bool:
    with tempfile.TemporaryDirectory(prefix="diaodu-bench-web-") as tmp:
        path = Path(args.database) if args.database else Path(tmp) / "web.db"
        data_dir = path.parent / f"{path.stem}-data"
        data_dir.mkdir(exist_ok=True)
        # WEB_PUBLIC_URL set: the pages are in use, their standings are computed from the start (as diaodu run does)
        settings = load_settings(DATABASE_URL=f"sqlite+aiosqlite:///{path}", _env_file=None, DATA_DIR=str(data_dir),
                                 WEB_PUBLIC_URL="http://127.0.0.1")
        db = Database(settings.database_url)
        try:
            if path.exists() and path.stat().st_size > 0 and args.database:
                print(f"district: reused from {path}")
            else:
                await db.create_all()
                built = time.perf_counter()
                counts = await ranking.build_district(db, projects=args.projects, reports=args.reports,
                                                      problems=args.problems, seed=args.seed)
                print(f"district: {counts} (built in {time.perf_counter() - built:.1f} s)")
                async with db.session() as session:
                    session.add(Person(name=ADMIN, active=True, created_at=NOW, roles=[PersonRole(role="admin")]))
                await add_photos(db, settings, args.photos)
            async with db.session() as session:
                admin_id = await session.scalar(select(Person.id).where(Person.name == ADMIN))
                assert admin_id is not None
            return await measure(db, admin_id, settings, args)
        finally:
            await db.dispose()


def site_photo(seed: int) -> bytes:
    """A 1280×960 JPEG with a site photo's amount of detail (its 320 px thumbnail weighs ~20 KB)."""
    import io
    import random

    from PIL import Image

    rng = random.Random(seed)
    size = (1280, 960)
    ground = Image.blend(Image.linear_gradient("L").resize(size).convert("RGB"),
                         Image.new("RGB", size, tuple(rng.randrange(60, 200) for _ in range(3))), 0.5)
    detail = Image.merge("RGB", [Image.effect_noise((320, 240), 50) for _ in range(3)]).resize(size)
    out = io.BytesIO()
    Image.blend(ground, detail, 0.5).save(out, "JPEG", quality=85)
    return out.getvalue()


class DrawnPhotos:
    """The channel the photos come from: draws the picture a file id names."""

    async def fetch(self, file_id: str, *, max_bytes: int) -> bytes:
        return await asyncio.to_thread(site_photo, int(file_id.rsplit("-", 1)[1]))


async def add_photos(db: Database, settings: Settings, per_report: int) -> None:
    """--photos photos on each of the newest 60 reports of PHOTOGRAPHED, kept as the bot keeps them."""
    async with db.session() as session:
        project_id = await session.scalar(select(Project.id).where(Project.code == PHOTOGRAPHED))
        reports = (await session.scalars(select(Report.id).where(Report.project_id == project_id)
                                          .order_by(Report.local_day.desc()).limit(60))).all()
        session.add_all(ReportPhoto(report_id=report_id, channel="telegram", file_id=f"bench-{report_id * 10 + i}",
                                    fetch_after=NOW) for report_id in reports for i in range(per_report))
    keeper = PhotoKeeper(db, FrozenClock(NOW), open_photo_store(settings), {"telegram": DrawnPhotos()})
    kept = 0
    while (done := (await keeper.keep_due()).kept) > 0:
        kept += done
    print(f"photos: {kept} kept on {len(reports)} reports of {PHOTOGRAPHED}")


async def measure(db: Database, admin_id: int, settings: Settings, args: argparse.Namespace) -> bool:
    clock = FrozenClock(NOW)
    times: list[float] = []
    cpu: list[float] = []
    app = web.Application(middlewares=[timing_middleware(times, cpu)])
    workers = Workers()
    state = add_web_routes(app, db=db, clock=clock, settings=settings, workers=workers)
    live = state.standings
    live.check = 0.1  # look often: the clock, moved below, decides when a recomputation is due
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    settle_heap()  # as diaodu run does once started
    began = time.perf_counter()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    overviews: dict[str, list[float]] = {"start": [], "warm": [], "recomputing": []}
    try:
        async with db.session() as session:
            link = await make_link(session, public_url=base, person_id=admin_id, now=clock.now())
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as client:
            async with client.get(link, allow_redirects=False) as response:
                assert response.status == 302, response.status

            held = LoopHeld()

            async def server_ms(path: str, *, ok: tuple[int, ...] = (200,)) -> tuple[float, bytes]:
                times.clear()
                with held:
                    async with client.get(base + path) as response:
                        body = await response.read()
                        assert response.status in ok, (path, response.status)
                return times[-1] * 1000, body

            ms, body = await server_ms("/web/", ok=(200, 503))
            overviews["start"].append(ms)
            shown = "the 正在统计 page" if "正在统计" in body.decode() else "the overview"
            print(f"overview at start: {ms:.0f} ms server time ({shown})")
            await live.ready()
            print(f"first standings computed in the background {time.perf_counter() - began:.1f} s after the start")
            overviews["warm"] = [(await server_ms("/web/"))[0] for _ in range(args.rounds)]
            print(f"overview, warm ({args.rounds} rounds): median {statistics.median(overviews['warm']):.0f} ms, "
                  f"max {max(overviews['warm']):.0f} ms server time")

            seen = live.computed
            async with db.session() as session:  # a report of a project not yet reported today
                today = select(Report.id).where(Report.project_id == Project.id, Report.local_day == NOW.date())
                project = await session.scalar(select(Project).where(Project.liaison_id.is_not(None), ~today.exists())
                                               .order_by(Project.code).limit(1))
                assert project is not None and project.liaison_id is not None
                await add_report(session, project_id=project.id, person_id=project.liaison_id,
                                 local_day=NOW.date(), amount=Decimal(500), progress_text="主体结构施工",
                                 photos=[], channel="telegram", now=NOW, actor=Actor(label="bench", channel="cli"),
                                 project_code=project.code)
            clock.advance(seconds=settings.web_standings_seconds)
            recomputing = time.perf_counter()
            while live.computed == seen:
                overviews["recomputing"].append((await server_ms("/web/"))[0])
                await asyncio.sleep(0.1)
            during = overviews["recomputing"]
            print(f"overview during a recomputation ({time.perf_counter() - recomputing:.1f} s, {len(during)} views): "
                  f"median {statistics.median(during):.0f} ms, max {max(during):.0f} ms server time")
            async with db.session() as session:
                direct = await current_standings(session, today=clock.now().date())
            same = live.latest is not None and live.latest.current == direct
            print(f"figures shown = current_standings computed directly: {'yes' if same else 'NO'}")

            heaviest = 0
            for path in PAGES:
                ms, body = await server_ms(path)
                page_held = held.ms
                total, assets = len(body), sorted(set(ASSETS.findall(body.decode())))
                slowest = 0.0
                for asset in assets:
                    asset_ms, data = await server_ms(asset)
                    total += len(data)
                    slowest = max(slowest, asset_ms)
                heaviest = max(heaviest, total)
                print(f"  {path:<30} {len(body) / 1024:8.1f} KB page, {total / 1024:8.1f} KB with "
                      f"{len(assets)} files it loads, {ms:6.0f} ms server time, loop held {page_held:4.0f} ms "
                      f"(slowest file {slowest:.0f} ms)")
            for path in args.page:
                served, longest, spent = [], [], []
                for _ in range(args.rounds):
                    served.append((await server_ms(path))[0])
                    longest.append(held.ms)
                    spent.append(cpu[-1] * 1000)
                print(f"{path} ({args.rounds} rounds): server time median {statistics.median(served):.0f} ms, max "
                      f"{max(served):.0f} ms; CPU median {statistics.median(spent):.0f} ms, max {max(spent):.0f} ms; "
                      f"loop held median {statistics.median(longest):.0f} ms, max {max(longest):.0f} ms "
                      f"(load average {load_average()})")
    finally:
        await runner.cleanup()
        await asyncio.to_thread(workers.close)
    every = [ms for values in overviews.values() for ms in values]
    worst = max(every)
    ok_time = worst <= GOAL_MS
    ok_size = heaviest <= GOAL_BYTES
    print(f"goal: every overview <= {GOAL_MS:.0f} ms server time: {'PASS' if ok_time else 'FAIL'} "
          f"({len(every)} views, worst {worst:.0f} ms: at start {overviews['start'][0]:.0f} ms; warm median "
          f"{statistics.median(overviews['warm']):.0f} ms; during a recomputation median "
          f"{statistics.median(overviews['recomputing']):.0f} ms, max {max(overviews['recomputing']):.0f} ms; "
          f"load average {load_average()})")
    print(f"goal: every page <= 1 MB with what it loads, thumbnails included: {'PASS' if ok_size else 'FAIL'} "
          f"(heaviest {heaviest / 1024:.1f} KB)")
    print(f"goal: the figures are those /rank computes: {'PASS' if same else 'FAIL'}")
    print(f"verdict: {'PASS' if ok_time and ok_size and same else 'FAIL'}")
    return ok_time and ok_size and same


def load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--problems", type=int, default=3_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--photos", type=int, default=3, help="photos on each of the photographed project's reports")
    parser.add_argument("--database", help="a SQLite file to keep the district in (built if missing, else reused)")
    parser.add_argument("--page", action="append", default=[], help="a page to time --rounds times (repeatable)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
