"""Admin commands about projects and problems: /project_set (in handlers.project_set), /approval (前期手续)
and /assign (改派).

Only admins may use them (registered for the "admin" role). Every change is audited with the admin and the
channel; every refusal says in Chinese what was wrong.
"""

from __future__ import annotations

from datetime import date

from bot.domain.escalation import ACTIVE
from bot.domain.problem_numbers import parse_problem_number, problem_number
from bot.services import problems as service
from bot.services.reassignment import reassign
from handlers import project_set
from handlers.commands import Command, CommandRegistry
from handlers.context import Context
from handlers.people_lookup import find_units
from handlers.project_set import parse_day, project_set_command
from storage import approvals as approval_repo
from storage import audit, people
from storage import problems as problem_repo
from storage import projects as project_repo
from storage.settings import load_calendar, load_policy

ADMIN = frozenset({"admin"})
DONE_WORDS = frozenset({"done", "完成", "已完成", "办结", "已办结", "✅"})
PENDING_WORDS = frozenset({"pending", "未完成", "待办", "办理中", "未办", "⬜"})


def register(registry: CommandRegistry) -> None:
    """Add the project commands, in menu order."""
    registry.add(Command.worded("project_set", project_set_command, roles=ADMIN))
    registry.add(Command.worded("approval", approval_command, roles=ADMIN))
    registry.add(Command.worded("assign", assign_command, roles=ADMIN))


BUTTONS = {project_set.PREFIX: project_set.confirm_button}


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
    read = 4 if status == approval_repo.DONE else 3  # code, item, done and its day; or code, item, pending
    if len(words) > read:  # "… done 2026-11-20 已盖章": named, nothing set
        ctx.refuse_words(" ".join(words[read:]))
        return
    done_on = None
    if status == approval_repo.DONE:
        done_on = parse_day(words[3]) if len(words) > 3 else ctx.today
        if done_on is None:
            ctx.reply("admin_project_refused", reason="bad_done_date", value=words[3], project=project)
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
    number = parse_problem_number(words[0]) if words else None
    if number is None or len(words) < 2:
        ctx.reply("admin_project_assign_usage")
        return
    problem = await problem_repo.get_problem(ctx.session, problem_id=number, lock=True)
    if problem is None:
        ctx.reply("problem_not_found", number=problem_number(number))
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
                       detail={"from": old_unit, "to": unit.name, "reason": event.text,
                               "requested": "request" in event.detail})
    fallback = not await people.unit_handlers(ctx.session, unit_id=unit.id)
    ctx.reply("admin_project_assign_done", problem=problem, old_unit=old_unit, handlers=handlers,
              fallback=fallback, requested="request" in event.detail)
