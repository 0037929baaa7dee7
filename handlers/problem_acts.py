"""Acting on problems: the unit's 受理/答复/申请改派/已解决, the raiser's 确认销号/未解决, leaders' 批示 and
延期 decisions, as commands (`/accept W0007`…) and as the buttons on problem cards and notices."""

from __future__ import annotations

from typing import Any

from bot.domain import scope
from bot.domain.dates import split_near_day
from bot.domain.limits import REASON_TEXT_MAX
from bot.domain.problem_numbers import parse_problem_number
from bot.domain.promises import check_promise
from bot.domain.scope import Act
from bot.services import extensions, reassignment
from bot.services import problems as service
from bot.services.scope import facts_of, problem_facts
from handlers import reassign
from handlers.context import Context
from handlers.problem_view import (
    buttons_for,
    decides_extensions,
    load,
    problem_deps,
    show,
    stand_in_over,
    viewer_of_caller,
)
from storage import audit
from storage import problems as repo
from storage.models import Problem, ProblemEvent
from storage.scope import viewer_of

TEXT_FLOW = "problem_text"  # waits for the text an 答复/已解决/申请改派/未解决/批示/不同意 button asked for
REFUSE_EXTENSION = "refuse_extension"  # the flow's action of 不同意 on an extension request: its reason
UNIT_BUTTONS = frozenset({"acc", "ans", "rea", "rsv"})
UNIT_ACTIONS = frozenset({"accept", "answer", "reassign", "resolve"})
TEXT_ACTIONS = {"ans": "answer", "rsv": "resolve", "rea": "reassign", "rop": "reopen", "cmt": "comment"}
# The command of each action (/resolved is the command of "resolve").
COMMANDS = {"accept": "accept", "answer": "answer", "reassign": "reassign", "resolve": "resolved",
            "confirm": "confirm", "reopen": "reopen", "comment": "comment"}

# The actions whose text text_too_long.j2 names when it is refused as too long (the others': 内容)
ACTION_TEXTS = frozenset({"answer", "reassign", "resolve", "reopen", "comment", REFUSE_EXTENSION})


def _text_named(action: str) -> str:
    """What text_too_long.j2 calls the text of ``action``."""
    return action if action in ACTION_TEXTS else "text"


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
    ctx.reply("problem_refused", reason=reason, problem=problem, event=event, action=action,
              buttons=await buttons_for(ctx, problem, pending=extensions.waiting_in(history)) if taken else [])
    return True


async def _refusal(ctx: Context, action: str, problem: Problem) -> str | None:
    """Why the caller may not take `action` now (a reason of problem_refused), or None: the scope rules
    (bot.domain.scope), and for a reassignment whether one is already waiting."""
    viewer = await viewer_of_caller(ctx)
    if viewer is None:
        return "not_unit"
    reason = scope.refusal(viewer, await problem_facts(ctx.session, problem), Act(action))
    if reason is None and action == "reassign" and await reassignment.pending_request(ctx.session, problem):
        return "reassign_pending"
    return reason


async def _act(ctx: Context, action: str, problem: Problem, text: str) -> None:
    """Check the caller may take `action` on the problem in its state, then do it."""
    assert ctx.person is not None
    if ctx.refuse_too_long(text, REASON_TEXT_MAX, _text_named(action)):
        return
    if await _refused(ctx, action, problem):
        return
    if action in {"reassign", "reopen", "comment"} and not text:
        ctx.reply("problem_needs_text", action=action, problem=problem)
        return
    deps = await problem_deps(ctx)
    if action == "accept":
        await service.accept(ctx.session, deps, problem, actor=ctx.person, now=ctx.now)
    elif action == "answer":
        await _answer(ctx, deps, problem, text)
        return
    elif action == "reassign":
        await reassignment.request(ctx.session, deps, problem, actor=ctx.person, reason=text, now=ctx.now)
    elif action == "resolve":
        note = text or ctx.deps.renderer.words("problem_acts_words", "resolved_note")
        await service.resolve(ctx.session, deps, problem, actor=ctx.person, note=note, now=ctx.now)
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
        await service.answer(ctx.session, deps, problem, actor=ctx.person, text=plan, promised=None, now=ctx.now,
                             told_elsewhere=await extensions.deciders(ctx.session, problem, day=ctx.today,
                                                                                asker=ctx.person))
        await extensions.request(ctx.session, deps, problem, actor=ctx.person, day=check.day, reason=plan,
                                 now=ctx.now)
    else:
        await service.answer(ctx.session, deps, problem, actor=ctx.person, text=plan, promised=check.day,
                             now=ctx.now)
    ctx.reply("problem_done", action="answer", problem=problem, promise=check)


async def _pending_extension(ctx: Context, token: str) -> tuple[Problem, ProblemEvent] | None:
    """The problem named and its extension request waiting for the caller's decision; replies why not
    otherwise."""
    number = parse_problem_number(token)
    problem = await repo.get_problem(ctx.session, problem_id=number) if number is not None else None
    if problem is None or ctx.person is None:
        ctx.reply("button_expired")
        return None
    pending = await extensions.pending_request(ctx.session, problem)
    viewer = await viewer_of_caller(ctx)
    sees = viewer is not None and scope.can_see(viewer, facts_of(problem, unit_staffed=True))
    # Who was asked may no longer be a decider (the problem went up): whoever sees the problem is told what
    # became of the request rather than that it is not theirs.
    if not (pending is None and sees) and not await decides_extensions(ctx, problem, pending):
        ctx.reply("problem_refused", reason="not_decider", problem=problem, **await stand_in_over(ctx, problem))
        return None
    if pending is None:
        history = await repo.history(ctx.session, problem_id=problem.id)
        decided = next((e for e in reversed(history) if e.kind in extensions.LAPSED_BY), None)
        ctx.reply("problem_refused", reason="no_extension", problem=problem, event=decided)
        return None
    return problem, pending


async def _extension(ctx: Context, token: str, approve: bool, reason: str = "") -> None:
    """同意延期 / 不同意 on an extension request: the next level's holders (or an admin) decide it once; 不同意
    with the reason the unit is told (asked for after the button, `REFUSE_EXTENSION`)."""
    found = await _pending_extension(ctx, token)
    if found is None:
        return
    problem, pending = found
    assert ctx.person is not None
    if not approve and not reason:
        await ctx.save_flow(TEXT_FLOW, {"action": REFUSE_EXTENSION, "id": problem.id})
        ctx.reply("problem_ask_action_text", action=REFUSE_EXTENSION, problem=problem)
        return
    event = await extensions.decide(ctx.session, await problem_deps(ctx), problem, pending, actor=ctx.person,
                                    approve=approve, reason=reason, now=ctx.now)
    await audit.record(ctx.session, actor=ctx.actor, at=ctx.now, action="problem.extend", object_type="problem",
                       object_key=problem.number,
                       detail={"approved": approve, "day": event.detail["day"], "unit": problem.unit.name,
                               **({"reason": reason} if reason else {}),
                               **({"stand_in_for": event.detail["stand_in_for_name"]}
                                  if "stand_in_for_name" in event.detail else {})})
    ctx.reply("problem_extension_done", problem=problem, approved=approve, reason=reason)


def command_for(action: str):  # type: ignore[no-untyped-def]
    """A slash-command handler `/action W0007 text…`."""

    async def handler(ctx: Context, args: str) -> None:
        token, _, text = args.strip().partition(" ")
        if token and action in UNIT_ACTIONS and await reassign.moved_away(ctx, token):
            return  # typed by a handler of the unit it was moved away from: where it went, as its buttons say
        problem = await load(ctx, token, command=COMMANDS[action])
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
    problem = await load(ctx, token)
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
    """The text asked for by an 答复/已解决/申请改派/未解决/批示/不同意 button."""
    text = ctx.msg.text.strip()
    if not text:
        ctx.reply("problem_needs_text", action=state.get("action"), problem=None)
        return
    if ctx.refuse_too_long(text, REASON_TEXT_MAX, _text_named(str(state.get("action")))):
        return  # still waiting for the text: a shorter one may follow
    await ctx.clear_flow()
    if state.get("action") == REFUSE_EXTENSION:
        await _extension(ctx, str(state.get("id", "")), approve=False, reason=text)
        return
    problem = await load(ctx, str(state.get("id", "")))
    if problem is not None:
        await _act(ctx, str(state.get("action")), problem, text)
