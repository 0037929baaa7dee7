"""The web pages on a large district: server time of the overview (总览) and the weight of every page.

    python bench/web.py [--projects 10000] [--reports 1000000] [--problems 3000] [--rounds 5] [--seed 7]

A fresh SQLite file (WAL) gets the district of ``bench/ranking.py`` (--projects projects, --reports reports
over the working days of 2026 up to 27 November, --problems problems), plus an admin. The pages are served
as ``diaodu run`` serves them (``bot.web.server.add_web_routes`` on an aiohttp server on a local port), the
clock stands on Monday 23 November 2026 10:00, and the admin signs in through a one-time link. A middleware
times each request inside the server (from the request's arrival to the response being ready).

- overview, cold: the first 总览 after start (or after the standings cache's minute runs out): the standings
  of today and of last week's end are computed (``bot.services.standings``);
- overview, warm: the 总览 while the cache holds the standings (what page views and the 大屏's refresh get
  within a minute of each other), --rounds times, median and max;
- weight: every page (and the 大屏) with what it loads (stylesheet, icon, script, charts), bytes on the wire.

Goals: every overview, cold and warm, in at most 300 ms of server time (the issue's goal: a person opening the
page after the cache ran out waits for the cold one); no page heavier than 1 MB with what it loads. The load
average is printed with the times: on a busy machine they stretch with the load.
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
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for folder in (REPO, REPO / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import aiohttp  # noqa: E402
import ranking  # noqa: E402  (bench/ranking.py: the same district)
from aiohttp import web  # noqa: E402

from bot.clock import SHANGHAI, FrozenClock  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.services.web_links import make_link  # noqa: E402
from bot.web.server import add_web_routes  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Person, PersonRole  # noqa: E402

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
GOAL_MS = 300.0
GOAL_BYTES = 1_000_000
PAGES = ["/web/", "/web/?screen=1", "/web/project/ZD2026-00001", "/web/problems", "/web/units", "/web/towns",
         "/web/reporting", "/web/downloads"]
ASSETS = re.compile(r'(?:src|href)="(/web/(?:static|chart)/[^"]+)"')


def timing_middleware(times: list[float]) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        began = time.perf_counter()
        try:
            return await handler(request)
        finally:
            times.append(time.perf_counter() - began)

    return middleware


async def run(args: argparse.Namespace) -> bool:
    with tempfile.TemporaryDirectory(prefix="diaodu-bench-web-") as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'web.db'}")
        try:
            await db.create_all()
            built = time.perf_counter()
            counts = await ranking.build(db, argparse.Namespace(
                seed=args.seed, towns=20, units=60, projects=args.projects, reports=args.reports,
                problems=args.problems, chunk=20_000, analyze=False))
            print(f"district: {counts} (built in {time.perf_counter() - built:.1f} s)")
            async with db.session() as session:
                admin = Person(name="管理员", active=True, created_at=NOW, roles=[PersonRole(role="admin")])
                session.add(admin)
                await session.flush()
                admin_id = admin.id
            return await measure(db, admin_id, Path(tmp), args)
        finally:
            await db.dispose()


async def measure(db: Database, admin_id: int, data_dir: Path, args: argparse.Namespace) -> bool:
    clock = FrozenClock(NOW)
    settings = load_settings(DATABASE_URL=db.url, _env_file=None, DATA_DIR=str(data_dir))
    times: list[float] = []
    app = web.Application(middlewares=[timing_middleware(times)])
    add_web_routes(app, db=db, clock=clock, settings=settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with db.session() as session:
            link = await make_link(session, public_url=base, person_id=admin_id, now=clock.now())
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as client:
            async with client.get(link, allow_redirects=False) as response:
                assert response.status == 302, response.status
            async def server_ms(path: str) -> tuple[float, bytes]:
                times.clear()
                async with client.get(base + path) as response:
                    body = await response.read()
                    assert response.status == 200, (path, response.status)
                return times[-1] * 1000, body

            cold, _ = await server_ms("/web/")
            warm = [(await server_ms("/web/"))[0] for _ in range(args.rounds)]
            print(f"overview, cold (standings computed): {cold:.0f} ms server time")
            print(f"overview, warm ({args.rounds} rounds): median {statistics.median(warm):.0f} ms, "
                  f"max {max(warm):.0f} ms server time")
            heaviest = 0
            for path in PAGES:
                ms, body = await server_ms(path)
                total, assets = len(body), sorted(set(ASSETS.findall(body.decode())))
                for asset in assets:
                    async with client.get(base + asset) as response:
                        total += len(await response.read())
                heaviest = max(heaviest, total)
                print(f"  {path:<30} {len(body) / 1024:8.1f} KB page, {total / 1024:8.1f} KB with "
                      f"{len(assets)} files it loads, {ms:6.0f} ms server time")
    finally:
        await runner.cleanup()
    worst = max(cold, *warm)
    ok_time = worst <= GOAL_MS
    ok_size = heaviest <= GOAL_BYTES
    print(f"goal: every overview <= {GOAL_MS:.0f} ms server time (cold and warm): {'PASS' if ok_time else 'FAIL'} "
          f"(cold {cold:.0f} ms; warm median {statistics.median(warm):.0f} ms, max {max(warm):.0f} ms; "
          f"load average {load_average()})")
    print(f"goal: every page <= 1 MB with what it loads: {'PASS' if ok_size else 'FAIL'} "
          f"(heaviest {heaviest / 1024:.1f} KB)")
    print(f"verdict: {'PASS' if ok_time and ok_size else 'FAIL'}")
    return ok_time and ok_size


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
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
