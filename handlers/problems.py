"""Problems: /issue (guided or one-shot), /issues, and the unit's, raiser's and leaders' actions."""

from __future__ import annotations

from typing import Any

from bot.domain import scope
from bot.domain.dates import split_near_day
from bot.domain.digits import as_index
from bot.domain.escalation import CATEGORIES
from bot.domain.limits import PROBLEM_TEXT_MAX, REASON_TEXT_MAX
from bot.domain.messages import Button
from bot.domain.paging import page_of
from bot.domain.problem_numbers import looks_like_problem_number, parse_problem_number, problem_number
from bot.domain.promises import check_promise
from bot.domain.report_line import looks_like_code
from bot.domain.scope import Act, Viewer
from bot.services import extensions, reassignment
from bot.services import problems as service
from bot.services import scope as scope_service
from bot.services.scope import facts_of, problem_facts
from handlers import reassign
from handlers.context import Context
from handlers.paging import page_buttons
from storage import audit
from storage import problems as repo
from storage import projects as project_repo
from storage.models import Problem, Project, Unit
from storage.scope import project_facts, viewer_of
from storage.settings import load_calendar, load_policy

ISSUE_FLOW, TEXT_FLOW = "issue", "problem_text"
ISSUE_PREFIX, ACTION_PREFIX = "iss", "pb"
ISSUES_PAGE = 20  # problems on one page of /issues
CATEGORY_LIKE = 4  # characters: a first word this short after the code is meant as the category
UNIT_BUTTONS = frozenset({"acc", "ans", "rea", "rsv"})
TEXT_ACTIONS = {"ans": "answer", "rsv": "resolve", "rea": "reassign", "rop": "reopen", "cmt": "comment"}
# The command of each action (/resolved is the command of "resolve") and what its usage shows after the number.
COMMANDS = {"accept": "accept", "answer": "answer", "reassign": "reassign", "resolve": "resolved",
            "confirm": "confirm", "reopen": "reopen", "comment": "comment"}
COMMAND_EXAMPLES = {"answer": "[12月20日] 办理方案", "reassign": "理由", "resolved": "办理结果", "reopen": "理由",
                    "comment": "批示内容"}


async def _deps(ctx: Context) -> service.ProblemDeps:
    return service.ProblemDeps(calendar=await load_calendar(ctx.session), policy=await load_policy(ctx.session),
                               renderer=ctx.deps.renderer)


# --- who may do what (bot.domain.scope) ---------------------------------------------------------

# The act each problem button stands for (pb:<code>:<id>).
BUTTON_ACTS = {"acc": Act.ACCEPT, "ans": Act.ANSWER, "rea": Act.REASSIGN, "rsv": Act.RESOLVE, "cfm": Act.CONFIRM,
               "rop": Act.REOPEN, "cmt": Act.COMMENT}


def _viewer(ctx: Context) -> Viewer | None:
    return viewer_of(ctx.person) if ctx.person is not None else None


async def _load(ctx: Context, token: str, *, command: str = "issue") -> Problem | None:
    """The problem named by "W0007", if it exists and the caller sees it (bot.domain.scope); replies
    otherwise (without a number: how `/command` is used)."""
    number = parse_problem_number(token) if token else None
    if number is None:
        ctx.reply("problem_usage", command=command, example=COMMAND_EXAMPLES.get(command, ""))
        return None
    problem = await repo.get_problem(ctx.session, problem_id=number)
    viewer = _viewer(ctx)
    if problem is None or viewer is None or not scope.can_see(viewer, facts_of(problem, unit_staffed=True)):
        ctx.reply("problem_not_found", number=problem_number(number))
        return None
    return problem


def button_act(button: Button) -> Act | None:
    """The act a problem button (pb:<code>:<id>) stands for; None for any other button."""
    prefix, _, rest = button.data.partition(":")
    return BUTTON_ACTS.get(rest.partition(":")[0]) if prefix == ACTION_PREFIX else None


def pressable(rows: list[list[Button]], acts: frozenset[Act]) -> list[list[Button]]:
    """The buttons of `rows` the caller may press: those of an act among `acts`, and any that stands for
    no act (查看详情…); rows left empty are dropped."""
    kept = [[b for b in row if button_act(b) is None or button_act(b) in acts] for row in rows]
    return [row for row in kept if row]


# --- raising ---------------------------------------------------------------------------------------

async def issue_command(ctx: Context, args: str) -> None:
    """`/issue` guided; `/issue CODE 类别 文字` at once; `/issue W0007` shows one problem."""
    words = args.split(maxsplit=2)
    if words and looks_like_problem_number(words[0]) and not looks_like_code(words[0]):
        problem = await _load(ctx, words[0])
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
    await _raise(ctx, project, words[1], words[2].strip(), project.lead_unit, [])


async def _ask_category(ctx: Context, project: Project, words: list[str]) -> None:
    """`/issue CODE` without a category, or with one the bot does not know: the category buttons, and what
    was typed after the code kept as the description (a known category alone asks for the description)."""
    if len(words) == 1 and words[0] in CATEGORIES:
        await ctx.save_flow(ISSUE_FLOW, {"step": "text", "code": project.code, "category": words[0]})
        ctx.reply("problem_ask_text", category=words[0])
        return
    # A short first word is a category the bot does not know (电力); anything else is the description.
    unknown = words[0] if words and len(words[0]) <= CATEGORY_LIKE else ""
    text = " ".join(words[1:] if unknown else words).strip()
    if ctx.refuse_too_long(text, PROBLEM_TEXT_MAX, "问题描述"):
        return
    await ctx.save_flow(ISSUE_FLOW, {"step": "category", "code": project.code, **({"text": text} if text else {})})
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
    if ctx.refuse_too_long(text, PROBLEM_TEXT_MAX, "问题描述"):
        return
    problem = await service.raise_problem(
        ctx.session, await _deps(ctx), project=project, raiser=ctx.person, category=category, text=text, unit=unit,
        photos=[(ctx.msg.channel, f) for f in photos], now=ctx.now,
    )
    ctx.reply("problem_raised", problem=problem)


async def _ask_project(ctx: Context) -> None:
    assert ctx.person is not None
    mine = await project_repo.projects_of_liaison(ctx.session, person_id=ctx.person.id)
    if not mine:
        ctx.reply("report_no_projects")
        return
    await ctx.save_flow(ISSUE_FLOW, {"step": "project"})
    buttons = [[Button(f"{p.code} {p.name}", f"{ISSUE_PREFIX}:p:{p.code}")] for p in mine]
    ctx.reply("problem_pick_project", buttons=[*buttons, [Button("取消", f"{ISSUE_PREFIX}:x")]])


def _category_buttons() -> list[list[Button]]:
    row: list[Button] = []
    rows: list[list[Button]] = []
    for index, name in enumerate(CATEGORIES):
        row.append(Button(name, f"{ISSUE_PREFIX}:c:{index}"))
        if len(row) == 3:
            rows.append(row)
            row = []
    return [*rows, *([row] if row else []), [Button("取消", f"{ISSUE_PREFIX}:x")]]


async def _unit_choices(ctx: Context, project: Project) -> list[Unit]:
    return [project.lead_unit, *(s.unit for s in project.supporting)]


async def issue_step(ctx: Context, state: dict[str, Any]) -> None:
    """Typed text or photos while /issue waits for them."""
    step, text = state.get("step"), ctx.msg.text.strip()
    if step == "text" and text:
        if ctx.refuse_too_long(text, PROBLEM_TEXT_MAX, "问题描述"):
            return
        await ctx.save_flow(ISSUE_FLOW, {**state, "step": "photos", "text": text, "photos": []})
        ctx.reply("problem_ask_photos", buttons=[[Button("完成（不再上传照片）", f"{ISSUE_PREFIX}:d")],
                                                  [Button("取消", f"{ISSUE_PREFIX}:x")]])
    elif step == "photos" and ctx.msg.photos:
        photos = [*state.get("photos", []), *ctx.msg.photos]
        await ctx.save_flow(ISSUE_FLOW, {**state, "photos": photos})
        ctx.reply("report_photo_received", count=len(photos),
                  buttons=[[Button("完成（不再上传照片）", f"{ISSUE_PREFIX}:d")],
                           [Button("取消", f"{ISSUE_PREFIX}:x")]])
    else:
        ctx.reply("problem_flow_hint", step=step)


async def issue_button(ctx: Context, data: str) -> None:
    """Buttons of the guided /issue flow."""
    state = await ctx.flow_state(ISSUE_FLOW)
    if data == "x":
        await ctx.clear_flow()
        ctx.reply("problem_cancelled")
        return
    if state is None:
        ctx.reply("button_expired")
        return
    kind, _, value = data.partition(":")
    if kind == "p" and state.get("step") == "project":
        project = await _own_project(ctx, value)
        if project is not None:
            await ctx.save_flow(ISSUE_FLOW, {"step": "category", "code": project.code})
            ctx.reply("problem_pick_category", project=project, buttons=_category_buttons())
        return
    project = await _own_project(ctx, state.get("code", ""))
    if project is None:
        await ctx.clear_flow()
        return
    category = as_index(value, len(CATEGORIES)) if kind == "c" else None
    if category is not None and state.get("step") == "category" and state.get("text"):
        # the description came with the command: on to the photos
        await ctx.save_flow(ISSUE_FLOW, {**state, "step": "photos", "category": CATEGORIES[category], "photos": []})
        ctx.reply("problem_ask_photos", category=CATEGORIES[category],
                  buttons=[[Button("完成（不再上传照片）", f"{ISSUE_PREFIX}:d")],
                           [Button("取消", f"{ISSUE_PREFIX}:x")]])
    elif category is not None and state.get("step") == "category":
        await ctx.save_flow(ISSUE_FLOW, {**state, "step": "text", "category": CATEGORIES[category]})
        ctx.reply("problem_ask_text", category=CATEGORIES[category])
    elif kind == "d" and state.get("step") == "photos":
        await ctx.save_flow(ISSUE_FLOW, {**state, "step": "unit"})
        buttons = [[Button(("牵头单位：" if i == 0 else "配合单位：") + u.name, f"{ISSUE_PREFIX}:u:{u.id}")]
                   for i, u in enumerate(await _unit_choices(ctx, project))]
        ctx.reply("problem_pick_unit", buttons=[*buttons, [Button("取消", f"{ISSUE_PREFIX}:x")]])
    elif kind == "u" and state.get("step") == "unit":
        unit = next((u for u in await _unit_choices(ctx, project) if str(u.id) == value), None)
        if unit is None:
            ctx.reply("button_expired")
            return
        await ctx.save_flow(ISSUE_FLOW, {**state, "step": "confirm", "unit_id": unit.id})
        ctx.reply("problem_summary", project=project, category=state["category"], text=state["text"],
                  unit=unit, photo_count=len(state.get("photos", [])),
                  buttons=[[Button("确认", f"{ISSUE_PREFIX}:ok"), Button("取消", f"{ISSUE_PREFIX}:x")]])
    elif kind == "ok" and state.get("step") == "confirm":
        unit = next((u for u in await _unit_choices(ctx, project) if u.id == state.get("unit_id")), None)
        await ctx.clear_flow()
        if unit is None:
            ctx.reply("button_expired")
            return
        await _raise(ctx, project, state["category"], state["text"], unit, list(state.get("photos", [])))
    else:
        ctx.reply("button_expired")


# --- seeing ----------------------------------------------------------------------------------------

async def show(ctx: Context, problem: Problem) -> None:
    ctx.reply("problem_card", problem=problem, history=await repo.history(ctx.session, problem_id=problem.id),
              buttons=await _buttons_for(ctx, problem))


async def _buttons_for(ctx: Context, problem: Problem) -> list[list[Button]]:
    """A button for each act the caller may take on the problem in its state (bot.domain.scope)."""
    viewer = _viewer(ctx)
    acts = scope.allowed_acts(viewer, await problem_facts(ctx.session, problem)) if viewer else frozenset()
    buttons: list[list[Button]] = []
    if acts & scope.UNIT_ACTS:
        buttons += pressable(service.unit_buttons(problem), acts)
    if acts & scope.RAISER_ACTS:
        buttons += pressable(service.raiser_buttons(problem), acts)
    if Act.COMMENT in acts:
        buttons.append([Button("批示", f"{ACTION_PREFIX}:cmt:{problem.id}")])
    return buttons


async def issues_command(ctx: Context, args: str) -> None:
    """The problems the caller sees (bot.domain.scope), most urgent first: a liaison's projects' and those
    they raised, their unit's, a 包抓领导's projects', all for top officials and admins."""
    viewer = _viewer(ctx)
    assert viewer is not None
    include_closed = args.strip() in {"all", "全部"}
    queue = await scope_service.queue(ctx.session, viewer=viewer, now=ctx.now, include_closed=include_closed)
    page = page_of(queue, ctx.page, ISSUES_PAGE)
    overdue = {p.id for p in page.items if scope.overdue(facts_of(p, unit_staffed=True), ctx.now)}
    ctx.reply("problem_list", problems=page.items, page=page, include_closed=include_closed, overdue=overdue,
              buttons=page_buttons("issues", page, "all" if include_closed else ""))


# --- acting ----------------------------------------------------------------------------------------

# What the text of each action is called when it is refused as too long.
ACTION_TEXTS = {"answer": "答复内容", "reassign": "改派理由", "resolve": "办理结果", "reopen": "未解决的理由",
                "comment": "批示内容"}


async def _refused(ctx: Context, action: str, problem: Problem) -> bool:
    """Whether the caller may not take `action` on the problem in its state; if so, the reply says why,
    and for a step already taken what the state is now, with the buttons that fit it."""
    reason = await _refusal(ctx, action, problem)
    if reason is None:
        return False
    history = await repo.history(ctx.session, problem_id=problem.id)
    taken = {"already_accepted": "accepted", "already_closed": "closed", "resolved": "resolved",
             "reassign_pending": "reassign_requested"}.get(reason)
    event = next((e for e in reversed(history) if e.kind == taken), None) if taken else None
    ctx.reply("problem_refused", reason=reason, problem=problem, event=event,
              buttons=await _buttons_for(ctx, problem) if taken else [])
    return True


async def _refusal(ctx: Context, action: str, problem: Problem) -> str | None:
    """Why the caller may not take `action` now (a reason of problem_refused), or None: the scope rules
    (bot.domain.scope), and for a reassignment whether one is already waiting."""
    viewer = _viewer(ctx)
    if viewer is None:
        return "not_unit"
    reason = scope.refusal(viewer, await problem_facts(ctx.session, problem), Act(action))
    if reason is None and action == "reassign" and await reassignment.pending_request(ctx.session, problem):
        return "reassign_pending"
    return reason


async def _act(ctx: Context, action: str, problem: Problem, text: str) -> None:
    """Check the caller may take `action` on the problem in its state, then do it."""
    assert ctx.person is not None
    if ctx.refuse_too_long(text, REASON_TEXT_MAX, ACTION_TEXTS.get(action, "内容")):
        return
    if await _refused(ctx, action, problem):
        return
    if action in {"reassign", "reopen", "comment"} and not text:
        ctx.reply("problem_needs_text", action=action, problem=problem)
        return
    deps = await _deps(ctx)
    if action == "accept":
        await service.accept(ctx.session, deps, problem, actor=ctx.person, now=ctx.now)
    elif action == "answer":
        await _answer(ctx, deps, problem, text)
        return
    elif action == "reassign":
        await reassignment.request(ctx.session, deps, problem, actor=ctx.person, reason=text, now=ctx.now)
    elif action == "resolve":
        await service.resolve(ctx.session, deps, problem, actor=ctx.person, note=text or "已解决", now=ctx.now)
    elif action == "confirm":
        as_admin = scope.acts_as_admin(viewer_of(ctx.person), await problem_facts(ctx.session, problem),
                                       Act.CONFIRM)
        await service.confirm(ctx.session, deps, problem, actor=ctx.person, as_admin=as_admin, now=ctx.now)
    elif action == "reopen":
        await service.reopen(ctx.session, deps, problem, actor=ctx.person, reason=text, now=ctx.now)
    elif action == "comment":
        await service.comment(ctx.session, deps, problem, actor=ctx.person, text=text, now=ctx.now)
    # 受理 and 销号 take no text: what was typed after the number is said not to be kept, not dropped unseen.
    ignored = text if action in {"accept", "confirm"} else ""
    ctx.reply("problem_done", action=action, problem=problem, ignored=ignored,
              buttons=service.unit_buttons(problem) if action == "accept" else [])


async def _answer(ctx: Context, deps: service.ProblemDeps, problem: Problem, text: str) -> None:
    """答复, maybe with a promised date first: on a working day (moved there, and said so), not past, within
    the resolution deadline; a later date is answered and asked of the next level as an extension."""
    assert ctx.person is not None
    asked, plan, unreadable = split_near_day(text, today=ctx.today)
    if unreadable is not None:  # 12月32日: not taken as the answer's first words
        ctx.reply("problem_refused", reason="promise_unreadable", problem=problem, token=unreadable)
        return
    if not plan:
        ctx.reply("problem_needs_text", action="answer", problem=problem)
        return
    if asked is None:
        await service.answer(ctx.session, deps, problem, actor=ctx.person, text=plan, promised=None, now=ctx.now)
        ctx.reply("problem_done", action="answer", problem=problem)
        return
    check = check_promise(deps.calendar, asked, now=ctx.now, resolution_due_at=problem.resolution_due_at,
                          end_of_day=deps.policy.end_of_day)
    if check.verdict == "past":
        ctx.reply("problem_refused", reason="promise_past", problem=problem, day=asked)
        return
    if check.verdict == "extension":
        if await extensions.pending_request(ctx.session, problem) is not None:
            ctx.reply("problem_refused", reason="extension_pending", problem=problem)
            return
        await service.answer(ctx.session, deps, problem, actor=ctx.person, text=plan, promised=None, now=ctx.now)
        await extensions.request(ctx.session, deps, problem, actor=ctx.person, day=check.day, reason=plan,
                                 now=ctx.now)
    else:
        await service.answer(ctx.session, deps, problem, actor=ctx.person, text=plan, promised=check.day,
                             now=ctx.now)
    ctx.reply("problem_done", action="answer", problem=problem, promise=check)


async def _extension(ctx: Context, token: str, approve: bool) -> None:
    """同意延期 / 不同意 on an extension request: the next level's holders (or an admin) decide it once."""
    number = parse_problem_number(token)
    problem = await repo.get_problem(ctx.session, problem_id=number) if number is not None else None
    if problem is None or ctx.person is None:
        ctx.reply("button_expired")
        return
    pending = await extensions.pending_request(ctx.session, problem)
    viewer = _viewer(ctx)
    sees = viewer is not None and scope.can_see(viewer, facts_of(problem, unit_staffed=True))
    deciders = await extensions.deciders(ctx.session, problem)
    # Who was asked may no longer be a decider (the problem went up): whoever sees the problem is told what
    # became of the request rather than that it is not theirs.
    if not (pending is None and sees) and "admin" not in ctx.roles and all(p.id != ctx.person.id for p in deciders):
        ctx.reply("problem_refused", reason="not_decider", problem=problem)
        return
    if pending is None:
        history = await repo.history(ctx.session, problem_id=problem.id)
        decided = next((e for e in reversed(history) if e.kind in extensions.LAPSED_BY), None)
        ctx.reply("problem_refused", reason="no_extension", problem=problem, event=decided)
        return
    event = await extensions.decide(ctx.session, await _deps(ctx), problem, pending, actor=ctx.person,
                                    approve=approve, now=ctx.now)
    await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="problem.extend", object_type="problem",
                       object_key=problem.number,
                       detail={"approved": approve, "day": event.detail["day"], "unit": problem.unit.name})
    ctx.reply("problem_extension_done", problem=problem, approved=approve)


def command_for(action: str):  # type: ignore[no-untyped-def]
    """A slash-command handler `/action W0007 text…`."""

    async def handler(ctx: Context, args: str) -> None:
        token, _, text = args.strip().partition(" ")
        problem = await _load(ctx, token, command=COMMANDS[action])
        if problem is not None:
            await _act(ctx, action, problem, text.strip())

    handler.__doc__ = f"/{action} on a problem"
    return handler


async def action_button(ctx: Context, data: str) -> None:
    """Buttons on problem notices: pb:<act>:<id>."""
    act, _, token = data.partition(":")
    if act in {"exy", "exn"}:
        await _extension(ctx, token, approve=act == "exy")
        return
    if act in UNIT_BUTTONS and await reassign.moved_away(ctx, token):
        return
    problem = await _load(ctx, token)
    if problem is None:
        return
    if act == "show":
        await show(ctx, problem)
    elif act == "acc":
        await _act(ctx, "accept", problem, "")
    elif act == "cfm":
        await _act(ctx, "confirm", problem, "")
    elif act in TEXT_ACTIONS:
        if await _refused(ctx, TEXT_ACTIONS[act], problem):
            return
        await ctx.save_flow(TEXT_FLOW, {"action": TEXT_ACTIONS[act], "id": problem.id})
        ctx.reply("problem_ask_action_text", action=TEXT_ACTIONS[act], problem=problem)
    else:
        ctx.reply("button_expired")


async def text_step(ctx: Context, state: dict[str, Any]) -> None:
    """The text asked for by an 答复/已解决/申请改派/未解决/批示 button."""
    text = ctx.msg.text.strip()
    if not text:
        ctx.reply("problem_needs_text", action=state.get("action"), problem=None)
        return
    if ctx.refuse_too_long(text, REASON_TEXT_MAX, ACTION_TEXTS.get(str(state.get("action")), "内容")):
        return  # still waiting for the text: a shorter one may follow
    await ctx.clear_flow()
    problem = await _load(ctx, str(state.get("id", "")))
    if problem is not None:
        await _act(ctx, str(state.get("action")), problem, text)
