"""Admin commands about projects and problems: /project_set, /approval (前期手续) and /assign (改派).

Only admins may use them (registered for the "admin" role). Every change is audited with the admin and the
channel; every refusal says in Chinese what was wrong.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import problem_service as service
from bot.domain.amounts import AmountError, format_wan, parse_amount
from bot.domain.dates import day_of
from bot.domain.escalation import ACTIVE
from bot.domain.ledger_rows import STAGES
from handlers.admin_people import find_units, resolve_person
from handlers.commands import Command, CommandRegistry
from handlers.context import Context
from storage import approvals as approval_repo
from storage import audit, people
from storage import problems as problem_repo
from storage import projects as project_repo
from storage.models import Person, Problem, ProblemEvent, Project, ProjectSupportingUnit, Unit
from storage.settings import load_calendar, load_policy

ADMIN = frozenset({"admin"})
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_LIST_SPLIT = re.compile(r"[、，,;；\s]+")
NONE_WORDS = frozenset({"无", "空", "-", "—", "none"})
DONE_WORDS = frozenset({"done", "完成", "已完成", "办结", "已办结", "✅"})
PENDING_WORDS = frozenset({"pending", "未完成", "待办", "办理中", "未办", "⬜"})


def register(registry: CommandRegistry) -> None:
    """Add the project commands, in menu order."""
    registry.add(Command("project_set", "修改项目信息", project_set_command, roles=ADMIN,
                         usage="/project_set 项目编号 字段 值"))
    registry.add(Command("approval", "登记前期手续", approval_command, roles=ADMIN,
                         usage="/approval 项目编号 手续 done 日期 或 pending"))
    registry.add(Command("assign", "问题改派到其他单位", assign_command, roles=ADMIN,
                         usage="/assign 问题编号 单位 [说明]"))


# --- /project_set ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    key: str
    label: str
    aliases: tuple[str, ...]


FIELDS = (
    Field("stage", "建设阶段", ("stage", "建设阶段", "阶段")),
    Field("plan", "年度计划投资", ("plan", "annual_plan", "年度计划", "年度计划投资", "年度投资")),
    Field("total", "总投资", ("total", "total_investment", "总投资")),
    Field("start", "计划开工", ("start", "planned_start", "计划开工", "开工")),
    Field("finish", "计划竣工", ("finish", "planned_finish", "计划竣工", "竣工")),
    Field("lead", "包抓领导", ("lead", "lead_official", "包抓领导")),
    Field("unit", "牵头单位", ("unit", "lead_unit", "牵头单位")),
    Field("supporting", "配合单位", ("supporting", "supporting_units", "配合单位")),
    Field("liaison", "联络员", ("liaison", "联络员", "首办秘书")),
)
_BY_ALIAS = {alias.lower(): f for f in FIELDS for alias in f.aliases}


class Invalid(ValueError):
    """A value that cannot be set; `reason` picks the message of admin_project_refused."""

    def __init__(self, reason: str, **context: Any) -> None:
        super().__init__(reason)
        self.reason, self.context = reason, context


def parse_day(text: str) -> date | None:
    """2026-11-20, 2026/11/20, 2026.11.20 or 2026年11月20日; None if it is not a real date."""
    match = _DATE.fullmatch(unicodedata.normalize("NFKC", text).strip())
    return day_of(match) if match else None


def _value(project: Project, key: str) -> object:
    """A field's stored value, to tell whether it changed."""
    return {"stage": lambda: project.stage, "plan": lambda: project.annual_plan,
            "total": lambda: project.total_investment, "start": lambda: project.planned_start,
            "finish": lambda: project.planned_finish, "lead": lambda: project.lead_official_id,
            "unit": lambda: project.lead_unit_id, "liaison": lambda: project.liaison_id,
            "supporting": lambda: [s.unit_id for s in project.supporting]}[key]()


def shown(project: Project, key: str) -> str:
    """A field's current value as the admin reads it."""
    if key == "stage":
        return project.stage
    if key in ("plan", "total"):
        amount = project.annual_plan if key == "plan" else project.total_investment
        if amount != amount.quantize(Decimal("0.1")):  # down to the 元, as stored
            return f"{amount:,.4f}".rstrip("0") + " 万元"
        return f"{format_wan(amount)} 万元"
    if key in ("start", "finish"):
        day = project.planned_start if key == "start" else project.planned_finish
        return day.isoformat() if day else "—"
    if key == "lead":
        return project.lead_official.name if project.lead_official else "—"
    if key == "unit":
        return project.lead_unit.name
    if key == "supporting":
        return "、".join(s.unit.name for s in project.supporting) or "—"
    return project.liaison.name if project.liaison else "—"


async def project_set_command(ctx: Context, args: str) -> None:
    """`/project_set ZD2026-001 字段 值`: change one field of a project."""
    words = args.split(maxsplit=2)
    if len(words) < 3:
        ctx.reply("admin_project_set_usage", fields=FIELDS, stages=STAGES)
        return
    code, field_name, value = words[0], words[1], words[2].strip()
    project = await project_repo.get_project_by_code(ctx.session, code=code)
    if project is None:
        ctx.reply("project_not_found", code=code)
        return
    found = _BY_ALIAS.get(field_name.lower())
    if found is None:
        ctx.reply("admin_project_refused", reason="unknown_field", field=field_name, fields=FIELDS)
        return
    before, value_before = shown(project, found.key), _value(project, found.key)
    try:
        granted = await _apply(ctx, project, found, value)
    except Invalid as error:
        ctx.reply("admin_project_refused", reason=error.reason, field=found.label, value=value,
                  project=project, **error.context)
        return
    if granted is None:  # a person could not be named: resolve_person replied
        return
    after = shown(project, found.key)
    if _value(project, found.key) == value_before:
        ctx.reply("admin_project_refused", reason="unchanged", field=found.label, value=after,
                  project=project)
        return
    project.updated_at = ctx.now
    await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="project.update",
                       object_type="project", object_key=project.code,
                       detail={"field": found.key, "before": before, "after": after})
    for person, role in granted:
        await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="person.grant_role",
                           object_type="person", object_key=str(person.id), detail={"role": role})
    ctx.reply("admin_project_set_done", project=project, field=found.label, before=before, after=after,
              granted=granted)


async def _apply(ctx: Context, project: Project, field: Field, value: str) -> list[tuple[Person, str]] | None:
    """Set the field from the typed value; returns the roles granted on the way (None when the value names
    no single person: the candidates were shown). Raises Invalid."""
    key = field.key
    if key == "stage":
        if value not in STAGES:
            raise Invalid("bad_stage", stages=STAGES)
        project.stage = value
    elif key in ("plan", "total"):
        try:
            amount = parse_amount(value)
        except AmountError as error:
            raise Invalid("bad_amount", detail=error.message) from None
        plan = amount if key == "plan" else project.annual_plan
        total = amount if key == "total" else project.total_investment
        if key == "total" and amount <= 0:
            raise Invalid("total_zero")
        if plan > total:
            raise Invalid("plan_over_total", plan=format_wan(plan), total=format_wan(total))
        if key == "plan":
            project.annual_plan = amount
        else:
            project.total_investment = amount
    elif key in ("start", "finish"):
        day = None if value.lower() in NONE_WORDS else parse_day(value)
        if day is None and value.lower() not in NONE_WORDS:
            raise Invalid("bad_date")
        start = day if key == "start" else project.planned_start
        finish = day if key == "finish" else project.planned_finish
        if start is not None and finish is not None and start > finish:
            raise Invalid("start_after_finish", start=start.isoformat(), finish=finish.isoformat())
        if key == "start":
            project.planned_start = day
        else:
            project.planned_finish = day
    elif key in ("lead", "liaison"):
        person = await resolve_person(ctx, value)
        if person is None:
            return None
        if not person.active:
            raise Invalid("inactive", person=person.name)
        if key == "lead":
            project.lead_official_id, project.lead_official = person.id, person
        else:
            project.liaison_id, project.liaison = person.id, person
        role = "lead" if key == "lead" else "liaison"
        return [(person, role)] if people.grant_role(person, role) else []
    elif key == "unit":
        unit = await _exact_unit(ctx.session, value)
        if any(s.unit_id == unit.id for s in project.supporting):
            raise Invalid("lead_is_supporting", unit=unit.name)
        project.lead_unit_id, project.lead_unit = unit.id, unit
    else:
        names = [] if value.lower() in NONE_WORDS else [n for n in _LIST_SPLIT.split(value) if n]
        units = list({u.id: u for u in [await _exact_unit(ctx.session, name) for name in names]}.values())
        if any(u.id == project.lead_unit_id for u in units):
            raise Invalid("lead_is_supporting", unit=project.lead_unit.name)
        if [s.unit_id for s in project.supporting] != [u.id for u in units]:
            project.supporting.clear()
            await ctx.session.flush()
            project.supporting.extend(ProjectSupportingUnit(unit_id=u.id, unit=u, position=i)
                                      for i, u in enumerate(units))
    await ctx.session.flush()
    return []


async def _exact_unit(session: AsyncSession, name: str) -> Unit:
    units = await find_units(session, name)
    if len(units) == 1 and units[0].name == name.strip().replace("（", "(").replace("）", ")"):
        return units[0]
    raise Invalid("unknown_unit", unit=name, similar=[u.name for u in units[:10]])


# --- /approval -------------------------------------------------------------------------------------

async def approval_command(ctx: Context, args: str) -> None:
    """`/approval ZD2026-001` shows the 前期手续 checklist; `/approval ZD2026-001 环评 done 2026-11-20` or
    `… 环评 pending` sets one item."""
    words = args.split()
    if not words:
        ctx.reply("admin_project_approval_usage", items=approval_repo.ITEMS)
        return
    project = await project_repo.get_project_by_code(ctx.session, code=words[0])
    if project is None:
        ctx.reply("project_not_found", code=words[0])
        return
    if len(words) == 1:
        ctx.reply("admin_project_approvals", project=project,
                  approvals=await approval_repo.checklist(ctx.session, project_id=project.id))
        return
    item = words[1]
    if item not in approval_repo.ITEMS:
        ctx.reply("admin_project_refused", reason="unknown_item", item=item, items=approval_repo.ITEMS)
        return
    status_word = words[2].lower() if len(words) > 2 else ""
    if status_word in DONE_WORDS:
        status = approval_repo.DONE
    elif status_word in PENDING_WORDS:
        status = approval_repo.PENDING
    else:
        ctx.reply("admin_project_approval_usage", items=approval_repo.ITEMS)
        return
    done_on = None
    if status == approval_repo.DONE:
        done_on = parse_day(words[3]) if len(words) > 3 else ctx.today
        if done_on is None:
            ctx.reply("admin_project_refused", reason="bad_date", field="办结日期", value=words[3],
                      project=project)
            return
        if done_on > ctx.today:
            ctx.reply("admin_project_refused", reason="future_date", value=done_on.isoformat(),
                      project=project)
            return
    _row, before = await approval_repo.set_approval(ctx.session, project_id=project.id, item=item,
                                                    status=status, done_on=done_on, now=ctx.now,
                                                    by=ctx.actor.label)
    was = None if before is None else {"status": before[0], "done_on": _iso(before[1])}
    await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="approval.set",
                       object_type="project", object_key=project.code,
                       detail={"item": item, "status": status, "done_on": _iso(done_on), "before": was})
    ctx.reply("admin_project_approval_done", project=project, item=item, status=status, done_on=done_on,
              approvals=await approval_repo.checklist(ctx.session, project_id=project.id))


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# --- /assign ---------------------------------------------------------------------------------------

async def assign_command(ctx: Context, args: str) -> None:
    """`/assign W0007 区发改局 [说明]`: the problem goes to another unit, at level 0 with fresh clocks."""
    assert ctx.person is not None
    words = args.split(maxsplit=2)
    number = problem_repo.parse_number(words[0]) if words else None
    if number is None or len(words) < 2:
        ctx.reply("admin_project_assign_usage")
        return
    problem = await problem_repo.get_problem(ctx.session, problem_id=number, lock=True)
    if problem is None:
        ctx.reply("problem_not_found", number=f"W{number:04d}")
        return
    if problem.status not in ACTIVE:
        ctx.reply("admin_project_refused", reason="problem_state", problem=problem)
        return
    units = await find_units(ctx.session, words[1])
    if len(units) != 1:
        ctx.reply("admin_project_refused", reason="unknown_unit" if not units else "ambiguous_unit",
                  unit=words[1], similar=[u.name for u in units[:10]])
        return
    unit = units[0]
    if unit.id == problem.unit_id:
        ctx.reply("admin_project_refused", reason="same_unit", problem=problem)
        return
    deps = service.ProblemDeps(calendar=await load_calendar(ctx.session),
                               policy=await load_policy(ctx.session), renderer=ctx.deps.renderer)
    old_unit = problem.unit.name
    event, handlers = await reassign(ctx.session, deps, problem, actor=ctx.person, unit=unit,
                                     reason=words[2].strip() if len(words) > 2 else "", now=ctx.now)
    await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="problem.assign",
                       object_type="problem", object_key=problem.number,
                       detail={"from": old_unit, "to": unit.name, "reason": event.text})
    fallback = not await people.unit_handlers(ctx.session, unit_id=unit.id)
    ctx.reply("admin_project_assign_done", problem=problem, old_unit=old_unit, handlers=handlers,
              fallback=fallback)


async def reassign(session: AsyncSession, deps: service.ProblemDeps, problem: Problem, *, actor: Person,
                   unit: Unit, reason: str, now: datetime) -> tuple[ProblemEvent, list[Person]]:
    """Give the problem to `unit`: back to level 0 and "open" with fresh clocks (the old unit's answer and
    promised date no longer hold), a "reassigned" history event, the new unit's handlers told with the unit
    buttons, the old unit's handlers and the raiser told it moved. Returns the event and the new holders.

    Clocks, notice context and notices are problem_service's own helpers, so a reassigned problem runs on
    exactly the rules of a new one."""
    old_unit = problem.unit
    old_handlers = await people.unit_handlers(session, unit_id=old_unit.id)
    from_level = problem.level
    problem.unit_id, problem.unit = unit.id, unit
    problem.level, problem.status, problem.nudged = 0, "open", []
    problem.answer_text, problem.promised_date, problem.updated_at = None, None, now
    service._start_level(problem, deps, now)
    await session.flush()
    event = await problem_repo.add_event(session, problem=problem, at=now, kind="reassigned",
                                         actor_id=actor.id, text=reason,
                                         detail={"from": old_unit.name, "to": unit.name,
                                                 "from_level": from_level})
    context = {**await service._context(session, problem), "event": event, "old_unit": old_unit.name}
    holders = await problem_repo.level_holders(session, problem=problem, level=0)
    key = f"problem:{problem.id}:e{event.id}"
    await service._notify(session, deps, holders, template="admin_project_assigned", key=key, now=now,
                          buttons=service.unit_buttons(problem), **context)
    told = {p.id for p in holders} | {actor.id}
    others = {p.id: p for p in [*old_handlers, problem.raised_by] if p.id not in told}
    await service._notify(session, deps, others.values(), template="admin_project_reassigned",
                          key=f"{key}:moved", now=now, **context)
    return event, holders
