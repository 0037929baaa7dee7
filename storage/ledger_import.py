"""Writing an import plan (bot.domain.ledger_plan.ImportPlan) in bulk: a few executemany statements per
table through the caller's session, whatever the number of rows, with one audit entry per row changed.

The caller owns the transaction; planning happened before (outside any write). Building and converting the rows of
50,000 projects is seconds of Python: `prepare_write` does all of it before the transaction writes anything, a
thousand rows at a time with the event loop given back between, down to the values the database driver takes
(storage.driver_rows); the rows name the units, people and projects the import adds by stand-ins, given their ids
by short loops as the inserts give them. `write_prepared` then runs the statements back to back, so that SQLite's
write lock is held while they execute, not while Python prepares them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import to_local
from bot.domain.ledger_plan import HELD_FIELDS, PROJECT_FIELDS, ImportPlan, KnownPerson
from bot.domain.stage_events import (
    DAY_LEDGER,
    FINISH,
    START,
    StageMove,
    added_start,
    ledger_day,
    stage_move,
)
from storage.annual_plans import plan_rows
from storage.audit import Actor
from storage.driver_rows import Batch, Ref, driver_rows, execute
from storage.ledger_audit import audit_row
from storage.ledger_bases import base_rows
from storage.models import (
    AnnualPlan,
    AuditEntry,
    LedgerBase,
    Person,
    PersonRole,
    Project,
    ProjectSupportingUnit,
    ProjectVersion,
    StageEvent,
    Unit,
)
from storage.nodes import write_node_plan
from storage.person_names import record_renames
from storage.rows import gc_paused
from storage.stage_events import move_rows
from storage.yearly_rows import delete_years

_CHUNK = 1000  # rows per statement (bound parameters stay well under the drivers' limits)
_TURN = 1000  # rows built between two turns of the event loop (`_built`): a few milliseconds of Python
T = TypeVar("T")
R = TypeVar("R")
_PROJECT_VALUES = (*PROJECT_FIELDS, "baseline_year", "baseline_date", "lead_official_id", "liaison_id",
                   "lead_unit_id")


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), _CHUNK):
        yield rows[start:start + _CHUNK]


async def _built(items: Iterable[T], build: Callable[[T], R]) -> list[R]:
    """``[build(item) for item in items]``, giving the event loop back every ``_TURN`` items: the rows of
    50,000 projects are seconds of Python, which would hold every other message's answer that long."""
    built: list[R] = []
    for count, item in enumerate(items, 1):
        built.append(build(item))
        if count % _TURN == 0:
            await asyncio.sleep(0)
    return built


@dataclass(frozen=True)
class _New:
    """The project at `index` of the plan's new projects, until its insert gives it an id."""

    index: int


async def _insert_returning_ids(session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]],
                                key: Sequence[str]) -> list[int]:
    """Insert `rows` in batches; their new ids, in the order of `rows`.

    The ids come back with the `key` columns of each row, in whatever order the database returns them, and
    are matched to the rows by those values (rows with equal keys are equal in every column that could
    tell them apart, so which of them gets which id does not matter)."""
    statement = insert(table).returning(table.c.id, *(table.c[k] for k in key))
    returned: dict[tuple[Any, ...], list[int]] = {}
    for chunk in _chunks(rows):
        for row_id, *values in (await session.execute(statement, list(chunk))).all():
            returned.setdefault(tuple(values), []).append(row_id)
    return [returned[tuple(row[k] for k in key)].pop() for row in rows]


async def _executemany(session: AsyncSession, statement: Any, rows: Sequence[dict[str, Any]]) -> None:
    for chunk in _chunks(rows):
        await session.execute(statement, list(chunk))


def _fill(rows: Iterable[dict[str, Any]], fields: Sequence[str], resolve: Callable[[Any], Any]) -> None:
    """Give `fields` of `rows` their ids (a short loop, no turn of the event loop)."""
    for row in rows:
        for name in fields:
            row[name] = resolve(row[name])


@dataclass
class _Rows:
    """Every row an import writes, built before the first statement (`_prepare`)."""

    people: list[dict[str, Any]]
    person_updates: list[dict[str, Any]]
    projects: list[dict[str, Any]]
    project_updates: list[dict[str, Any]]
    supporting: list[dict[str, Any]]
    replaced: list[int]  # projects whose supporting units are replaced
    plans: list[tuple[Any, int, Any]]
    bases: list[tuple[Any, int, Any, Any]]
    moves: list[StageMove]
    audit: list[dict[str, Any]]
    added_people: list[tuple[dict[str, Any], KnownPerson]]  # audit rows keyed by the id of a person added


async def _prepare(plan: ImportPlan, *, now: datetime, actor: Actor) -> _Rows:
    """Build every row `plan` writes, giving the event loop back between every ``_TURN``."""
    people = await _built(plan.new_people, lambda p: {
        "name": p.name, "phone": p.phone, "title": p.title, "unit_id": p.unit_id, "active": p.active,
        "ledger_key": p.key, "created_at": now})
    person_updates = await _built(plan.person_updates, lambda p: {
        "b_id": p.id, "b_name": p.name, "b_phone": p.phone, "b_title": p.title, "b_unit_id": p.unit_id,
        "b_active": p.active, "b_ledger_key": p.key})
    projects = await _built(plan.new_projects, lambda project: {
        **{k: project[k] for k in _PROJECT_VALUES if k not in ("lead_official_id", "liaison_id")},
        "code": project["code"], "lead_official_id": project["lead_official"], "liaison_id": project["liaison"],
        "created_at": now, "updated_at": now})
    news = [_New(index) for index in range(len(plan.new_projects))]
    supporting = [row for rows in await _built(zip(plan.new_projects, news, strict=True), lambda added: [
        {"project_id": added[1], "unit_id": unit, "position": position}
        for position, unit in enumerate(added[0]["supporting"])]) for row in rows]
    project_updates = await _built(plan.project_updates, lambda change: {
        "b_id": change["id"], "b_updated_at": now, **{f"b_{k}": change["values"][k] for k in _PROJECT_VALUES}})
    replaced = [change for change in plan.project_updates if change["supporting"] is not None]
    supporting += [{"project_id": change["id"], "unit_id": unit, "position": position}
                   for change in replaced for position, unit in enumerate(change["supporting"])]

    # Each year keeps its own plan (storage.annual_plans): the file's is the plan of the year it is for.
    year = plan.as_of.year if plan.as_of is not None else now.year
    plans: list[tuple[Any, int, Any]] = [(new, year, project["annual_plan"])
                                         for project, new in zip(plan.new_projects, news, strict=True)]
    plans += [(project_id, year, amount) for project_id, amount in plan.plans]
    # Each year keeps its own ledger base (storage.ledger_bases): the file's is the base of the year it is of.
    bases = [(project_id, values["baseline_year"], values["done_before"], values["baseline_date"])
             for values, project_id in [*zip(plan.new_projects, news, strict=True),
                                        *((change["values"], change["id"]) for change in plan.project_updates)]
             if values.get("baseline_year") is not None and values.get("done_before") is not None]

    moves = await _stage_moves(plan, news, now=now)
    audit = await _built(plan.changes, lambda change: audit_row(change, now=now, actor=actor, moves=moves))
    added_people = [(row, change.person) for row, change in zip(audit, plan.changes, strict=True)
                    if change.person is not None]
    return _Rows(people, person_updates, projects, project_updates, supporting,
                 [change["id"] for change in replaced], plans, bases,
                 [move for made in moves.values() for move in made], audit, added_people)


@dataclass
class PreparedWrite:
    """What an import writes, made ready before its transaction (`prepare_write`): the rows of units and people
    (a few thousand, which the inserts give ids), and every other statement's rows in the driver's own form
    (storage.driver_rows), whose only unknowns are those ids."""

    plan: ImportPlan
    now: datetime
    actor: Actor
    rows: _Rows
    projects: Batch
    project_updates: Batch | None
    supporting: Batch
    plans: Batch
    bases: Batch
    moves: Batch
    versions: Batch  # each project added, and each whose name, town or holders change (storage.project_versions)
    audit: Batch
    existing_plans: list[tuple[int, int]] = field(default_factory=list)  # (project id, year) rows replaced
    existing_bases: list[tuple[int, int]] = field(default_factory=list)


def _ref(value: Any) -> Any:
    """A stand-in of `_prepare`'s rows as a value the write gives (storage.driver_rows.Ref), else the value: the
    name of a unit added, a person added, a project added."""
    if isinstance(value, str):
        return Ref("unit", value)
    if isinstance(value, KnownPerson):
        return value.id if value.id is not None else Ref("person", value)
    if isinstance(value, _New):
        return Ref("project", value.index)
    return value


async def prepare_write(plan: ImportPlan, *, now: datetime, actor: Actor, dialect: Dialect) -> PreparedWrite:
    """Every row `plan` writes, in the form `dialect`'s driver takes: all the Python of the write, done before
    its transaction, so that on SQLite the write lock is held only while the statements execute. The rows are
    built and converted a thousand at a time, the event loop answering others between, with the cycle collector
    paused (storage.rows.gc_paused): these rows hold no cycles, and the full collections their numbers set off
    walk the whole plan each time (10,000 projects at load 9: 3 collections of 1.1-1.5 s, each holding the event
    loop, and 7.9 s in all; paused, 1.7 s and the longest hold 0.27 s)."""
    with gc_paused():
        return await _prepare_write(plan, now=now, actor=actor, dialect=dialect)


async def _prepare_write(plan: ImportPlan, *, now: datetime, actor: Actor, dialect: Dialect) -> PreparedWrite:
    rows = await _prepare(plan, now=now, actor=actor)
    year_rows = [(p, year, amount) for p, year, amount in rows.plans]
    base_list = [(p, year, done, day) for p, year, done, day in rows.bases]
    project_table = Project.__table__
    update_statement = (update(project_table).where(project_table.c.id == bindparam("b_id"))
                        .values({k: bindparam(f"b_{k}") for k in (*_PROJECT_VALUES, "updated_at")}))
    for row, added in rows.added_people:
        row["object_key"] = Ref("person", added, text=True)
    versions = [{"project_id": _New(index), **{k: row[k] for k in HELD_FIELDS}, "valid_from": now}
                for index, row in enumerate(rows.projects)]
    versions += [{"project_id": row["b_id"], **{k: row[f"b_{k}"] for k in HELD_FIELDS}, "valid_from": now}
                 for row, change in zip(rows.project_updates, plan.project_updates, strict=True) if change["held"]]

    async def ready(statement: Any, table_rows: list[dict[str, Any]], *stand_ins: str) -> Batch:
        return await driver_rows(statement, dialect, table_rows, stand_ins=stand_ins, given=_ref)

    return PreparedWrite(
        plan, now, actor, rows,
        projects=await ready(insert(project_table), rows.projects, "lead_unit_id", "lead_official_id",
                             "liaison_id"),
        project_updates=await ready(update_statement, rows.project_updates, "b_lead_unit_id", "b_lead_official_id",
                                    "b_liaison_id") if rows.project_updates else None,
        supporting=await ready(insert(ProjectSupportingUnit.__table__), rows.supporting, "project_id", "unit_id"),
        plans=await ready(insert(AnnualPlan.__table__), plan_rows(year_rows, now=now), "project_id"),
        bases=await ready(insert(LedgerBase.__table__), base_rows(base_list, now=now), "project_id"),
        moves=await ready(insert(StageEvent.__table__), move_rows(rows.moves, person_id=actor.person_id, now=now),
                          "project_id"),
        versions=await ready(insert(ProjectVersion.__table__), versions, "project_id", "lead_unit_id",
                             "lead_official_id", "liaison_id"),
        audit=await ready(insert(AuditEntry.__table__), rows.audit),
        existing_plans=[(p, year) for p, year, _ in year_rows if isinstance(p, int)],
        existing_bases=[(p, year) for p, year, _, _ in base_list if isinstance(p, int)])


def session_dialect(session: AsyncSession) -> Dialect:
    """The dialect of the database `session` writes to."""
    return session.bind.dialect  # type: ignore[union-attr]


async def write_prepared(session: AsyncSession, prepared: PreparedWrite) -> None:
    """Run the statements of `prepared` in the session's transaction, back to back: only the ids of the units,
    people and projects it adds are set in between (short loops over those places alone). The cycle collector is
    paused meanwhile (as for `prepare_write`): a full collection here would hold the write lock too."""
    with gc_paused():
        await _write_prepared(session, prepared)


async def _write_prepared(session: AsyncSession, prepared: PreparedWrite) -> None:
    plan, rows, now, actor = prepared.plan, prepared.rows, prepared.now, prepared.actor
    unit_table, person_table = Unit.__table__, Person.__table__

    unit_ids = dict(zip(plan.new_units, await _insert_returning_ids(
        session, unit_table, [{"name": name, "created_at": now} for name in plan.new_units], ("name",)),
        strict=True))

    def unit(value: Any) -> Any:  # a unit id, or the name of a unit just added
        return unit_ids[value] if isinstance(value, str) else value

    _fill(rows.people, ("unit_id",), unit)
    _fill(rows.person_updates, ("b_unit_id",), unit)
    person_ids = await _insert_returning_ids(session, person_table, rows.people, ("name", "phone", "title", "unit_id"))
    for person, person_id in zip(plan.new_people, person_ids, strict=True):
        person.id = person_id
    roles = [{"person_id": p.id, "role": role} for p in plan.new_people for role in sorted(p.roles)]
    roles += [{"person_id": p.id, "role": role} for p, role in plan.new_roles]
    if roles:
        await _executemany(session, insert(PersonRole.__table__), roles)
    if rows.person_updates:
        # a person renamed keeps the name he had until now (storage.person_names), read before it is replaced
        await record_renames(session, [(row["b_id"], row["b_name"]) for row in rows.person_updates], at=now)
        statement = (update(person_table).where(person_table.c.id == bindparam("b_id"))
                     .values({k: bindparam(f"b_{k}") for k in ("name", "phone", "title", "unit_id", "active",
                                                                "ledger_key")}))
        await _executemany(session, statement, rows.person_updates)

    project_ids: list[int] = []

    def value_of(ref: Ref) -> Any:
        if ref.kind == "unit":
            return unit_ids[ref.key]
        if ref.kind == "person":
            return ref.key.id if ref.key.id is not None else person_ids[ref.key.ref]
        return project_ids[ref.key]

    prepared.projects.resolve(value_of)
    await execute(session, prepared.projects)
    if plan.new_projects:
        codes = dict((await session.execute(select(Project.code, Project.id))).all())
        project_ids.extend(codes[project["code"]] for project in plan.new_projects)
    batches = [prepared.project_updates, prepared.supporting, prepared.plans, prepared.bases, prepared.moves,
               prepared.versions, prepared.audit]
    for batch in batches:
        if batch is not None:
            batch.resolve(value_of)
    if prepared.project_updates is not None:
        await execute(session, prepared.project_updates)
        table = ProjectSupportingUnit.__table__
        for start in range(0, len(rows.replaced), _CHUNK):
            await session.execute(delete(table).where(table.c.project_id.in_(rows.replaced[start:start + _CHUNK])))
    await execute(session, prepared.supporting)
    await delete_years(session, AnnualPlan.__table__, prepared.existing_plans)
    await execute(session, prepared.plans)
    await delete_years(session, LedgerBase.__table__, prepared.existing_bases)
    await execute(session, prepared.bases)
    await execute(session, prepared.moves)
    await execute(session, prepared.versions)
    nodes_audit = []
    if plan.nodes is not None and not plan.nodes.empty:
        nodes_audit = await write_node_plan(session, plan.nodes, now=now, actor=actor)
    await execute(session, prepared.audit)
    if nodes_audit:
        await _executemany(session, insert(AuditEntry.__table__), nodes_audit)


async def _stage_moves(plan: ImportPlan, project_ids: Sequence[Any], *, now: datetime
                       ) -> dict[str, list[StageMove]]:
    """Project code → the start, finish (or reopening) the import makes, in their order: a project added already
    finished, or one whose stage the ledger moves from 谋划/前期 to 在建, or into or out of 竣工/投产
    (bot.domain.stage_events.stage_move), from the day the ledger gives for it (实际开工, 竣工日期), else the
    day of the import; a finished project's 竣工 the ledger dates earlier (or dates at all: ``finish_dated``,
    bot.domain.ledger_diff), from that day; and, before these, the 开工 of a project added already 在建 or
    finished whose 实际开工 the ledger gives (``added_start``), or of a project already started with no 开工
    recorded (``start_dated``), from that day. A project whose history the files give (阶段记录) and that has
    none recorded gets those moves instead, and no other."""
    today = to_local(now).date()
    stages = [(project["code"], project_id, None, project["stage"])
              for project, project_id in zip(plan.new_projects, project_ids, strict=True)]
    stages += [(change["code"], change["id"], change["stage_before"], change["values"]["stage"])
               for change in plan.project_updates]
    dated = {change["code"] for change in plan.project_updates if change.get("finish_dated")}
    start_dated = {change["code"] for change in plan.project_updates if change.get("start_dated")}
    moves: dict[str, list[StageMove]] = {}
    for count, (code, project_id, before, after) in enumerate(stages, 1):
        if count % _TURN == 0:
            await asyncio.sleep(0)  # the event loop's turn (see `_built`)
        started, finished = plan.stage_days.get(code, (None, None))
        made = moves.setdefault(code, [])
        if code in plan.histories:  # its whole history, as 阶段记录 gives it
            made.extend(StageMove(project_id, kind, day, DAY_LEDGER) for kind, day in plan.histories[code])
            continue
        start = added_start(after, started, today=today) if before is None else started if code in start_dated else None
        if start is not None:
            made.append(StageMove(project_id, START, start, DAY_LEDGER))
        kind = FINISH if code in dated else stage_move(before or "", after)
        if kind is not None:
            given = started if kind == START else finished if kind == FINISH else None
            made.append(StageMove(project_id, kind, *ledger_day(given, today=today)))
    return moves
