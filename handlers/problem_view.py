"""Seeing problems: the card (`/issue W0007`, 查看详情) with the buttons of the acts the caller may take, and
/issues; shared by raising (handlers.problems) and acting (handlers.problem_acts)."""

from __future__ import annotations

from typing import Any

from bot.clock import day_start
from bot.domain import scope
from bot.domain.escalation import ACTIVE, MAYOR_LEVEL
from bot.domain.messages import Button
from bot.domain.paging import page_of
from bot.domain.problem_numbers import parse_problem_number, problem_number
from bot.domain.scope import Act, Viewer
from bot.render import label
from bot.services import extensions
from bot.services import problems as service
from bot.services import scope as scope_service
from bot.services.leader_inbox import LEAD_LEVEL
from bot.services.scope import facts_of, problem_facts
from handlers.context import Context
from handlers.paging import page_buttons
from storage import leaves, people, project_versions
from storage import problems as repo
from storage.models import Problem, ProblemEvent
from storage.scope import viewer_on
from storage.settings import load_calendar, load_policy

ACTION_PREFIX = "pb"  # buttons on problems: pb:<act>:<id>
ISSUES_PAGE = 20  # problems on one page of /issues
ALL_WORDS = frozenset({"all", "全部"})  # /issues 全部: closed problems too
UP_WORDS = frozenset({"up", "上报"})  # /issues 上报: only those gone up to the caller's level or above
ISSUES_WORDS = ALL_WORDS | UP_WORDS


async def problem_deps(ctx: Context) -> service.ProblemDeps:
    """The rules in force (calendar, deadlines) and the renderer, for the problem service."""
    return service.ProblemDeps(calendar=await load_calendar(ctx.session), policy=await load_policy(ctx.session),
                               renderer=ctx.deps.renderer)


# The act each problem button stands for (pb:<code>:<id>).
BUTTON_ACTS = {"acc": Act.ACCEPT, "ans": Act.ANSWER, "rea": Act.REASSIGN, "rsv": Act.RESOLVE, "cfm": Act.CONFIRM,
               "rop": Act.REOPEN, "cmt": Act.COMMENT}


async def viewer_of_caller(ctx: Context) -> Viewer | None:
    """The caller as the scope rules see them today, with the 包抓领导 he stands in for (None for someone not
    bound)."""
    return await viewer_on(ctx.session, ctx.person, day=ctx.today) if ctx.person is not None else None


async def load(ctx: Context, token: str, *, command: str = "issue") -> Problem | None:
    """The problem named by "W0007", if it exists and the caller sees it (bot.domain.scope); replies
    otherwise (without a number: how `/command` is used)."""
    number = parse_problem_number(token) if token else None
    if number is None:
        ctx.reply("problem_usage", command=command)
        return None
    problem = await repo.get_problem(ctx.session, problem_id=number)
    viewer = await viewer_of_caller(ctx)
    if problem is None or viewer is None or not scope.can_see(viewer, facts_of(problem, unit_staffed=True)):
        ctx.reply("problem_not_found", number=problem_number(number),
                  **(await stand_in_over(ctx, problem) if problem is not None else {}))
        return None
    return problem


async def stand_in_over(ctx: Context, problem: Problem) -> dict[str, Any]:
    """When the caller stood in for the 包抓领导 of the problem's project during a leave that is over now (ran out,
    cut short or cancelled by 销假), that leave and the lead, for the refusal of what he may no longer do there
    (`_stand_in_over.j2`: the lead is back and handles it himself); when he stands in today for a 包抓领导 from whom
    this very project was taken during that leave, that one as `absent` (the project is not among those he holds
    for him); nothing otherwise (a problem he never had a part in is not described to him)."""
    lead = problem.project.lead_official if problem.project is not None else None
    if ctx.person is None or lead is None or lead.id == ctx.person.id:
        return {}
    leave = await leaves.stood_in_last(ctx.session, person_id=lead.id, substitute_id=ctx.person.id, today=ctx.today)
    if leave is not None:
        return {"over": leave, "lead": lead}
    for covered in await leaves.covering_for(ctx.session, substitute_id=ctx.person.id, day=ctx.today):
        if covered.person_id != lead.id and await project_versions.led_since(
                ctx.session, project_id=problem.project.id, person_id=covered.person_id,
                since=day_start(covered.start)):
            absent = await people.get_person(ctx.session, person_id=covered.person_id)
            return {"absent": absent, "lead": lead, "project": problem.project} if absent is not None else {}
    return {}


def button_act(button: Button) -> Act | None:
    """The act a problem button (pb:<code>:<id>) stands for; None for any other button."""
    prefix, _, rest = button.data.partition(":")
    return BUTTON_ACTS.get(rest.partition(":")[0]) if prefix == ACTION_PREFIX else None


def pressable(rows: list[list[Button]], acts: frozenset[Act]) -> list[list[Button]]:
    """The buttons of `rows` the caller may press: those of an act among `acts`, and any that stands for
    no act (查看详情…); rows left empty are dropped."""
    kept = [[b for b in row if button_act(b) is None or button_act(b) in acts] for row in rows]
    return [row for row in kept if row]

async def show(ctx: Context, problem: Problem) -> None:
    """The problem's whole card with its history, the extension request still waiting (if any), and the
    buttons of what the caller may do now."""
    history = await repo.history(ctx.session, problem_id=problem.id)
    pending = extensions.waiting_in(history)
    ctx.reply("problem_card", problem=problem, history=history, extension=pending,
              buttons=await buttons_for(ctx, problem, pending=pending))


async def decides_extensions(ctx: Context, problem: Problem, pending: ProblemEvent | None) -> bool:
    """Whether the caller decides the problem's extension requests (`pending`: the one waiting, if any,
    `bot.services.extensions.pending_request`): an admin, or a holder of the level above the problem's
    (bot.services.extensions.deciders); never the one who asked, not even an admin who stood in for a unit with
    no handler (代办) and asked himself."""
    if ctx.person is None:
        return False
    asker = pending.actor if pending is not None else None
    if asker is not None and asker.id == ctx.person.id:
        return False
    if "admin" in ctx.roles:
        return True
    deciders = await extensions.deciders(ctx.session, problem, day=ctx.today, asker=asker)
    return any(p.id == ctx.person.id for p in deciders)


async def buttons_for(ctx: Context, problem: Problem, *, pending: ProblemEvent | None) -> list[list[Button]]:
    """A button for each act the caller may take on the problem in its state (bot.domain.scope), and
    同意延期 / 不同意 while an extension request (`pending`: the one waiting, if any) waits for the caller's
    decision."""
    viewer = await viewer_of_caller(ctx)
    acts = scope.allowed_acts(viewer, await problem_facts(ctx.session, problem)) if viewer else frozenset()
    buttons: list[list[Button]] = []
    if acts & scope.UNIT_ACTS:
        buttons += pressable(service.unit_buttons(problem), acts)
    if acts & scope.RAISER_ACTS:
        buttons += pressable(service.raiser_buttons(problem), acts)
    if pending is not None and await decides_extensions(ctx, problem, pending):
        buttons += extensions.extension_buttons(problem)
    if Act.COMMENT in acts:
        buttons.append([Button(label("comment"), f"{ACTION_PREFIX}:cmt:{problem.id}")])
    return buttons


async def issues_command(ctx: Context, args: str) -> None:
    """The problems the caller sees (bot.domain.scope), most urgent first: a liaison's projects' and those
    they raised, their unit's, a 包抓领导's projects', all for top officials and admins; `全部` with the closed
    ones, `上报` only the open ones gone up to the caller's level or above (`up_to`)."""
    viewer = await viewer_of_caller(ctx)
    assert viewer is not None
    word = args.strip()
    include_closed = word in ALL_WORDS
    floor = up_to(viewer) if word in UP_WORDS else None
    queue = await scope_service.queue(ctx.session, viewer=viewer, now=ctx.now, include_closed=include_closed)
    if floor is not None:
        queue = [p for p in queue if p.level >= floor_of(viewer, p, floor) and p.status in ACTIVE]
    page = page_of(queue, ctx.page, ISSUES_PAGE)
    overdue = {p.id for p in page.items if scope.overdue(facts_of(p, unit_staffed=True), ctx.now)}
    ctx.reply("problem_list", problems=page.items, page=page, include_closed=include_closed, overdue=overdue,
              floor=floor, standing=floor is not None and floor > LEAD_LEVEL and bool(viewer.stands_for),
              buttons=page_buttons("issues", page, "all" if include_closed else "up" if floor else ""))


def up_to(viewer: Viewer) -> int:
    """The lowest level `/issues 上报` lists: the 区长's for the top officials and the admins (what their bulletin
    summary counts), the 包抓领导's for everyone else (a lead official's, and what went up from a unit)."""
    return MAYOR_LEVEL if viewer.roles & {"top", "admin"} else LEAD_LEVEL


def floor_of(viewer: Viewer, problem: Problem, floor: int) -> int:
    """The lowest level at which `/issues 上报` lists this problem: `floor`, but the 包抓领导's on the projects of a
    包抓领导 the viewer stands in for (a 区领导 standing in holds that level there, as a lead stand-in does)."""
    project = problem.project
    if project is not None and project.lead_official_id in viewer.stands_for:
        return min(floor, LEAD_LEVEL)
    return floor

