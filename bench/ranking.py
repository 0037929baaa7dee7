"""Cost of a weekly bulletin's standings on a large district, against a bare SQL aggregate of the same rows.

    python bench/ranking.py [--projects 10000] [--reports 1000000] [--units 60] [--towns 20] [--problems 3000]
                            [--rounds 3] [--chunk 20000] [--seed 7] [--analyze] [--explain] [--profile]
                            [--bases undated|dated|mixed] [--db-file PATH | --database-url URL]

A fresh database (SQLite file in a temp directory, WAL; or the PostgreSQL database given with
--database-url, which is WIPED first: use a scratch database) gets --units lead units (plus one unit per
town), --towns towns, --projects projects and --reports reports spread over the working days of 2026 from
1 January to 27 November, in the order they would have come in (1% withdrawn; the last days lie after the
cut-off, so the query must leave them out), and --problems problems with their handling events. Each
project has a ledger base (截至某日累计完成, 10% of them of 2025); --bases says whether they have a day
(bot.domain.year_to_date): ``undated`` (imported before bases were dated: every report of the year counts),
``dated`` (the 2026 ledger as of 30 June: the reports up to that day are in the base and must be left out; the
2025 bases as of 31 December 2025) or ``mixed`` (every other project dated). Rows go
in with core INSERT executemany, in chunks of --chunk. On PostgreSQL the tables are then vacuumed and
analysed, as autovacuum would have done after a million inserts; SQLite is left unanalysed (as it is in
service) unless --analyze. With --db-file the SQLite database is kept in that file and reused when the
file exists (to iterate on the queries without rebuilding; indexes the models gained since are added).

Then, alternating, --rounds times each (medians reported):

- standings: ``bot.services.standings.compute_standings`` for the weekly bulletin of ISO week 2026-W47 (cut-off
  Sunday 22 November 2026, window Monday 16 to Sunday 22), in a fresh session: two aggregates over the
  reports (the year's money, the window's days), the projects, the open problems and the problems'
  handling, then the ranking in Python. Its parts are timed separately once more afterwards;
- bare: ``SELECT project_id, SUM(amount), MAX(created_at), COUNT(DISTINCT local_day) FROM reports WHERE
  withdrawn_at IS NULL AND local_day BETWEEN '2026-01-01' AND '2026-11-22' GROUP BY project_id`` as raw
  SQL, every row fetched.

Wall-clock medians are printed with the process CPU time (on SQLite it includes SQLite's own thread; on
PostgreSQL the server's work is not in it) and the load average: on a busy machine the wall clock
stretches with the load, the CPU time much less.

Goal: standings in at most 1 s, and at most 3x the bare aggregate.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy import insert, select, text  # noqa: E402
from sqlalchemy.schema import CreateIndex  # noqa: E402

from bot.clock import SHANGHAI  # noqa: E402
from bot.domain.duties import REPORTING_STAGES, due_days_by_stage, window_working_days  # noqa: E402
from bot.domain.periods import period_containing  # noqa: E402
from bot.domain.progress import STAGES  # noqa: E402
from bot.services.standings import compute_standings, project_standings  # noqa: E402
from bot.weekly import assemble  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import (  # noqa: E402
    STANDINGS_INDEX,
    Base,
    LedgerBase,
    Person,
    Problem,
    ProblemEvent,
    Project,
    ProjectVersion,
    Report,
    Unit,
)
from storage.problem_handling import unit_problem_shares  # noqa: E402
from storage.report_figures import report_aggregate, report_aggregate_query, reported_days_query  # noqa: E402
from storage.settings import load_calendar  # noqa: E402

CUTOFF = date(2026, 11, 22)
LAST_REPORT_DAY = date(2026, 11, 27)  # reports go on after the cut-off; they must not count
YEAR_START = date(2026, 1, 1)
BASE_DAYS = {2026: date(2026, 6, 30), 2025: date(2025, 12, 31)}  # --bases dated: the day of each year's base
CREATED = datetime(2026, 1, 4, 9, 0, tzinfo=SHANGHAI)
HANDED_OVER = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)  # after the periods the benches measure

DEPARTMENTS = [
    "区住建局", "区发改局", "区工信局", "区交通局", "区水务局", "区城管局", "区财政局", "区商务局",
    "区文旅局", "区教育局", "区卫健局", "区农业农村局", "区自然资源局", "区生态环境局", "区应急管理局",
    "区市场监管局", "区房管局", "区民政局", "区人社局", "区科技局", "区城投公司", "区交投公司",
    "区文旅集团", "开发区管委会",
]
TOWNS = [
    "河西镇", "金川镇", "城北街道", "城南街道", "龙首新区", "东关街道", "西关街道", "柳湖镇", "杨家镇",
    "高桥镇", "新桥镇", "石门镇", "沙河镇", "白马镇", "青龙镇", "双塔街道", "南湖街道", "北山镇",
    "桃园镇", "清水镇",
]
BARE_AGGREGATE = (
    "SELECT project_id, SUM(amount), MAX(created_at), COUNT(DISTINCT local_day) FROM reports "
    "WHERE withdrawn_at IS NULL AND local_day >= :lo AND local_day <= :hi GROUP BY project_id"
)


def unit_names(n: int) -> list[str]:
    names = DEPARTMENTS[:n]
    names += [f"区直单位{i:02d}" for i in range(1, n - len(names) + 1)]
    return names


def town_names(n: int) -> list[str]:
    return TOWNS[:n] + [f"第{i}镇" for i in range(1, n - len(TOWNS) + 1)]


async def insert_chunks(db: Database, table: Any, rows: list[dict[str, Any]], chunk: int) -> None:
    for i in range(0, len(rows), chunk):
        async with db.session() as session:
            await session.execute(insert(table), rows[i:i + chunk])


async def build(db: Database, args: argparse.Namespace) -> dict[str, int]:
    """Fill the database; returns how many rows of each kind went in."""
    rng = random.Random(args.seed)
    towns = town_names(args.towns)
    departments = unit_names(args.units)
    all_units = departments + [t for t in towns if t not in departments]
    await insert_chunks(db, Unit.__table__, [{"id": i + 1, "name": name, "created_at": CREATED}
                                             for i, name in enumerate(all_units)], args.chunk)
    unit_ids = {name: i + 1 for i, name in enumerate(all_units)}

    n_people = max(50, args.projects // 5)
    await insert_chunks(db, Person.__table__, [
        {"id": i, "name": f"联络员{i:05d}", "phone": None, "title": None, "unit_id": None, "active": True,
         "created_at": CREATED} for i in range(1, n_people + 1)], args.chunk)
    leads = list(range(1, 13))  # the first people double as lead officials

    projects = []
    for i in range(1, args.projects + 1):
        plan = Decimal(rng.randrange(500, 200_000))
        start = YEAR_START + timedelta(days=rng.randrange(-400, 330))
        projects.append({
            "id": i, "code": f"ZD2026-{i:05d}", "name": f"重点项目{i:05d}",
            "category": rng.choice(["城建", "工业", "社会事业", "基础设施"]),
            "level": rng.choice(["区级", "市级", "省级"]),
            "location": None if rng.random() < 0.03 else rng.choice(towns), "owner": "业主公司",
            "total_investment": plan * 3, "annual_plan": plan if rng.random() > 0.02 else Decimal(0),
            "done_before": (plan * Decimal(rng.randrange(0, 30)) / 100).quantize(Decimal("0.0001")),
            "baseline_year": 2026 if rng.random() > 0.1 else 2025, "baseline_date": None, "stage": rng.choice(STAGES),
            "planned_start": start, "planned_finish": start + timedelta(days=rng.randrange(200, 900)),
            "lead_official_id": rng.choice(leads), "lead_unit_id": unit_ids[rng.choice(departments)],
            "liaison_id": rng.randrange(1, n_people + 1), "created_at": CREATED, "updated_at": CREATED,
        })
    for p in projects:
        if args.bases == "dated" or (args.bases == "mixed" and p["id"] % 2):
            p["baseline_date"] = BASE_DAYS[p["baseline_year"]]
    await insert_chunks(db, Project.__table__, projects, args.chunk)
    # Each project's base is kept for its year too, as the ledger import writes it (storage.ledger_bases).
    await insert_chunks(db, LedgerBase.__table__, [
        {"project_id": p["id"], "year": p["baseline_year"], "done_before": p["done_before"],
         "baseline_date": p["baseline_date"], "set_at": CREATED} for p in projects], args.chunk)
    # Each project's version from its creation, as the ledger import writes it (storage.project_versions), and
    # for every tenth a later one (its neighbour's holders) dated after the periods the benches measure: their
    # bulletins read a tenth of the projects back as they were held then.
    held = ("name", "location", "lead_unit_id", "lead_official_id", "liaison_id")
    versions = [{"project_id": p["id"], "valid_from": CREATED, **{k: p[k] for k in held}} for p in projects]
    versions += [{**versions[n], "valid_from": HANDED_OVER, **{k: versions[(n + 1) % len(versions)][k]
                                                              for k in held[2:]}}
                 for n in range(0, len(versions), 10)]
    await insert_chunks(db, ProjectVersion.__table__, versions, args.chunk)

    # Reports come in day by day: each working day a random share of the projects report (some twice).
    async with db.session() as session:
        calendar = await load_calendar(session)
    days = window_working_days(calendar, YEAR_START, LAST_REPORT_DAY)
    per_day = args.reports // len(days)
    extra = args.reports - per_day * len(days)
    buffer: list[dict[str, Any]] = []
    report_id = 0
    for index, day in enumerate(days):
        for _ in range(per_day + (1 if index < extra else 0)):
            report_id += 1
            at = datetime(day.year, day.month, day.day, rng.randrange(8, 21), rng.randrange(60),
                          tzinfo=SHANGHAI)
            buffer.append({
                "id": report_id, "project_id": rng.randrange(1, args.projects + 1),
                "person_id": rng.randrange(1, n_people + 1), "local_day": day,
                "amount": Decimal(rng.randrange(0, 5_000_000)).scaleb(-4), "progress_text": "",
                "channel": "telegram", "created_at": at,
                "withdrawn_at": at + timedelta(minutes=3) if rng.random() < 0.01 else None,
            })
            if len(buffer) >= args.chunk:
                await insert_chunks(db, Report.__table__, buffer, args.chunk)
                buffer = []
    await insert_chunks(db, Report.__table__, buffer, args.chunk)

    problems, events = [], []
    event_id = 0
    for i in range(1, args.problems + 1):
        raised = datetime.combine(CUTOFF - timedelta(days=rng.randrange(0, 120)), datetime.min.time(),
                                  tzinfo=SHANGHAI) + timedelta(hours=rng.randrange(8, 18))
        due = raised + timedelta(days=rng.randrange(2, 21))
        fate = rng.random()
        status = "closed" if fate < 0.6 else "resolved" if fate < 0.7 else "accepted"
        problems.append({
            "id": i, "project_id": rng.randrange(1, args.projects + 1),
            "raised_by_id": rng.randrange(1, n_people + 1),
            "unit_id": rng.randrange(1, len(all_units) + 1), "category": "用地", "text": "征地拆迁未完成",
            "status": status, "level": 0, "policy": {}, "level_started_at": raised, "response_due_at": None,
            "resolution_due_at": due, "due_estimated": False, "nudged": [], "next_check_at": None,
            "answer_text": None, "promised_date": None, "created_at": raised, "updated_at": raised,
            "closed_at": None,
        })
        steps = [("raised", raised), ("accepted", raised + timedelta(hours=3))]
        if status != "accepted":
            resolved = raised + timedelta(days=rng.randrange(1, 25))
            steps.append(("resolved", resolved))
            if status == "closed":
                steps.append(("closed", resolved + timedelta(hours=5)))
                problems[-1]["closed_at"] = resolved + timedelta(hours=5)
        for kind, at in steps:
            event_id += 1
            events.append({"id": event_id, "problem_id": i, "at": at, "actor_person_id": None, "kind": kind,
                           "level": 0, "text": "", "detail": {}})
    await insert_chunks(db, Problem.__table__, problems, args.chunk)
    await insert_chunks(db, ProblemEvent.__table__, events, args.chunk)

    # PostgreSQL's autovacuum would have vacuumed (the visibility map makes index-only scans possible) and
    # analysed a table that took a million inserts; SQLite analyses nothing unless told to.
    if args.analyze or not db.is_sqlite:
        async with db.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("ANALYZE" if db.is_sqlite else "VACUUM ANALYZE"))
    return {"units": len(all_units), "people": n_people, "projects": len(projects), "reports": report_id,
            "problems": len(problems), "events": len(events)}


async def build_district(db: Database, *, projects: int, reports: int, problems: int, seed: int = 7) -> dict[str, int]:
    """``build`` as the other benches fill their database: this bench's 20 towns and 60 lead units, ledger bases
    without a day (``--bases undated``, as the README's figures were measured)."""
    return await build(db, argparse.Namespace(seed=seed, towns=20, units=60, projects=projects, reports=reports,
                                              problems=problems, chunk=20_000, analyze=False, bases="undated"))


CPU: list[float] = []  # process CPU seconds of the last timed() call (SQLite's thread included)


async def timed(action: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    """(wall seconds, result); the process CPU seconds it took go to CPU[0]."""
    began, cpu = time.perf_counter(), time.process_time()
    result = await action()
    CPU[:] = [time.process_time() - cpu]
    return time.perf_counter() - began, result


async def bench(db: Database, args: argparse.Namespace, *, reuse: bool = False) -> None:
    if reuse:
        async with db.engine.begin() as conn:
            indexes = [index for table in Base.metadata.sorted_tables for index in table.indexes]
            # IF NOT EXISTS rather than checkfirst: SQLite's reflection skips expression indexes, which then
            # look missing and fail as "already exists"
            await conn.run_sync(lambda sync: [sync.execute(CreateIndex(index, if_not_exists=True))
                                              for index in indexes])
        async with db.session() as session:
            n = (await session.execute(text("SELECT count(*) FROM reports"))).scalar_one()
        print(f"backend: {db.engine.dialect.name}; reusing a database with {n:,} reports")
    else:
        began = time.perf_counter()
        counts = await build(db, args)
        print(f"backend: {db.engine.dialect.name}; built in {time.perf_counter() - began:.1f} s: "
              + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
    async with db.session() as session:
        dated, bases = (await session.execute(text(
            "SELECT count(baseline_date), count(*) FROM ledger_bases"))).one()
    print(f"ledger bases: {dated:,} of {bases:,} dated")

    week = period_containing("weekly", CUTOFF)  # the bulletin's ISO week, measured up to the cut-off day
    window_start, cutoff, period = week.start, CUTOFF, week.name
    async with db.session() as session:
        calendar = await load_calendar(session)

    async def standings() -> Any:
        async with db.session() as session:
            return await compute_standings(session, period=period, cutoff=cutoff, window_start=window_start,
                                           calendar=calendar)

    async def bare() -> int:
        async with db.session() as session:
            rows = (await session.execute(text(BARE_AGGREGATE), {"lo": YEAR_START, "hi": cutoff})).all()
        return len(rows)

    if args.explain:
        await explain(db, cutoff, window_start, calendar)

    await standings()  # warm the caches (calendar year, statement cache) once, untimed
    await bare()
    standing_times, bare_times, standing_cpu, bare_cpu = [], [], [], []
    result, groups = None, 0
    for _ in range(args.rounds):
        seconds, result = await timed(standings)
        standing_times.append(seconds)
        standing_cpu.append(CPU[0])
        seconds, groups = await timed(bare)
        bare_times.append(seconds)
        bare_cpu.append(CPU[0])

    assert result is not None
    ranked = sum(1 for p in result.projects if p.rank is not None)
    print(f"standings {period}: {len(result.projects):,} projects ({ranked:,} ranked), "
          f"{len(result.units)} units, {len(result.towns)} towns, {len(result.warned):,} red; "
          f"bare aggregate: {groups:,} groups")

    # The parts, once each, to see where the time goes.
    async with db.session() as session:
        due = due_days_by_stage(calendar, window_start, cutoff, REPORTING_STAGES)
        stages = {project_id: stage for project_id, stage in await session.execute(select(Project.id, Project.stage))}
        t_reports, _ = await timed(lambda: report_aggregate(session, cutoff=cutoff, due=due, stages=stages,
                                                            window_start=window_start))
        t_projects, projects = await timed(lambda: project_standings(
            session, cutoff=cutoff, window_start=window_start, calendar=calendar))
        t_problems, shares = await timed(lambda: unit_problem_shares(session, window_start=window_start,
                                                                     cutoff=cutoff))
    began = time.perf_counter()
    assemble(period, cutoff, projects, shares)
    t_assemble = time.perf_counter() - began
    print(f"parts: report aggregates {t_reports * 1000:.0f} ms; project_standings (incl. the aggregate) "
          f"{t_projects * 1000:.0f} ms; problem shares {t_problems * 1000:.0f} ms; "
          f"assemble {t_assemble * 1000:.0f} ms")

    s, b = statistics.median(standing_times), statistics.median(bare_times)
    s_cpu, b_cpu = statistics.median(standing_cpu), statistics.median(bare_cpu)
    print(f"standings: median {s * 1000:.0f} ms of {[round(t * 1000) for t in standing_times]}; "
          f"CPU median {s_cpu * 1000:.0f} ms")
    print(f"bare SQL aggregate: median {b * 1000:.0f} ms of {[round(t * 1000) for t in bare_times]}; "
          f"CPU median {b_cpu * 1000:.0f} ms")
    print(f"ratio standings/bare: {s / b:.2f}x (CPU {s_cpu / b_cpu:.2f}x); "
          f"load average now: {load_average()}")
    print(f"goal <= 1 s: {'met' if s <= 1.0 else 'MISSED'}; "
          f"goal <= 3x bare: {'met' if s <= 3 * b else 'MISSED'}")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        await standings()
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        print(out.getvalue())


def load_average() -> str:
    """The 1-minute load average and the CPU count (timings on a busy machine stretch)."""
    try:
        one = os.getloadavg()[0]
    except (AttributeError, OSError):
        return "unknown"
    return f"{one:.1f} on {os.cpu_count()} CPUs"


async def explain(db: Database, cutoff: date, window_start: date, calendar: Any) -> None:
    """Print the plans of the bare aggregate and of the standings' two report aggregates."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = sqlite.dialect() if db.is_sqlite else postgresql.dialect()
    index = STANDINGS_INDEX if db.is_sqlite else None
    days_query = reported_days_query(due=due_days_by_stage(calendar, window_start, cutoff, REPORTING_STAGES))
    assert days_query is not None, "no working day in the window"
    queries = [report_aggregate_query(cutoff=cutoff, window_start=window_start, sqlite_index=index), days_query]
    compiled = [str(q.compile(dialect=dialect, compile_kwargs={"literal_binds": True})) for q in queries]
    prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
    async with db.session() as session:
        for label, sql, params in [("bare aggregate", BARE_AGGREGATE, {"lo": YEAR_START, "hi": cutoff}),
                                   ("standings: year's money", compiled[0], {}),
                                   ("standings: window's days", compiled[1], {})]:
            rows = (await session.execute(text(prefix + sql), params)).all()
            print(f"-- plan of the {label}")
            for row in rows:
                print("   ", " | ".join(str(v) for v in row))


async def wiped_database(url: str) -> Database:
    """The scratch PostgreSQL database at `url` (``postgresql://`` accepted), emptied and given today's tables."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            url = "postgresql+asyncpg://" + url[len(plain):]
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.run_sync(Base.metadata.create_all)
    except BaseException:
        await db.dispose()
        raise
    return db


async def run(args: argparse.Namespace) -> None:
    if args.database_url:
        db = await wiped_database(args.database_url)
        try:
            await bench(db, args)
        finally:
            await db.dispose()
        return
    if args.db_file:
        path = Path(args.db_file)
        reuse = path.exists()
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            if not reuse:
                await db.create_all()
            await bench(db, args, reuse=reuse)
        finally:
            await db.dispose()
        return
    with tempfile.TemporaryDirectory(prefix="diaodu-bench-") as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        try:
            await db.create_all()
            await bench(db, args)
        finally:
            await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--units", type=int, default=60, help="lead units (towns are units too, on top)")
    parser.add_argument("--towns", type=int, default=20)
    parser.add_argument("--problems", type=int, default=3_000)
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each side (medians reported)")
    parser.add_argument("--chunk", type=int, default=20_000, help="rows per INSERT executemany")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--analyze", action="store_true",
                        help="run ANALYZE on SQLite too (always on PostgreSQL)")
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument("--profile", action="store_true", help="profile one more standings run")
    parser.add_argument("--bases", choices=("undated", "dated", "mixed"), default="dated",
                        help="whether the ledger bases have a day (undated: imported before bases were dated)")
    parser.add_argument("--db-file", help="keep the SQLite database in this file; reuse it if it exists")
    parser.add_argument("--database-url", help="a scratch PostgreSQL database (wiped) instead of SQLite")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
