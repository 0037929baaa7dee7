"""What one bulletin reads, and how long it takes: the SQL statements of ``jobs.bulletin_render.render_bulletin``
and its time, on a large district.

    python bench/bulletin.py [--projects 3000] [--reports 150000] [--problems 3000] [--rounds 3]
                             [--periods 2026-W47,2026-11] [--seed 7] [--database-url URL]

A fresh database (SQLite file in a temp directory; or the PostgreSQL database given with --database-url, which
is WIPED first: use a scratch database) gets the district of ``bench/ranking.py`` (its units, towns, projects,
reports over 2026, and problems with their handling events), and on top half the projects a confirmed 开工
and a tenth of them a 竣工 (some reopened since), and four milestones each over 2026.

Then each period's bulletin (the weekly of ISO week 2026-W47 and the monthly of November 2026 by default) is
rendered --rounds times, each in a transaction of its own, with its charts, Excel ledger and Word bulletin (in
a thread of this process, as tests and one-off commands do). Printed per bulletin: the statements it ran (all of them,
and those reading the problems' events and the projects' stage events), the median wall-clock time of
``render_bulletin`` and of its reads (up to the hand-over to the rendering), with the process CPU time of the
reads (SQLite's thread included; PostgreSQL's server work is not) and the load average: on a busy machine the
wall clock stretches with the load, the CPU time much less.

Goals: each bulletin reads the problems' events once and the stage events once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy import event, insert  # noqa: E402

import jobs.bulletin_render as bulletin_render  # noqa: E402
from bench.ranking import CREATED, build, wiped_database  # noqa: E402
from bot.domain.periods import parse_period  # noqa: E402
from bot.domain.stage_events import CONFIRMED, FINISH, REOPEN, START  # noqa: E402
from bot.render import Renderer  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import ProjectNode, StageEvent  # noqa: E402
from storage.settings import load_calendar, load_digest_settings  # noqa: E402

HISTORY_TABLES = ("problem_events", "stage_events")
HANDED_OVER: list[tuple[float, float]] = []  # (wall, CPU) when the reads handed the job to the rendering


def _handed_over(render: Any) -> Any:
    """``render`` (``render_files_and_texts``), noting when it is called."""
    def timed(*args: Any) -> Any:
        HANDED_OVER[:] = [(time.perf_counter(), time.process_time())]
        return render(*args)
    return timed


async def stages_and_nodes(db: Database, projects: int, seed: int) -> int:
    """Confirmed 开工/竣工/reopenings and milestones over the projects; returns how many stage events went in."""
    rng = random.Random(seed)
    moves, nodes = [], []
    for project_id in range(1, projects + 1):
        day = date(2026, 1, 5) + timedelta(days=rng.randrange(200))
        kinds = [START] if rng.random() < 0.5 else []
        if kinds and rng.random() < 0.2:
            kinds += [FINISH, REOPEN, FINISH][:rng.randrange(1, 4)]
        for kind in kinds:
            moves.append({"project_id": project_id, "kind": kind, "day": day, "state": CONFIRMED,
                          "created_at": CREATED})
            day += timedelta(days=rng.randrange(5, 60))
        for seq in range(4):
            planned = date(2026, 1, 10) + timedelta(days=rng.randrange(340))
            nodes.append({"project_id": project_id, "seq": seq, "name": f"节点{seq + 1}", "planned_on": planned,
                          "done_on": planned + timedelta(days=rng.randrange(-5, 10)) if rng.random() < 0.6 else None,
                          "note": "", "source": "ledger", "created_at": CREATED, "updated_at": CREATED})
    async with db.session() as session:
        await session.execute(insert(StageEvent.__table__), moves)
        await session.execute(insert(ProjectNode.__table__), nodes)
    return len(moves)


async def bench(db: Database, args: argparse.Namespace, files: Path) -> bool:
    began = time.perf_counter()
    counts = await build(db, argparse.Namespace(projects=args.projects, reports=args.reports, units=40, towns=20,
                                                problems=args.problems, chunk=20_000, seed=args.seed, analyze=True,
                                                bases="dated"))
    counts["stage events"] = await stages_and_nodes(db, args.projects, args.seed)
    print(f"backend: {db.engine.dialect.name}; built in {time.perf_counter() - began:.1f} s: "
          + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
    statements: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements["all"] += 1
        for table in HISTORY_TABLES:
            statements[table] += bool(re.search(rf"\b{table}\b", statement))

    bulletin_render.render_files_and_texts = _handed_over(bulletin_render.render_files_and_texts)
    ok = True
    for name in args.periods.split(","):
        period = parse_period("weekly" if "W" in name else "monthly", name)
        walls, reads, cpus = [], [], []
        for round_ in range(args.rounds):
            statements.clear()
            event.listen(db.engine.sync_engine, "before_cursor_execute", count)
            try:
                async with db.session() as session:
                    calendar, settings = await load_calendar(session), await load_digest_settings(session)
                    start, cpu = time.perf_counter(), time.process_time()
                    await bulletin_render.render_bulletin(session, Renderer(), period=period, calendar=calendar,
                                                  settings=settings, out_dir=files / f"{name}-{round_}")
                    walls.append(time.perf_counter() - start)
            finally:
                event.remove(db.engine.sync_engine, "before_cursor_execute", count)
            reads.append(HANDED_OVER[0][0] - start)
            cpus.append(HANDED_OVER[0][1] - cpu)
        reread = {table: statements[table] for table in HISTORY_TABLES}
        print(f"bulletin {name}: {statements['all']} statements, of which reading "
              + ", ".join(f"{table} {n}" for table, n in reread.items())
              + f"; render_bulletin {statistics.median(walls):.2f} s, its reads {statistics.median(reads):.2f} s "
              f"(CPU {statistics.median(cpus):.2f} s); load average {os.getloadavg()[0]:.1f}")
        for table, n in reread.items():
            print(f"goal: bulletin {name} reads {table} once: {n} — {'PASS' if n == 1 else 'FAIL'}")
            ok = ok and n == 1
    return ok


async def run(args: argparse.Namespace) -> bool:
    with tempfile.TemporaryDirectory(prefix="diaodu-bench-") as tmp:
        if args.database_url:
            db = await wiped_database(args.database_url)
        else:
            db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
            await db.create_all()
        try:
            return await bench(db, args, Path(tmp))
        finally:
            await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=3_000)
    parser.add_argument("--reports", type=int, default=150_000)
    parser.add_argument("--problems", type=int, default=3_000)
    parser.add_argument("--rounds", type=int, default=3, help="renderings of each bulletin (medians reported)")
    parser.add_argument("--periods", default="2026-W47,2026-11", help="weekly (2026-W47) or monthly (2026-11)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="a scratch PostgreSQL database (wiped) instead of SQLite")
    ok = asyncio.run(run(parser.parse_args()))
    print(f"verdict: {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
