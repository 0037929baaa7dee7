"""What the reports' change mark costs concurrent reports on PostgreSQL.

    python bench/report_marks.py --database URL [--concurrent 30] [--rounds 7] [--hold-ms 0]

Every transaction that writes ``reports`` bumps the one ``reports`` row of ``ledger_marks`` (its trigger,
storage.ledger_mark_triggers), and holds that row's lock until it commits: reports submitted at once queue on it
from their INSERT to their commit. This measures it: the database (a PostgreSQL database reserved for it: its
tables are dropped and created again) gets the sample ledger; then each round submits --concurrent reports at
once, one per project, each through ``storage.reports.add_report`` (the service the chat's report goes through:
the project's row locked, the report and its audit entry written) in a transaction of its own on a connection of
its own, --hold-ms of the handler's other work between the report and the commit. Rounds alternate between the
schema as it is (mark) and the same without the reports' mark trigger (none), back to back on the same machine,
and each report's time from its transaction's start to its commit is kept.

Printed: per mode, the median and p95 of a report's time and the median time for the whole burst; the load
average; how many of the connections share a row of the mark (storage.ledger_mark_triggers.SHARDS). Goal: at
--concurrent 30 a report waits at most a few milliseconds for the others because of the mark (the median of mark
minus the median of none ≤ 5 ms); verdict PASS or FAIL. On a loaded machine the p95s are mostly noise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bot.clock import FrozenClock  # noqa: E402
from bot.services.ledger_import import import_ledger_files  # noqa: E402
from storage.audit import Actor  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.ledger_mark_triggers import SHARDS, create_triggers  # noqa: E402
from storage.models import Project  # noqa: E402
from storage.reports import add_report  # noqa: E402

SAMPLE = REPO / "bot" / "demo" / "projects_sample.xlsx"
GOAL_MS = 5.0
ACTOR = Actor(label="基准", channel="console")


async def _fresh(url: str) -> list[tuple[int, int, str]]:
    """The sample ledger in an emptied database; (project id, liaison id, code) of its projects."""
    db = Database(url)
    try:
        await db.drop_all()
        await db.create_all()
        clock = FrozenClock(datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
        result = await import_ledger_files(db, clock, [SAMPLE], actor=ACTOR)
        assert result.written, result.issues
        async with db.session() as session:
            rows = await session.execute(select(Project.id, Project.liaison_id, Project.code)
                                         .where(Project.liaison_id.is_not(None)).order_by(Project.id))
            return [(pid, liaison, code) for pid, liaison, code in rows]
    finally:
        await db.dispose()


async def _set_mark(engine, on: bool) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        if on:
            for statement in create_triggers("postgresql"):
                await conn.execute(text(statement))
        else:
            await conn.execute(text("DROP TRIGGER IF EXISTS ledger_mark ON reports"))


async def _burst(sessions, projects, day: date, hold: float,  # type: ignore[no-untyped-def]
                 pids: set[int]) -> tuple[list[float], float]:
    now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)

    async def one(project_id: int, liaison: int, code: str) -> float:
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            pids.add(int(await session.scalar(text("SELECT pg_backend_pid()"))))
            await add_report(session, project_id=project_id, person_id=liaison, local_day=day,
                             amount=Decimal("12.5"), progress_text="基准", photos=[], channel="telegram", now=now,
                             actor=ACTOR, project_code=code)
            if hold:
                await asyncio.sleep(hold)
        return (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    times = await asyncio.gather(*(one(*project) for project in projects))
    return list(times), (time.perf_counter() - started) * 1000


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--concurrent", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--hold-ms", type=float, default=0.0)
    args = parser.parse_args()
    if not args.database or not args.database.startswith("postgresql"):
        print("needs --database postgresql+asyncpg://… (a database reserved for it)")
        return 2
    projects = (await _fresh(args.database))[:args.concurrent]
    if len(projects) < args.concurrent:
        print(f"only {len(projects)} projects with a liaison in the sample: {len(projects)} at once")
    engine = create_async_engine(args.database, pool_size=len(projects), max_overflow=0)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    results: dict[str, list[float]] = {"mark": [], "none": []}
    bursts: dict[str, list[float]] = {"mark": [], "none": []}
    day = date(2026, 11, 1)
    try:
        pids: set[int] = set()
        await _burst(sessions, projects, day, 0, pids)  # warm up: every connection opened
        for round_ in range(args.rounds):
            for mode in (("mark", "none") if round_ % 2 == 0 else ("none", "mark")):
                await _set_mark(engine, mode == "mark")
                day += timedelta(days=1)
                times, burst = await _burst(sessions, projects, day, args.hold_ms / 1000, pids)
                results[mode] += times
                bursts[mode].append(burst)
        await _set_mark(engine, True)
    finally:
        await engine.dispose()
    print(f"{len(projects)} reports at once, {args.rounds} rounds per mode, hold {args.hold_ms:g} ms, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    shared = len(pids) - len({pid % SHARDS for pid in pids})
    print(f"  {len(pids)} connections on {SHARDS} rows of a mark: {shared} share a row with another")
    for mode in ("mark", "none"):
        print(f"  {mode:4}: report median {statistics.median(results[mode]):7.1f} ms, "
              f"p95 {_p95(results[mode]):7.1f} ms; burst median {statistics.median(bursts[mode]):7.1f} ms")
    extra = statistics.median(results["mark"]) - statistics.median(results["none"])
    verdict = "PASS" if extra <= GOAL_MS else "FAIL"
    print(f"goal: the mark adds at most {GOAL_MS:g} ms to a report's median at {args.concurrent} at once; "
          f"it adds {extra:.1f} ms: {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
