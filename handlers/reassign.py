"""The 项目办's decision on a unit's 申请改派: 同意改派 (then the unit, from buttons) or 驳回 (then the reason).

Buttons: ra:y:<problem> asks for the unit, ra:u:<problem>:<unit> moves the problem there, ra:n:<problem>
asks for the reason of a refusal (typed next). Only admins decide; a button of a request already decided
answers with what was decided. The rules and notices are bot.services.reassignment's.
"""

from __future__ import annotations

from typing import Any

from bot.domain.digits import as_id
from bot.domain.escalation import ACTIVE
from bot.domain.limits import REASON_TEXT_MAX
from bot.domain.messages import Button
from bot.domain.problem_numbers import parse_problem_number
from bot.services import reassignment
from bot.services.problems import ProblemDeps
from handlers.context import Context
from storage import audit
from storage import people as people_repo
from storage import problems as repo
from storage import units as unit_repo
from storage.models import Problem, ProblemEvent, Unit
from storage.settings import load_calendar, load_policy

PREFIX, FLOW = "ra", "reassign_refuse"


async def _deps(ctx: Context) -> ProblemDeps:
    return ProblemDeps(calendar=await load_calendar(ctx.session), policy=await load_policy(ctx.session),
                       renderer=ctx.deps.renderer)


async def _pending(ctx: Context, token: str) -> tuple[Problem, ProblemEvent] | None:
    """The problem and its pending request, for an admin; otherwise replies (who decides, or what became of
    the request) and returns None."""
    if ctx.person is None or "admin" not in ctx.roles:
        ctx.reply("problem_reassign_state", reason="not_admin", problem=None)
        return None
    number = parse_problem_number(token)
    problem = await repo.get_problem(ctx.session, problem_id=number, lock=True) if number is not None else None
    if problem is None:
        ctx.reply("button_expired")
        return None
    state = await reassignment.latest_request(ctx.session, problem)
    if state is None or not state.pending:
        ctx.reply("problem_reassign_state", reason="decided", problem=problem,
                  decision=state.decision if state is not None else None)
        return None
    if problem.status not in ACTIVE:
        ctx.reply("problem_reassign_state", reason="not_active", problem=problem)
        return None
    return problem, state.request


async def decision_button(ctx: Context, data: str) -> None:
    """ra:y:<id> / ra:u:<id>:<unit id> / ra:n:<id>."""
    kind, _, rest = data.partition(":")
    token, _, unit_token = rest.partition(":")
    found = await _pending(ctx, token)
    if found is None:
        return
    problem, asked = found
    if kind == "y":
        units, more = await reassignment.unit_choices(ctx.session, problem)
        buttons = [[Button(u.name, f"{PREFIX}:u:{problem.id}:{u.id}") for u in units[i:i + 2]]
                   for i in range(0, len(units), 2)]
        ctx.reply("problem_reassign_pick_unit", problem=problem, request=asked, more=more,
                  limit=reassignment.UNIT_BUTTONS_MAX, buttons=buttons)
    elif kind == "u":
        unit_id = as_id(unit_token)
        unit = await unit_repo.get_unit(ctx.session, unit_id=unit_id) if unit_id is not None else None
        if unit is None or unit.id == problem.unit_id:
            ctx.reply("button_expired")
            return
        await _approve(ctx, problem, asked, unit)
    elif kind == "n":
        await ctx.save_flow(FLOW, {"id": problem.id})
        ctx.reply("problem_reassign_ask_reason", problem=problem, request=asked)
    else:
        ctx.reply("button_expired")


async def _approve(ctx: Context, problem: Problem, asked: ProblemEvent, unit: Unit) -> None:
    assert ctx.person is not None
    old_unit = problem.unit.name
    event, handlers = await reassignment.reassign(ctx.session, await _deps(ctx), problem, actor=ctx.person,
                                                  unit=unit, reason=asked.text, now=ctx.now)
    await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="problem.assign", object_type="problem",
                       object_key=problem.number,
                       detail={"from": old_unit, "to": unit.name, "reason": event.text, "requested": True})
    fallback = not await people_repo.unit_handlers(ctx.session, unit_id=unit.id)
    ctx.reply("admin_project_assign_done", problem=problem, old_unit=old_unit, handlers=handlers,
              fallback=fallback, requested=True)


async def reason_step(ctx: Context, state: dict[str, Any]) -> None:
    """The reason typed after 驳回: the request is refused with it."""
    text = ctx.msg.text.strip()
    if not text:
        ctx.reply("problem_reassign_ask_reason", problem=None, request=None)
        return
    if ctx.refuse_too_long(text, REASON_TEXT_MAX, "refusal"):
        return  # still waiting: a shorter reason may follow
    await ctx.clear_flow()
    found = await _pending(ctx, str(state.get("id", "")))
    if found is None:
        return
    problem, asked = found
    assert ctx.person is not None
    await reassignment.refuse(ctx.session, await _deps(ctx), problem, asked, actor=ctx.person, reason=text,
                              now=ctx.now)
    await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="problem.reassign_refuse",
                       object_type="problem", object_key=problem.number,
                       detail={"unit": problem.unit.name, "reason": text})
    ctx.reply("problem_reassign_refused_done", problem=problem)


async def moved_away(ctx: Context, token: str) -> bool:
    """A unit's button (受理, 答复, …) pressed by a handler of a unit the problem was moved away from: the
    reply says where it went and when (True). False for anyone else."""
    person = ctx.person
    if person is None or "unit" not in ctx.roles or person.unit is None:
        return False
    number = parse_problem_number(token)
    problem = await repo.get_problem(ctx.session, problem_id=number) if number is not None else None
    if problem is None or problem.unit_id == person.unit_id:
        return False
    history = await repo.history(ctx.session, problem_id=problem.id)
    moved = next((e for e in reversed(history)
                  if e.kind == reassignment.DONE and e.detail.get("from") == person.unit.name), None)
    if moved is None:
        return False
    ctx.reply("problem_reassign_state", reason="moved", problem=problem, decision=moved)
    return True


BUTTONS = {PREFIX: decision_button}
FLOWS = {FLOW: reason_step}
