"""Writing an import plan (bot.domain.ledger_plan.ImportPlan) in bulk: a few executemany statements per
table through the caller's session, whatever the number of rows, with one audit entry per row changed.

The caller owns the transaction; planning happened before (outside any write). The bot writes in its event
loop, and building the rows of 50,000 projects is seconds of Python: they are all built first (`_prepare`), a
thousand at a time with the event loop given back between (`_built`), before the first statement; the rows name
the units, people and projects the import adds by stand-ins (a unit's name, the person, ``_New``), given their
ids by short loops as the inserts return them. So the write lock is held for the statements back to back, not
across turns of the event loop in which another message of this process would wait for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, delete, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import to_local
from bot.domain.ledger_plan import HELD_FIELDS, PROJECT_FIELDS, ImportPlan, KnownPerson, RowChange
from bot.domain.stage_events import (
    DAY_LEDGER,
    FINISH,
    START,
    StageMove,
    added_start,
    ledger_day,
    moves_audit_detail,
    stage_move,
)
from storage.annual_plans import write_plans
from storage.audit import Actor
from storage.ledger_bases import write_bases
from storage.models import AuditEntry, Person, PersonRole, Project, ProjectSupportingUnit, Unit
from storage.nodes import write_node_plan
from storage.project_versions import record_rows as record_versions
from storage.stage_events import record_moves

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
    audit = await _built(plan.changes, lambda change: _audit_row(change, now=now, actor=actor, moves=moves))
    added_people = [(row, change.person) for row, change in zip(audit, plan.changes, strict=True)
                    if change.person is not None]
    return _Rows(people, person_updates, projects, project_updates, supporting,
                 [change["id"] for change in replaced], plans, bases,
                 [move for made in moves.values() for move in made], audit, added_people)


async def write_plan(session: AsyncSession, plan: ImportPlan, *, now: datetime, actor: Actor) -> None:
    """Insert and update what `plan` says, in the session's transaction: every row built first, then the
    statements back to back."""
    rows = await _prepare(plan, now=now, actor=actor)
    unit_table, person_table, project_table = Unit.__table__, Person.__table__, Project.__table__

    unit_ids = dict(zip(plan.new_units, await _insert_returning_ids(
        session, unit_table, [{"name": name, "created_at": now} for name in plan.new_units], ("name",)),
        strict=True))

    def unit(value: Any) -> Any:  # a unit id, or the name of a unit just added
        return unit_ids[value] if isinstance(value, str) else value

    _fill(rows.people, ("unit_id",), unit)
    _fill(rows.person_updates, ("b_unit_id",), unit)
    _fill(rows.projects, ("lead_unit_id",), unit)
    _fill(rows.project_updates, ("b_lead_unit_id",), unit)
    _fill(rows.supporting, ("unit_id",), unit)

    person_ids = await _insert_returning_ids(session, person_table, rows.people, ("name", "phone", "title", "unit_id"))
    for person, person_id in zip(plan.new_people, person_ids, strict=True):
        person.id = person_id

    def person(value: Any) -> Any:  # a person id, or a person (added just now, or known)
        if isinstance(value, KnownPerson):
            return value.id if value.id is not None else person_ids[value.ref]
        return value

    for row, added in rows.added_people:
        row["object_key"] = str(person(added))[:100]
    roles = [{"person_id": p.id, "role": role} for p in plan.new_people for role in sorted(p.roles)]
    roles += [{"person_id": p.id, "role": role} for p, role in plan.new_roles]
    if roles:
        await _executemany(session, insert(PersonRole.__table__), roles)
    if rows.person_updates:
        statement = (update(person_table).where(person_table.c.id == bindparam("b_id"))
                     .values({k: bindparam(f"b_{k}") for k in ("name", "phone", "title", "unit_id", "active",
                                                                "ledger_key")}))
        await _executemany(session, statement, rows.person_updates)

    _fill(rows.projects, ("lead_official_id", "liaison_id"), person)
    _fill(rows.project_updates, ("b_lead_official_id", "b_liaison_id"), person)
    project_ids = await _insert_returning_ids(session, project_table, rows.projects, ("code",))

    def project(value: Any) -> Any:  # a project id, or a project just added
        return project_ids[value.index] if isinstance(value, _New) else value

    _fill(rows.supporting, ("project_id",), project)
    if rows.project_updates:
        statement = (update(project_table).where(project_table.c.id == bindparam("b_id"))
                     .values({k: bindparam(f"b_{k}") for k in (*_PROJECT_VALUES, "updated_at")}))
        await _executemany(session, statement, rows.project_updates)
        table = ProjectSupportingUnit.__table__
        for start in range(0, len(rows.replaced), _CHUNK):
            await session.execute(delete(table).where(table.c.project_id.in_(rows.replaced[start:start + _CHUNK])))
    # each project added, and each whose name, town or holders changed, dated (storage.project_versions)
    await record_versions(session, [
        *({"project_id": project_id, **{k: row[k] for k in HELD_FIELDS}}
          for row, project_id in zip(rows.projects, project_ids, strict=True)),
        *({"project_id": row["b_id"], **{k: row[f"b_{k}"] for k in HELD_FIELDS}}
          for row, change in zip(rows.project_updates, plan.project_updates, strict=True) if change["held"])],
        at=now)
    if rows.supporting:
        await _executemany(session, insert(ProjectSupportingUnit.__table__), rows.supporting)
    if rows.plans:
        await write_plans(session, [(project(p), year, amount) for p, year, amount in rows.plans], now=now)
    if rows.bases:
        await write_bases(session, [(project(p), year, done, day) for p, year, done, day in rows.bases], now=now)
    made = [replace(move, project_id=project(move.project_id)) for move in rows.moves]
    for start in range(0, len(made), _CHUNK):
        await record_moves(session, made[start:start + _CHUNK], person_id=actor.person_id, now=now)
    audit = rows.audit
    if plan.nodes is not None and not plan.nodes.empty:
        audit = audit + await write_node_plan(session, plan.nodes, now=now, actor=actor)
    if audit:
        await _executemany(session, insert(AuditEntry.__table__), audit)


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


AUDIT_ACTIONS = {("unit", "add"): "unit.create", ("person", "add"): "person.create",
            ("person", "update"): "person.update", ("project", "add"): "project.create",
            ("project", "update"): "project.update"}


def _shown(value: Any) -> Any:
    """A value as JSON keeps it: amounts and days as text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, tuple | list):  # a history: (kind, day) pairs
        return [_shown(item) for item in value]
    return str(value)


# Field keys as the audit trail names them (bot.domain.labels.FIELDS), where the plan's differ.
_AUDIT_FIELDS = {"unit": "unit_name"}


def _audit_row(change: RowChange, *, now: datetime, actor: Actor, moves: dict[str, list[StageMove]]
               ) -> dict[str, Any]:
    """One audit entry per row: what changed as {"changed": {field: new}, "before": {field: old}} (people
    and units by name), like the chat's own changes; a row added is named (and a person's role given); a
    project's says from which day it is started, finished (or open again), and why (its `moves`)."""
    detail: dict[str, Any] = {"source": "ledger", "name": change.name}
    key = change.key
    if change.person is not None:  # added: known by the id just given
        key = str(change.person.id)
        detail["role"] = sorted(change.person.roles)[0] if change.person.roles else None
        if not change.person.active:  # added as the roster says: deactivated
            detail["active"] = False
    changed = [f for f in change.fields if f.field != "role"]
    if change.action == "add":  # what the row is added with
        detail.update({f.field: _shown(f.after) for f in changed})
    elif changed:
        detail["changed"] = {_AUDIT_FIELDS.get(f.field, f.field): _shown(f.after) for f in changed}
        detail["before"] = {_AUDIT_FIELDS.get(f.field, f.field): _shown(f.before) for f in changed}
    roles = [f.after for f in change.fields if f.field == "role"]
    if roles:
        detail["role_added"] = roles[0]
    if change.kind == "person" and change.action == "update" and "changed" not in detail:
        detail["changed"] = {}
    if change.kind == "project":
        detail.update(moves_audit_detail(moves.get(key, [])))
    return {"at": now, "actor_person_id": actor.person_id, "actor": actor.label, "channel": actor.channel,
            "action": AUDIT_ACTIONS[(change.kind, change.action)], "object_type": change.kind,
            "object_key": key[:100], "detail": detail}
