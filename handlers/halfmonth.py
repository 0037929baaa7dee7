"""/halfmonth: the half-monthly written report (半月报), guided in three steps per project — 进展情况,
存在问题, 下一步措施 — each prefilled from the half-month's daily reports and the project's open problems
(「采用」 takes the proposal, any text replaces it), then 提交.

A liaison reports on the projects they are liaison for; the report is on the half-month being asked for
(``bot.domain.halfmonth.latest_asked``). Sending again for the same half-month replaces the texts. An
admin's /halfmonth shows who has sent and who has not.
"""

from __future__ import annotations

from typing import Any

from bot.domain import halfmonth as periods
from bot.domain.limits import HALFMONTH_TEXT_MAX
from bot.domain.messages import Button
from bot.render import label
from bot.services import halfmonth as service
from handlers.commands import Command, CommandRegistry, Use, command_words
from handlers.context import Context
from handlers.flow_buttons import Press, confirm_button, drafted, expired, flow_buttons
from storage import halfmonth as repo
from storage import projects as project_repo
from storage.models import Project
from storage.settings import load_calendar

FLOW = "halfmonth"
PREFIX = "hm"
STEPS = ("progress", "problems", "next_steps")


def _cancel() -> Button:
    return Button(label("cancel"), f"{PREFIX}:cancel")


def register(registry: CommandRegistry) -> None:
    registry.add(Command.worded("halfmonth", halfmonth_command, roles=frozenset({"liaison", "admin"}),
                                # a liaison who is also an admin has his own projects listed first
                                more=(Use(frozenset({"liaison"}), command_words("halfmonth")),
                                      Use(frozenset({"admin"}), command_words("halfmonth.admin"),
                                          command_words("halfmonth.admin.usage")),)))


async def _half(ctx: Context) -> periods.HalfMonth:
    return periods.latest_asked(ctx.today, await load_calendar(ctx.session))


async def halfmonth_command(ctx: Context, args: str) -> None:
    """`/halfmonth` (my projects, or for an admin who has sent) or `/halfmonth CODE` (start that one)."""
    code, *rest = args.split(maxsplit=1) or [""]
    if rest:  # "/halfmonth ZD2026-001 本期": the report's parts are asked for one by one
        ctx.refuse_words(rest[0].strip())
        return
    half = await _half(ctx)
    if code:
        await _start(ctx, code, half)
    elif "liaison" in ctx.roles:
        await _list_mine(ctx, half)
    else:
        await _status(ctx, half)


async def _list_mine(ctx: Context, half: periods.HalfMonth) -> None:
    assert ctx.person_id is not None
    mine = [item for item in await repo.owed(ctx.session, half=half) if item.liaison_id == ctx.person_id]
    if not mine:
        ctx.reply("halfmonth_none", half=half)
        return
    sent = await repo.sent(ctx.session, period_start=half.start)
    rows = [(item, item.project_id in sent) for item in mine]
    buttons = [[Button(label("halfmonth", item.code, done), f"{PREFIX}:p:{item.code}")] for item, done in rows]
    ctx.reply("halfmonth_list", half=half, rows=rows, asking=False, due=None, buttons=buttons)


async def _status(ctx: Context, half: periods.HalfMonth) -> None:
    owed = await repo.owed(ctx.session, half=half)
    sent = await repo.sent(ctx.session, period_start=half.start)
    calendar = await load_calendar(ctx.session)
    ctx.reply("halfmonth_status", half=half, owed=owed, missing=[i for i in owed if i.project_id not in sent],
              compile_day=periods.compile_day(half, calendar))


async def _project(ctx: Context, code: str, half: periods.HalfMonth) -> Project | None:
    """The project, when the caller is its liaison, or was at the end of ``half`` and so owes its report
    (``storage.halfmonth.owed``: a project handed over since is asked of the one who held it then); replies
    otherwise."""
    project = await project_repo.get_project_by_code(ctx.session, code=code)
    if project is None:
        ctx.reply("project_not_found", code=code)
        return None
    if project.liaison_id != ctx.person_id and not any(
            item.project_id == project.id and item.liaison_id == ctx.person_id
            for item in await repo.owed(ctx.session, half=half)):
        ctx.reply("halfmonth_not_yours", project=project)
        return None
    return project


async def _start(ctx: Context, code: str, half: periods.HalfMonth) -> None:
    project = await _project(ctx, code, half)
    if project is None:
        return
    proposal = await service.prefill(ctx.session, ctx.deps.renderer, project_id=project.id, half=half)
    state = {"code": project.code, "period": half.key, "step": STEPS[0],
             "proposal": {"progress": proposal.progress, "problems": proposal.problems,
                          "next_steps": proposal.next_steps}}
    await _ask(ctx, project, half, state)


async def _ask(ctx: Context, project: Project, half: periods.HalfMonth, state: dict[str, Any]) -> None:
    await ctx.save_flow(FLOW, state)
    step = state["step"]
    proposal = state["proposal"][step]
    buttons = [[Button(label("halfmonth_use"), f"{PREFIX}:use")]] if proposal else []
    ctx.reply("halfmonth_ask", project=project, half=half, step=step, number=STEPS.index(step) + 1,
              proposal=proposal, buttons=[*buttons, [_cancel()]])


async def _resume(ctx: Context, state: dict[str, Any]) -> tuple[Project, periods.HalfMonth] | None:
    half = periods.parse(state["period"])
    project = await _project(ctx, state["code"], half)
    if project is None:
        await ctx.clear_flow()
        return None
    return project, half


async def _answer(ctx: Context, state: dict[str, Any], text: str) -> None:
    """Take `text` for the current step and go on to the next one, or to the confirmation."""
    resumed = await _resume(ctx, state)
    if resumed is None:
        return
    project, half = resumed
    state = {**state, state["step"]: text}
    index = STEPS.index(state["step"])
    if index + 1 < len(STEPS):
        await _ask(ctx, project, half, {**state, "step": STEPS[index + 1]})
        return
    await _confirm(ctx, project, half, state)


async def _confirm(ctx: Context, project: Project, half: periods.HalfMonth, state: dict[str, Any]) -> None:
    """The three parts for 提交, which names them: one left on an earlier 半月报 does not submit this one."""
    state = drafted({**state, "step": "confirm"})
    await ctx.save_flow(FLOW, state)
    ctx.reply("halfmonth_confirm", project=project, half=half, report=state,
              buttons=[[confirm_button(label("halfmonth_submit"), PREFIX, state),
                        Button(label("halfmonth_again"), f"{PREFIX}:p:{project.code}")],
                       [_cancel()]])


async def _again(ctx: Context, state: dict[str, Any]) -> None:
    """The 半月报 shown again for 提交, for a state kept without its token (before 提交 named its draft)."""
    resumed = await _resume(ctx, state)
    if resumed is not None:
        await _confirm(ctx, *resumed, state)


async def halfmonth_step(ctx: Context, state: dict[str, Any]) -> None:
    """A text while the flow waits for one of the three parts."""
    text = ctx.msg.text.strip()
    if state.get("step") not in STEPS or not text:
        ctx.point_to_choices("halfmonth_press_button")
        return
    if ctx.refuse_too_long(text, HALFMONTH_TEXT_MAX, "halfmonth"):
        return
    await _answer(ctx, state, text)


@flow_buttons(FLOW, cancel="cancel", cancelled="halfmonth_cancelled", open_to=("p:",), confirm="ok", again=_again)
async def halfmonth_button(ctx: Context, press: Press) -> None:
    """Buttons: a project to fill in, 采用 (the proposal), 提交, 取消."""
    state = press.state
    if press.data.startswith("p:"):
        await _start(ctx, press.value, await _half(ctx))
    elif press.at("use", *STEPS) and state["proposal"][state["step"]]:
        await _answer(ctx, state, state["proposal"][state["step"]])
    elif press.at("ok", "confirm"):
        await _submit(ctx, state)
    else:
        expired(ctx)


async def _submit(ctx: Context, state: dict[str, Any]) -> None:
    await ctx.clear_flow()
    resumed = await _resume(ctx, state)
    if resumed is None:
        return
    project, half = resumed
    assert ctx.person_id is not None
    replaced = await repo.save(ctx.session, project_id=project.id, period_start=half.start,
                               progress=state["progress"], problems=state["problems"],
                               next_steps=state["next_steps"], person_id=ctx.person_id, channel=ctx.msg.channel,
                               now=ctx.now)
    ctx.reply("halfmonth_saved", project=project, half=half, replaced=replaced,
              late=await repo.compiled(ctx.session, half=half),
              compile_day=periods.compile_day(half, await load_calendar(ctx.session)))

