"""Problems: /issue (guided or one-shot raising, or one problem's card). Seeing them is handlers.problem_view,
acting on them handlers.problem_acts; the router finds all three here."""

from __future__ import annotations

from typing import Any

from bot.domain import scope
from bot.domain.digits import as_id, as_index
from bot.domain.escalation import CATEGORIES
from bot.domain.limits import PROBLEM_TEXT_MAX
from bot.domain.messages import Button
from bot.domain.problem_numbers import looks_like_problem_number
from bot.domain.report_line import looks_like_code
from bot.render import label
from bot.services import problems as service
from handlers.context import Context
from handlers.flow_buttons import Press, confirm_button, drafted, expired, flow_buttons
from handlers.paging import project_page, project_rows
from handlers.problem_acts import TEXT_FLOW, action_button, command_for, text_step
from handlers.problem_view import ACTION_PREFIX, ALL_WORDS, ISSUES_WORDS, issues_command, load, problem_deps, show
from storage import projects as project_repo
from storage.models import Project, Unit
from storage.scope import project_facts, viewer_of

__all__ = ["ACTION_PREFIX", "ALL_WORDS", "ISSUES_WORDS", "ISSUE_FLOW", "ISSUE_PREFIX", "TEXT_FLOW", "action_button",
           "command_for", "issue_button", "issue_command", "issue_step", "issues_command", "show", "text_step"]

ISSUE_FLOW = "issue"
ISSUE_PREFIX = "iss"
CATEGORY_LIKE = 4  # characters: a first word this short after the code is meant as the category


async def issue_command(ctx: Context, args: str) -> None:
    """`/issue` guided; `/issue CODE 类别 文字` at once; `/issue W0007` shows one problem."""
    words = args.split(maxsplit=2)
    if words and looks_like_problem_number(words[0]) and not looks_like_code(words[0]):
        if len(words) > 1:  # "/issue W0007 还没解决": a problem's card takes nothing more
            ctx.refuse_words(" ".join(words[1:]))
            return
        problem = await load(ctx, words[0])
        if problem is not None:
            await show(ctx, problem)
        return
    if "liaison" not in ctx.roles:
        ctx.reply("problem_only_liaison")
        return
    if not words:
        await _ask_project(ctx)
        return
    project = await _own_project(ctx, words[0])
    if project is None:
        return
    if len(words) < 3 or words[1] not in CATEGORIES:
        await _ask_category(ctx, project, words[1:])
        return
    await _raise(ctx, project, words[1], words[2].strip(), project.lead_unit, list(ctx.msg.photos))


async def _ask_category(ctx: Context, project: Project, words: list[str]) -> None:
    """`/issue CODE` without a category, or with one the bot does not know: the category buttons, and what
    was typed after the code kept as the description (a known category alone asks for the description)."""
    if len(words) == 1 and words[0] in CATEGORIES:
        await ctx.save_flow(ISSUE_FLOW, {"step": "text", "code": project.code, "category": words[0],
                                         "photos": list(ctx.msg.photos)})
        ctx.reply("problem_ask_text", category=words[0])
        return
    # A short first word is a category the bot does not know (电力); anything else is the description.
    unknown = words[0] if words and len(words[0]) <= CATEGORY_LIKE else ""
    text = " ".join(words[1:] if unknown else words).strip()
    if ctx.refuse_too_long(text, PROBLEM_TEXT_MAX, "problem"):
        return
    await ctx.save_flow(ISSUE_FLOW, {"step": "category", "code": project.code, "photos": list(ctx.msg.photos),
                                     **({"text": text} if text else {})})
    ctx.reply("problem_pick_category", project=project, unknown=unknown, text=text, buttons=_category_buttons())


async def _own_project(ctx: Context, code: str) -> Project | None:
    project = await project_repo.get_project_by_code(ctx.session, code=code)
    if project is None:
        ctx.reply("project_not_found", code=code)
        return None
    if ctx.person is None or not scope.may_raise(viewer_of(ctx.person), project_facts(project)):
        ctx.reply("problem_not_your_project", project=project)
        return None
    return project


async def _raise(ctx: Context, project: Project, category: str, text: str, unit: Unit,
                 photos: list[str]) -> None:
    assert ctx.person is not None
    if ctx.refuse_too_long(text, PROBLEM_TEXT_MAX, "problem"):
        return
    problem = await service.raise_problem(
        ctx.session, await problem_deps(ctx), project=project, raiser=ctx.person, category=category, text=text,
        unit=unit, photos=[(ctx.msg.channel, f) for f in photos], now=ctx.now,
    )
    ctx.reply("problem_raised", problem=problem)


async def _ask_project(ctx: Context, number: int = 1, *, started: bool = False) -> None:
    """Which project, page `number` of them; `started`: the flow already waits for it (上一页/下一页)."""
    assert ctx.person is not None
    mine = await project_repo.projects_of_liaison(ctx.session, person_id=ctx.person.id)
    if not mine:
        ctx.reply("report_no_projects")
        return
    if not started:
        await ctx.save_flow(ISSUE_FLOW, {"step": "project", "photos": list(ctx.msg.photos)})
    page = project_page(mine, number)
    ctx.reply("problem_pick_project", page=page,
              buttons=[*project_rows(page, ISSUE_PREFIX), [Button(label("cancel"), f"{ISSUE_PREFIX}:x")]])


def _category_buttons() -> list[list[Button]]:
    row: list[Button] = []
    rows: list[list[Button]] = []
    for index, name in enumerate(CATEGORIES):
        row.append(Button(name, f"{ISSUE_PREFIX}:c:{index}"))
        if len(row) == 3:
            rows.append(row)
            row = []
    return [*rows, *([row] if row else []), [Button(label("cancel"), f"{ISSUE_PREFIX}:x")]]


async def _unit_choices(ctx: Context, project: Project) -> list[Unit]:
    return [project.lead_unit, *(s.unit for s in project.supporting)]


async def issue_step(ctx: Context, state: dict[str, Any]) -> None:
    """Typed text or photos while /issue waits for them (a photo sent at any step is kept for the problem)."""
    step, text = state.get("step"), ctx.msg.text.strip()
    if ctx.msg.photos and step != "photos":
        state = {**state, "photos": [*state.get("photos", []), *ctx.msg.photos]}
        await ctx.save_flow(ISSUE_FLOW, state)
        if not (step == "text" and text):  # a photo captioned with the description goes on as the description
            ctx.point_to_choices("problem_photo_kept", count=len(state["photos"]), step=step)
            return
    if step == "text" and text:
        if ctx.refuse_too_long(text, PROBLEM_TEXT_MAX, "problem"):
            return
        await ctx.save_flow(ISSUE_FLOW, {**state, "step": "photos", "text": text})
        ctx.reply("problem_ask_photos", buttons=[[Button(label("photos_done"), f"{ISSUE_PREFIX}:d")],
                                                  [Button(label("cancel"), f"{ISSUE_PREFIX}:x")]])
    elif step == "photos" and ctx.msg.photos:
        photos = [*state.get("photos", []), *ctx.msg.photos]
        await ctx.save_flow(ISSUE_FLOW, {**state, "photos": photos})
        ctx.reply("report_photo_received", count=len(photos),
                  buttons=[[Button(label("photos_done"), f"{ISSUE_PREFIX}:d")],
                           [Button(label("cancel"), f"{ISSUE_PREFIX}:x")]])
    else:
        ctx.point_to_choices("problem_flow_hint", step=step)


async def _summary(ctx: Context, project: Project, unit: Unit, state: dict[str, Any]) -> None:
    """The problem for 确认, its 确认 naming it: one left on an earlier summary does not raise this one."""
    state = drafted({**state, "step": "confirm"})
    await ctx.save_flow(ISSUE_FLOW, state)
    ctx.reply("problem_summary", project=project, category=state["category"], text=state["text"],
              unit=unit, photo_count=len(state.get("photos", [])),
              buttons=[[confirm_button(label("confirm"), ISSUE_PREFIX, state),
                        Button(label("cancel"), f"{ISSUE_PREFIX}:x")]])


async def _again(ctx: Context, state: dict[str, Any]) -> None:
    """The summary shown again for a state kept without its token (before 确认 named its draft)."""
    project = await _own_project(ctx, state["code"])
    unit = None if project is None else next(
        (u for u in await _unit_choices(ctx, project) if u.id == state.get("unit_id")), None)
    if project is None or unit is None:
        await ctx.clear_flow()
        if project is not None:
            expired(ctx)
        return
    await _summary(ctx, project, unit, state)


@flow_buttons(ISSUE_FLOW, cancel="x", cancelled="problem_cancelled", confirm="ok", again=_again)
async def issue_button(ctx: Context, press: Press) -> None:
    """Buttons of the guided /issue flow."""
    state = press.state
    if press.at("pg:", "project") and (number := as_id(press.value)) is not None:
        await _ask_project(ctx, number, started=True)
        return
    if press.at("p:", "project"):
        project = await _own_project(ctx, press.value)
        if project is not None:
            await ctx.save_flow(ISSUE_FLOW, {"step": "category", "code": project.code,
                                             "photos": state.get("photos", [])})
            ctx.reply("problem_pick_category", project=project, buttons=_category_buttons())
        return
    if "code" not in state:  # a button of a later step while the flow waits for the project
        expired(ctx)
        return
    project = await _own_project(ctx, state["code"])
    if project is None:
        await ctx.clear_flow()
        return
    category = as_index(press.value, len(CATEGORIES)) if press.at("c:", "category") else None
    if category is not None and state.get("text"):  # the description came with the command: on to the photos
        await ctx.save_flow(ISSUE_FLOW, {**state, "step": "photos", "category": CATEGORIES[category]})
        ctx.reply("problem_ask_photos", category=CATEGORIES[category],
                  buttons=[[Button(label("photos_done"), f"{ISSUE_PREFIX}:d")],
                           [Button(label("cancel"), f"{ISSUE_PREFIX}:x")]])
    elif category is not None:
        await ctx.save_flow(ISSUE_FLOW, {**state, "step": "text", "category": CATEGORIES[category]})
        ctx.reply("problem_ask_text", category=CATEGORIES[category])
    elif press.at("d", "photos"):
        await ctx.save_flow(ISSUE_FLOW, {**state, "step": "unit"})
        buttons = [[Button(label("problem_unit", u.name, i == 0), f"{ISSUE_PREFIX}:u:{u.id}")]
                   for i, u in enumerate(await _unit_choices(ctx, project))]
        ctx.reply("problem_pick_unit", buttons=[*buttons, [Button(label("cancel"), f"{ISSUE_PREFIX}:x")]])
    elif press.at("u:", "unit"):
        unit = next((u for u in await _unit_choices(ctx, project) if str(u.id) == press.value), None)
        if unit is None:
            expired(ctx)
            return
        await _summary(ctx, project, unit, {**state, "unit_id": unit.id})
    elif press.at("ok", "confirm"):
        unit = next((u for u in await _unit_choices(ctx, project) if u.id == state.get("unit_id")), None)
        await ctx.clear_flow()
        if unit is None:
            expired(ctx)
            return
        await _raise(ctx, project, state["category"], state["text"], unit, list(state.get("photos", [])))
    else:
        expired(ctx)
