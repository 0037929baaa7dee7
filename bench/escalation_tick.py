"""Cost of one escalation tick as the number of open problems grows, with a fixed number of them due.

    python bench/escalation_tick.py [--sizes 10000,100000] [--due 100] [--scaled-due 200] [--repeat 5]
                                    [--batch 1000] [--database-url URL] [--profile]

For each size N: a fresh database (SQLite file in a temp directory, WAL; or, with --database-url, that
PostgreSQL database, whose tables are all dropped and re-created) gets the sample ledger (42 projects,
their units and people), Telegram accounts for most people, and then N open problems bulk-inserted
(Core executemany, in chunks) with realistic fields, history events and the notices they already caused
(sent rows in the outbox). Exactly --due of them are due now: their check time and one deadline have
passed, so the tick escalates each of them one level. The others have future deadlines and checks.

Then one tick (``jobs.escalation.run``) is timed, --repeat times after a first, warming one; between
ticks the due problems are put back as they were and the tick's events and notices are deleted, so each
tick does the same work. Reported: the median (tick_ms) and best tick, the statements one tick ran, the
problems it escalated and the notices it wrote, and the load average (the machine may be shared). The
largest size is run again with --scaled-due problems due, to show that the cost follows the due ones.
--profile adds a cProfile of one more tick at the largest size.

Goal: one tick with 100 due takes at most 200 ms here, whatever the number of open problems (the tick
at the largest size within 1.5x of the smallest), and twice the due ones cost at most about twice as much.

On PostgreSQL the run holds the advisory lock the storage tests take, so it waits for them and they for it.
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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy import bindparam, delete, event, func, insert, select, text, update  # noqa: E402

from bot.clock import SHANGHAI, FrozenClock  # noqa: E402
from bot.domain.escalation import CATEGORIES, LEVEL_NAMES, SlaPolicy  # noqa: E402
from bot.render import Renderer  # noqa: E402
from bot.services.ledger_import import import_ledger_files  # noqa: E402
from jobs.escalation import TickResult, run  # noqa: E402
from storage.audit import Actor  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import (  # noqa: E402
    ChatAccount,
    OutboxMessage,
    Person,
    PersonRole,
    Problem,
    ProblemEvent,
    Project,
    ProjectSupportingUnit,
)
from storage.problems import due_problems  # noqa: E402

LEDGER = REPO / "bot" / "demo" / "projects_sample.xlsx"
# A Friday morning in the sample ledger's year (2026 is officially known to the working-day calendar).
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
ACTOR = Actor(label="bench", channel="cli")
CHUNK = 5_000
GOAL_MS = 200.0
FLAT_RATIO = 1.5

TEXTS = {
    "用地": "项目用地指标尚未落实,{n}号地块报批材料被退回,需协调自然资源部门加快审查。",
    "征地拆迁": "{n}户住户对补偿标准有异议,拆迁进度滞后,影响主体工程开工。",
    "资金": "第{n}批中央预算内资金未拨付到位,施工单位垫资压力大。",
    "审批手续": "施工许可证办理卡在消防设计审查环节,已等待{n}个工作日。",
    "水电路气": "临时用电增容申请未批复,{n}台塔吊无法同时作业。",
    "用工": "春节后返岗工人不足,缺少钢筋工约{n}人。",
    "阻工与施工环境": "周边村民以噪音为由阻工,已停工{n}天。",
    "规划设计": "规划条件调整后需重新出具方案,设计单位要求补充{n}项资料。",
    "其他": "需协调{n}家单位召开现场推进会,明确各方责任。",
}
NOTICE_HTML = ("<b>W{id:04d}</b> {code} {name}\n类别:{category}|责任单位:{unit}\n当前层级:{level}|状态:待受理\n"
               "问题:{text}\n受理时限:2026-11-23 17:30\n办结时限:2026-11-27 17:30")


# --- building a data set --------------------------------------------------------------------------------


@dataclass
class World:
    """The ledger's people and projects, as the problem generator needs them."""

    projects: list[tuple[int, str, str, int | None, list[int]]]  # id, code, name, liaison, unit ids
    unit_names: dict[int, str]
    handlers: dict[int, list[int]]  # unit id -> person ids with the unit role
    chats: dict[int, str]  # person id -> telegram chat id (people without one are undeliverable)
    person_ids: list[int]


@dataclass
class Dataset:
    """What the ticks need to put the due problems back between repeats."""

    db: Database
    size: int
    normal: dict[int, dict[str, Any]]  # problem id -> its fields when not due
    due_state: dict[int, dict[str, Any]]  # problem id -> its fields when due
    due_order: list[int]  # candidates to make due, in a fixed random order
    setup_s: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)


async def _prepare_database(url: str | None, tmp: Path, size: int) -> Database:
    if url is None:
        db = Database(f"sqlite+aiosqlite:///{tmp / f'tick-{size}.sqlite3'}")
        await db.create_all()
        return db
    db = Database(url)
    await db.drop_all()
    await db.create_all()
    return db


async def _world(db: Database, rng: random.Random) -> World:
    clock = FrozenClock(NOW - timedelta(days=60))
    summary = await import_ledger_files(db, clock, [LEDGER], actor=ACTOR)
    if summary.issues:
        raise SystemExit(f"the sample ledger did not import: {summary.issues[:3]}")
    async with db.session() as session:
        people = list((await session.scalars(select(Person).order_by(Person.id))).unique().all())
        roles = (await session.execute(select(PersonRole.person_id, PersonRole.role))).all()
        projects = list((await session.scalars(select(Project).order_by(Project.id))).unique().all())
        supporting = (await session.execute(
            select(ProjectSupportingUnit.project_id, ProjectSupportingUnit.unit_id)
            .order_by(ProjectSupportingUnit.project_id, ProjectSupportingUnit.position))).all()
        unit_names = {p.unit.id: p.unit.name for p in people if p.unit is not None}
        unit_names.update({p.lead_unit.id: p.lead_unit.name for p in projects})
        support_by_project: dict[int, list[int]] = {}
        for project_id, unit_id in supporting:
            support_by_project.setdefault(project_id, []).append(unit_id)
        handlers: dict[int, list[int]] = {}
        by_id = {p.id: p for p in people}
        for person_id, role in roles:
            unit_id = by_id[person_id].unit_id
            if role == "unit" and unit_id is not None:
                handlers.setdefault(unit_id, []).append(person_id)
        # Most people have bound a Telegram account; every fifth has not (their notices are undeliverable).
        chats = {p.id: str(700_000_000 + p.id) for i, p in enumerate(people) if i % 5 != 4}
        session.add_all(ChatAccount(person_id=pid, channel="telegram", external_id=chat, chat_id=chat,
                                    display_name=by_id[pid].name, created_at=clock.now())
                        for pid, chat in chats.items())
        project_rows = [(p.id, p.code, p.name, p.liaison_id,
                         [p.lead_unit_id, *support_by_project.get(p.id, [])]) for p in projects]
    rng.shuffle(project_rows)
    return World(projects=project_rows, unit_names=unit_names, handlers=handlers, chats=chats,
                 person_ids=[p.id for p in people])


def _clocks(rng: random.Random, status: str, due: bool) -> dict[str, Any]:
    """Deadlines and the next check: all in the future, or (due) one deadline and the check passed."""
    started = NOW - timedelta(days=rng.randint(0, 2), hours=rng.randint(0, 8))
    response = NOW + timedelta(hours=rng.randint(4, 72))
    resolution = NOW + timedelta(days=rng.randint(3, 15), hours=rng.randint(0, 8))
    nudged: list[str] = []
    if due:
        started = NOW - timedelta(days=rng.randint(3, 8))
        breached = NOW - timedelta(minutes=rng.randint(1, 600))
        if status == "open":
            response = breached
        else:
            resolution = breached
    level_clock = "response" if status == "open" else "resolution"
    if due or rng.random() < 0.3:
        nudged = [f"nudge:{level_clock}:{{level}}"]
    running = [response, resolution] if status == "open" else [resolution]
    check = min(running)
    if not due:  # the next check of a quiet problem is its nudge (the working day before), or later
        check = max(NOW + timedelta(minutes=rng.randint(5, 600)), check - timedelta(hours=rng.randint(0, 24)))
    return {"level_started_at": started, "response_due_at": response, "resolution_due_at": resolution,
            "next_check_at": check, "nudged": nudged}


def _problem_rows(world: World, size: int, due_ids: set[int], rng: random.Random
                  ) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    policy = SlaPolicy().to_json()
    rows: list[dict[str, Any]] = []
    normal: dict[int, dict[str, Any]] = {}
    due_state: dict[int, dict[str, Any]] = {}
    for pid in range(1, size + 1):
        project_id, _code, _name, liaison, units = world.projects[pid % len(world.projects)]
        status = rng.choices(("open", "accepted", "answered"), weights=(55, 35, 10))[0]
        level = rng.choices((0, 1, 2), weights=(70, 22, 8))[0]
        category = rng.choice(CATEGORIES)
        created = NOW - timedelta(days=rng.randint(1, 40), hours=rng.randint(0, 23))
        fields = {
            "id": pid, "project_id": project_id, "raised_by_id": liaison or world.person_ids[0],
            "unit_id": rng.choice(units), "category": category,
            "text": TEXTS[category].format(n=rng.randint(2, 30)),
            "status": status, "level": level, "policy": policy, "due_estimated": False,
            "answer_text": "已协调相关部门,正在办理。" if status == "answered" else None, "promised_date": None,
            "created_at": created, "updated_at": created, "closed_at": None,
        }
        states = {}
        for is_due in (False, True):
            state = _clocks(rng, status, is_due)
            state["nudged"] = [k.format(level=level) for k in state["nudged"]]
            states[is_due] = {"status": status, "level": level, "updated_at": created, **state}
        normal[pid], due_state[pid] = states[False], states[True]
        rows.append({**fields, **states[pid in due_ids]})
    return rows, normal, due_state


def _history_rows(world: World, problems: list[dict[str, Any]], rng: random.Random
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The events each problem already has, and the notices they caused (sent long ago)."""
    events: list[dict[str, Any]] = []
    notices: list[dict[str, Any]] = []
    projects = {p[0]: p for p in world.projects}

    def notice(key: str, person_id: int, at: datetime, html: str) -> None:
        chat = world.chats.get(person_id)
        suffix = f"telegram:{chat}" if chat else "none"
        notices.append({
            "dedupe_key": f"{key}:p{person_id}|{suffix}", "person_id": person_id,
            "channel": "telegram" if chat else None, "chat_id": chat,
            "payload": {"html": html, "buttons": []},
            "state": "sent" if chat else "undeliverable", "attempts": 1 if chat else 0, "next_attempt_at": at,
            "last_error": None if chat else "no chat account", "created_at": at,
            "sent_at": at if chat else None,
        })

    for row in problems:
        pid, at, raiser = row["id"], row["created_at"], row["raised_by_id"]
        _id, code, name, _liaison, _units = projects[row["project_id"]]
        html = NOTICE_HTML.format(id=pid, code=code, name=name, category=row["category"],
                                  unit=world.unit_names.get(row["unit_id"], ""), level=LEVEL_NAMES[0],
                                  text=row["text"])
        handlers = world.handlers.get(row["unit_id"]) or [raiser]
        events.append({"problem_id": pid, "at": at, "actor_person_id": raiser, "kind": "raised", "level": 0,
                       "text": row["text"], "detail": {"unit": world.unit_names.get(row["unit_id"], ""),
                                                       "category": row["category"]}})
        for person in handlers:
            notice(f"problem:{pid}:new", person, at, html)
        step = at
        for level in range(1, row["level"] + 1):
            step += timedelta(days=rng.randint(1, 3))
            events.append({"problem_id": pid, "at": step, "actor_person_id": None, "kind": "escalated",
                           "level": level, "text": "",
                           "detail": {"from": level - 1, "to": level, "clock": "response",
                                      "due_at": step.isoformat()}})
            notice(f"problem:{pid}:up{level}", rng.choice(world.person_ids), step, html)
            notice(f"problem:{pid}:up{level}:below", raiser, step, html)
        if row["status"] in ("accepted", "answered"):
            step += timedelta(hours=rng.randint(1, 6))
            kind = "answered" if row["status"] == "answered" else "accepted"
            events.append({"problem_id": pid, "at": step, "actor_person_id": handlers[0], "kind": kind,
                           "level": row["level"], "text": row["answer_text"] or "", "detail": {}})
            notice(f"problem:{pid}:{kind}", raiser, step, html)
    return events, notices


async def _bulk(db: Database, model: Any, rows: list[dict[str, Any]]) -> None:
    """Core executemany INSERTs (no ORM objects), a chunk per transaction."""
    for start in range(0, len(rows), CHUNK):
        async with db.engine.begin() as conn:
            await conn.execute(insert(model), rows[start:start + CHUNK])


async def build(url: str | None, tmp: Path, size: int, due: int, max_due: int, seed: int) -> Dataset:
    """A fresh database with `size` open problems, `due` of them due now (`max_due` can be made due)."""
    started = time.perf_counter()
    rng = random.Random(seed)
    db = await _prepare_database(url, tmp, size)
    world = await _world(db, rng)
    due_order = rng.sample(range(1, size + 1), max_due)
    problems, normal, due_state = _problem_rows(world, size, set(due_order[:due]), rng)
    events, notices = _history_rows(world, problems, rng)
    await _bulk(db, Problem, problems)
    await _bulk(db, ProblemEvent, events)
    await _bulk(db, OutboxMessage, notices)
    async with db.session() as session:
        if db.is_sqlite:
            await session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        else:
            await session.execute(text("SELECT setval(pg_get_serial_sequence('problems', 'id'), :n)"),
                                  {"n": size})
            await session.execute(text("ANALYZE"))
    data = Dataset(db=db, size=size, normal=normal, due_state=due_state, due_order=due_order,
                   rows={"problems": len(problems), "events": len(events), "outbox": len(notices)})
    data.setup_s = time.perf_counter() - started
    return data


# --- ticking ---------------------------------------------------------------------------------------------


_STATE_COLUMNS = ("status", "level", "updated_at", "level_started_at", "response_due_at", "resolution_due_at",
                  "next_check_at", "nudged")


async def _set_states(db: Database, states: dict[int, dict[str, Any]]) -> None:
    """Write the given problems' clock fields back (one executemany UPDATE)."""
    statement = (update(Problem.__table__).where(Problem.__table__.c.id == bindparam("pid"))
                 .values({c: bindparam(c) for c in _STATE_COLUMNS}))
    params = [{"pid": pid, **{c: state[c] for c in _STATE_COLUMNS}} for pid, state in states.items()]
    async with db.session() as session:
        await session.execute(statement, params)


async def _high_water(db: Database) -> tuple[int, int]:
    async with db.session() as session:
        events = await session.scalar(select(func.coalesce(func.max(ProblemEvent.id), 0)))
        notices = await session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0)))
    return int(events or 0), int(notices or 0)


async def _undo(db: Database, marks: tuple[int, int], due: list[int], data: Dataset) -> int:
    """Put the due problems back (not due), drop what the tick wrote; returns how many notices it wrote."""
    async with db.session() as session:
        written = await session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.id > marks[1]))
        await session.execute(delete(ProblemEvent).where(ProblemEvent.id > marks[0]))
        await session.execute(delete(OutboxMessage).where(OutboxMessage.id > marks[1]))
    await _set_states(db, {pid: data.normal[pid] for pid in due})
    return int(written or 0)


@dataclass
class Sample:
    ms: float
    statements: int
    result: TickResult
    notices: int


async def tick_once(data: Dataset, due: int, renderer: Renderer, batch: int,
                    profiler: cProfile.Profile | None = None) -> Sample:
    db = data.db
    chosen = data.due_order[:due]
    await _set_states(db, {pid: data.due_state[pid] for pid in chosen})
    marks = await _high_water(db)
    if db.is_sqlite:  # each tick starts with an empty WAL, not paying to checkpoint the bench's own resets
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        if profiler is not None:
            profiler.enable()
        started = time.perf_counter()
        result = await run(db, FrozenClock(NOW), renderer, batch=batch)
        ms = (time.perf_counter() - started) * 1000
        if profiler is not None:
            profiler.disable()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    if result.checked != due:
        raise SystemExit(f"the tick checked {result.checked} problems, {due} were due")
    notices = await _undo(db, marks, chosen, data)
    return Sample(ms=ms, statements=statements, result=result, notices=notices)


@dataclass
class Line:
    """One measurement: the median of `repeat` ticks (and the best one, the least disturbed by other load)."""

    size: int
    due: int
    ms: float
    best: float
    samples: list[float]
    sample: Sample
    load: float

    def show(self) -> str:
        escalated = sum(1 for a in self.sample.result.actions if ":escalate:" in a)
        spread = " ".join(f"{s:.0f}" for s in self.samples)
        return (f"open={self.size} due={self.due} tick_ms={self.ms:.1f} best_ms={self.best:.1f} "
                f"escalated={escalated} notices={self.sample.notices} statements={self.sample.statements} "
                f"per_due_ms={self.ms / self.due:.2f} (ticks: {spread}; load average {self.load:.1f})")


async def measure(data: Dataset, due: int, repeat: int, renderer: Renderer, batch: int) -> Line:
    samples = [await tick_once(data, due, renderer, batch) for _ in range(repeat)]
    times = [s.ms for s in samples]
    return Line(size=data.size, due=due, ms=statistics.median(times), best=min(times), samples=times,
                sample=samples[-1], load=os.getloadavg()[0])


async def query_plan(data: Dataset, batch: int) -> str:
    """How the database finds the due problems (it should range over ix_problems_next_check, not read every
    active problem)."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        captured.append((statement, parameters))

    engine = data.db.engine.sync_engine
    async with data.db.session() as session:
        event.listen(engine, "before_cursor_execute", capture)
        try:
            await due_problems(session, now=NOW, limit=batch)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        statement, parameters = captured[0]
        prefix = "EXPLAIN QUERY PLAN " if data.db.is_sqlite else "EXPLAIN "
        connection = await session.connection()
        rows = (await connection.exec_driver_sql(prefix + statement, parameters)).all()
    return " | ".join(str(r[-1]) for r in rows)


def print_profile(profiler: cProfile.Profile, limit: int = 30) -> None:
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(limit)
        print(out.getvalue())


# --- main ---------------------------------------------------------------------------------------------------


# The advisory lock the storage tests hold on a shared PostgreSQL database: a run waits for them (and they
# for it) instead of the two emptying each other's tables.
PG_LOCK_KEY = 0x64696164


async def main_async(args: argparse.Namespace) -> int:
    if not args.database_url:
        return await _run_all(args)
    print(f"warning: every table of {args.database_url} is dropped and re-created for each size",
          file=sys.stderr)
    locker = Database(args.database_url)
    try:
        async with locker.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PG_LOCK_KEY})
            try:
                return await _run_all(args)
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PG_LOCK_KEY})
    finally:
        await locker.dispose()


async def _run_all(args: argparse.Namespace) -> int:
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    scaled = args.scaled_due if args.scaled_due is not None else 2 * args.due
    backend = "postgresql" if args.database_url else "sqlite (file, WAL)"
    print(f"escalation tick: backend={backend} sizes={sizes} due={args.due} scaled_due={scaled} "
          f"repeat={args.repeat} batch={args.batch} cpus={os.cpu_count()} "
          f"load_average={os.getloadavg()[0]:.1f}")
    renderer = Renderer()  # one per process, as in the app (templates compile once)
    lines: list[Line] = []
    with tempfile.TemporaryDirectory(prefix="diaodu-tick-") as tmp:
        for size in sizes:
            top = size == sizes[-1]
            max_due = max(args.due, scaled if top else 0)
            if max_due > size:
                raise SystemExit(f"cannot make {max_due} of {size} problems due")
            data = await build(args.database_url, Path(tmp), size, args.due, max_due, args.seed)
            try:
                if data.db.is_sqlite:
                    async with data.db.session() as session:
                        mode = await session.scalar(text("PRAGMA journal_mode"))
                    print(f"# journal_mode={mode}")
                print(f"# built open={size} in {data.setup_s:.1f}s: {data.rows}")
                print(f"# due query plan: {await query_plan(data, args.batch)}")
                cold = await tick_once(data, args.due, renderer, args.batch)
                print(f"# first tick (warms the engine and templates): {cold.ms:.1f} ms")
                line = await measure(data, args.due, args.repeat, renderer, args.batch)
                lines.append(line)
                print(line.show(), flush=True)
                if top and scaled and scaled != args.due:
                    line = await measure(data, scaled, args.repeat, renderer, args.batch)
                    lines.append(line)
                    print(line.show(), flush=True)
                if args.profile and top:
                    profiler = cProfile.Profile()
                    await tick_once(data, args.due, renderer, args.batch, profiler)
                    print_profile(profiler)
            finally:
                await data.db.dispose()
    base = [ln for ln in lines if ln.due == args.due]
    ok = all(ln.ms <= GOAL_MS for ln in base)
    print(f"goal: one tick with {args.due} due <= {GOAL_MS:.0f} ms (median) at every size: "
          f"{'PASS' if ok else 'FAIL'}")
    if len(base) > 1:
        first, last = base[0], base[-1]
        ratio = last.ms / first.ms
        flat = ratio <= FLAT_RATIO
        ok = ok and flat
        print(f"ratio open={last.size}/open={first.size} (due={args.due}): {ratio:.2f} median, "
              f"{last.best / first.best:.2f} best; statements {first.sample.statements} -> "
              f"{last.sample.statements} (goal <= {FLAT_RATIO}: the cost follows the due problems, not the "
              f"open ones): {'PASS' if flat else 'FAIL'}")
    more = [ln for ln in lines if ln.due != args.due]
    if more and base:
        ratio = more[0].ms / base[-1].ms
        print(f"ratio due={more[0].due}/due={args.due} (open={more[0].size}): {ratio:.2f} median, "
              f"{more[0].best / base[-1].best:.2f} best (at most {more[0].due / args.due:.1f}: linear in the "
              f"due ones; the statements stay a few per tick: {base[-1].sample.statements} -> "
              f"{more[0].sample.statements})")
    return 0 if ok else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="numbers of open problems, comma-separated")
    parser.add_argument("--due", type=int, default=100, help="problems due at each tick")
    parser.add_argument("--scaled-due", type=int, default=None,
                        help="also run the largest size with this many due (default: twice --due; 0: skip)")
    parser.add_argument("--repeat", type=int, default=5, help="ticks per measurement; the median is reported")
    parser.add_argument("--batch", type=int, default=1000, help="the tick's batch size")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL URL (postgresql+asyncpg://…) to use instead of SQLite: ALL ITS "
                             "TABLES ARE DROPPED")
    parser.add_argument("--profile", action="store_true", help="cProfile one more tick at the largest size")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
