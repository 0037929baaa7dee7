"""Cost of importing a large ledger, the way `diaodu import` does it.

    python bench/ledger_import.py [--projects 10000] [--people 2000] [--units 60] [--seed 7] [--database URL]
                                  [--confirm-only]

A workbook with --projects projects and a roster of --people people (liaisons, unit handlers, leads, top
leaders and an admin, in --units units) is written with openpyxl into a temp directory, in the template's
layout (title row, header, the two sheets). A fresh SQLite database (file in the temp directory, WAL) gets
the schema. Then, timed one after the other, each through `bot.services.ledger_import.import_ledger` in a
session of its own, as the CLI runs it:

- import: the workbook into the empty database;
- dry run: the same workbook again, checked and compared, nothing written;
- unchanged re-import: the same workbook again (nothing to write);
- changed re-import: one project's annual plan in ten changed.

Reading the workbook is timed on its own as well. Goals: import ≤ 10 s; unchanged re-import ≤ 5 s; a dry
run no slower than the import. Each line prints the measured time, its goal and PASS/FAIL.

Then, as the chat's /import does it, the changed workbook's original is previewed (a dry run, kept) and 确认
writes that plan (``write_previewed``, in a session of its own): printed without a goal are 确认's time, how long
it held its locks (from the statement taking the first one to its commit: the first write, which on SQLite
takes the write lock and on PostgreSQL takes the change marks, or, in older versions there, ``LOCK TABLE``) and
how much of that went before its first write of the ledger (the check).

--database runs it all on that database instead of a SQLite file in the temp directory (a PostgreSQL database
reserved for it: its tables are dropped and created again); --confirm-only leaves out the timed re-imports.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import event

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bot.clock import SHANGHAI  # noqa: E402
from bot.ledger import PEOPLE_COLUMNS, PEOPLE_SHEET, PROJECT_COLUMNS, PROJECT_SHEET, read_ledger  # noqa: E402
from bot.services.import_previews import Previewed  # noqa: E402
from bot.services.ledger_import import ImportResult, import_ledger, write_previewed  # noqa: E402
from storage.audit import Actor  # noqa: E402
from storage.db import Database  # noqa: E402

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)
AS_OF = date(2026, 11, 30)
ACTOR = Actor(label="bench", channel="cli")
STAGES = ("谋划", "前期", "在建", "竣工", "投产")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力林斌波宇浩凯"


def _names(rng: random.Random, count: int) -> list[str]:
    seen: set[str] = set()
    while len(seen) < count:
        seen.add(rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 3)))))
    return sorted(seen)


def write_workbook(path: Path, *, projects: int, people: int, units: int, seed: int,
                   plan_bump: int = 0) -> None:
    """The ledger as an office would keep it; `plan_bump` > 0 raises every `plan_bump`-th project's plan."""
    import openpyxl

    rng = random.Random(seed)
    unit_names = [f"区第{i + 1}局" for i in range(units)]
    leads = max(people // 40, 3)
    names = _names(rng, people)
    roster: list[list[object]] = []
    liaisons: list[tuple[str, str]] = []
    lead_names: list[tuple[str, str]] = []
    for index, name in enumerate(names):
        phone = f"139{index:08d}"
        if index == 0:
            roster.append([name, "管理员", "区重大项目办", phone, ""])
        elif index <= 2:
            roster.append([name, "区主要领导", "区长" if index == 1 else "区委书记", phone, ""])
        elif index <= leads:
            title = f"副区长(分管{index})"
            roster.append([name, "包抓领导", title, phone, ""])
            lead_names.append((name, title))
        elif index % 5 == 0:
            roster.append([name, "单位经办人", unit_names[index % units], phone, ""])
        else:
            roster.append([name, "联络员", unit_names[index % units], phone, ""])
            liaisons.append((name, phone))
    # Written as Excel writes it (openpyxl's write-only mode leaves out the sheets' size, which would make
    # every reader scan each sheet once more to find it).
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = PROJECT_SHEET
    sheet.append([f"{NOW.year}年全区重点项目包抓责任分解表(截至{AS_OF.year}年{AS_OF.month}月{AS_OF.day}日)"])
    sheet.append(list(PROJECT_COLUMNS))
    for number in range(1, projects + 1):
        total = rng.randrange(5_000, 500_000)
        plan = rng.randrange(1_000, total // 2 + 1_001)
        done = rng.randrange(0, plan)
        if plan_bump and number % plan_bump == 0:
            plan += 100
        start = date(2025, 1, 1) + timedelta(days=rng.randrange(0, 600))
        lead_name, lead_title = rng.choice(lead_names)
        liaison, phone = rng.choice(liaisons)
        lead_unit, *supporting = rng.sample(unit_names, rng.choice((1, 2, 3, 4)))
        sheet.append([
            f"ZD2026-{number:05d}", f"重点项目{number}号", rng.choice(("工业", "交通", "城建", "社会事业")),
            rng.choice(("省级", "市级", "区级")), f"{rng.randrange(1, 21)}号街道", f"业主公司{number % 700}",
            total, plan, done, rng.choice(STAGES), start, start + timedelta(days=rng.randrange(200, 1500)),
            f"{lead_name}({lead_title})", lead_unit, "、".join(supporting), liaison, phone,
        ])
    roster_sheet = workbook.create_sheet(PEOPLE_SHEET)
    roster_sheet.append(list(PEOPLE_COLUMNS))
    for row in roster:
        roster_sheet.append(row)
    workbook.save(path)


async def _timed_import(db: Database, path: Path, *, dry_run: bool = False) -> tuple[float, ImportResult]:
    started = time.perf_counter()
    async with db.session() as session:
        result = await import_ledger(session, [path], now=NOW, actor=ACTOR, as_of=AS_OF, dry_run=dry_run)
    elapsed = time.perf_counter() - started
    if result.issues or result.needs_as_of:
        raise SystemExit(f"import refused: {[str(i) for i in result.issues[:5]]} needs_as_of={result.needs_as_of}")
    return elapsed, result


class _Locks:
    """When a session's transaction took its first lock, first wrote a row of the ledger, and committed (the
    engine's statement and commit events)."""

    def __init__(self) -> None:
        self.locked = self.wrote = self.committed = 0.0

    def statement(self, _conn: object, _cursor: object, statement: str, *_args: object) -> None:
        words = statement.lstrip().upper()
        writes = words.startswith(("INSERT", "UPDATE", "DELETE"))
        if not self.locked and (writes or words.startswith("LOCK TABLE")):  # SQLite's lock: the first write
            self.locked = time.perf_counter()
        if self.locked and not self.wrote and writes and "LEDGER_MARKS" not in words[:40]:
            self.wrote = time.perf_counter()

    def commit(self, _conn: object) -> None:
        if self.locked and not self.committed:
            self.committed = time.perf_counter()


async def _timed_confirm(db: Database, changed: Path) -> tuple[float, _Locks, ImportResult]:
    """`changed` previewed (a dry run, as /import shows it) and 确认 writing the preview's plan in a session of its
    own: 确认's time, and when it took its locks, first wrote and committed."""
    async with db.session() as session:
        preview = await import_ledger(session, [changed], now=NOW, actor=ACTOR, as_of=AS_OF, dry_run=True)
    locks = _Locks()
    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", locks.statement)
    event.listen(engine, "commit", locks.commit)
    started = time.perf_counter()
    try:
        async with db.session() as session:
            written = await write_previewed(session, Previewed(preview, NOW.date()), now=NOW, actor=ACTOR)
    finally:
        event.remove(engine, "before_cursor_execute", locks.statement)
        event.remove(engine, "commit", locks.commit)
    if written is None or not written.written:
        raise SystemExit("确认 found the database changed since its preview")
    return time.perf_counter() - started, locks, written


def _verdict(label: str, seconds: float, goal: float, result: ImportResult | None = None) -> str:
    counts = ""
    if result is not None:
        counts = (f"  (projects +{result.added['project']} ~{result.changed['project']} "
                  f"={result.unchanged['project']}; people +{result.added['person']} ~{result.changed['person']} "
                  f"={result.unchanged['person']})")
    return f"{label:<22} {seconds:6.2f} s   goal <= {goal:.2f} s: {'PASS' if seconds <= goal else 'FAIL'}{counts}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--people", type=int, default=2_000)
    parser.add_argument("--units", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", help="a database URL reserved for the bench (default: a SQLite file)")
    parser.add_argument("--confirm-only", action="store_true", help="import, then preview and 确认 alone")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        ledger, changed = tmp / "ledger.xlsx", tmp / "ledger-changed.xlsx"
        started = time.perf_counter()
        write_workbook(ledger, projects=args.projects, people=args.people, units=args.units, seed=args.seed)
        write_workbook(changed, projects=args.projects, people=args.people, units=args.units, seed=args.seed,
                       plan_bump=10)
        print(f"workbooks: {args.projects} projects, {args.people} people, {args.units} units "
              f"({ledger.stat().st_size // 1024} KB) written in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        read = read_ledger([ledger], known_units=["区重大项目办"])
        print(f"reading the workbook alone: {time.perf_counter() - started:.2f} s "
              f"({len(read.projects)} projects, {len(read.people)} people, {len(read.issues)} issues)")

        db = Database(args.database or f"sqlite+aiosqlite:///{tmp / 'import.sqlite3'}")
        if args.database:
            await db.drop_all()
        await db.create_all()
        try:
            first, result = await _timed_import(db, ledger)
            if not args.confirm_only:
                dry, dry_result = await _timed_import(db, changed, dry_run=True)
                again, same = await _timed_import(db, ledger)
                bumped, bump_result = await _timed_import(db, changed)
                await _timed_import(db, ledger)  # back to the original: 确认 below writes the change again
            confirmed, locks, confirm_result = await _timed_confirm(db, changed)
        finally:
            await db.dispose()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.2f}")
    print(_verdict("import", first, 10.0, result))
    if not args.confirm_only:
        print(_verdict("dry run (changed file)", dry, max(first, 0.5), dry_result))
        print(_verdict("unchanged re-import", again, 5.0, same))
        print(_verdict("changed re-import", bumped, 10.0, bump_result))
    print(f"{'确认 of the changed file':<22} {confirmed:6.2f} s   ({db.engine.dialect.name}; projects "
          f"~{confirm_result.changed['project']}): locks held {locks.committed - locks.locked:.2f} s, of which "
          f"{(locks.wrote or locks.committed) - locks.locked:.3f} s before its first write")
    if not args.confirm_only and (+same.changed or +same.added):
        raise SystemExit("FAIL: the unchanged re-import changed something")


if __name__ == "__main__":
    asyncio.run(main())
