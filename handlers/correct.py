"""Corrections of past reports: one-shot `/correct CODE DAY AMOUNT [PROGRESS] 理由：…` or guided (project →
the day's report → new amount → new progress → reason → 确认 showing old → new). A liaison picks among their
projects; an admin finds any project by code or name (`/correct 城北`, paged). An amount that reads more
than one way is asked back with a button per reading, as /report does.

A correction is a new version of the day's report replacing the old one (storage.corrections); which report,
and who may correct what (a domain rule: bot.domain.corrections), is for ``handlers.correct_pick`` to
say. An admin's `/correct` of a past day without a report enters it (补报, handlers.backfill).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from bot.domain.amounts import AmountError, parse_amount
from bot.domain.corrections import parse_correction_line
from bot.domain.digits import as_id, as_index, is_digits
from bot.domain.limits import PROGRESS_TEXT_MAX, REASON_TEXT_MAX
from bot.domain.messages import Button
from bot.domain.periods import KIND_NAMES
from bot.domain.report_line import Reading, exceeds_remaining, progress_as_stored
from bot.domain.typed_choice import typed_choice
from bot.domain.year_to_date import in_base
from bot.render import label
from handlers import backfill
from handlers.context import Context
from handlers.correct_pick import (
    FLOW,
    PREFIX,
    ask_day,
    ask_project,
    cancel_button,
    is_admin,
    may_correct,
    project_for,
    report_of,
    search,
)
from handlers.flow_buttons import Press, confirm_button, drafted, expired, flow_buttons
from handlers.readings import reading_buttons, saved_readings
from storage import corrections
from storage import projects as project_repo
from storage.corrections import Correctable
from storage.models import Project
from storage.reports import ReportConflict


async def _checked_amount(ctx: Context, project: Project, text: str, old: Correctable) -> Decimal | None:
    """The new amount, checked against what the project has left (the old version's amount freed)."""
    try:
        amount = parse_amount(text)
    except AmountError as error:
        ctx.reply("amount_invalid", text=text, error=error)
        return None
    figures = await project_repo.project_figures(ctx.session, project=project, today=ctx.today)
    remaining = project_repo.remaining_investment(project, figures.all_reported) + old.amount
    if exceeds_remaining(amount, remaining):
        ctx.reply("amount_too_large", amount=amount, remaining=max(remaining, Decimal(0)), project=project,
                  written=text)
        return None
    return amount


async def correct_command(ctx: Context, args: str) -> None:
    """`/correct` (guided) or `/correct CODE DAY [AMOUNT [PROGRESS]] [理由：…]`."""
    if not args.strip():
        await ask_project(ctx)
        return
    parsed = parse_correction_line(args, ctx.today)
    if parsed is not None and parsed.day is None and args.split()[1:] == []:  # only a code: pick its day
        if is_admin(ctx) and await project_repo.get_project_by_code(ctx.session, code=parsed.code) is None:
            await search(ctx, args)
            return
        project = await project_for(ctx, parsed.code)
        if project is not None:
            await ask_day(ctx, project)
        return
    if parsed is None and is_admin(ctx):  # an admin looks for any project by code or name
        await search(ctx, args)
        return
    if parsed is None or parsed.day is None:  # the word not read: no project code, or no day after it
        words = args.split()
        ctx.reply("correct_usage", window=ctx.deps.settings.correct_window_days,
                  unread=words[0] if parsed is None else words[1])
        return
    project = await project_for(ctx, parsed.code)
    if project is None:
        return
    if is_admin(ctx) and parsed.day <= ctx.today and not await corrections.live_report(
            ctx.session, project_id=project.id, local_day=parsed.day):  # a day without a report: 补报
        await backfill.start(ctx, project, parsed.day, parsed.line, parsed.reason)
        return
    old = await report_of(ctx, project, parsed.day)
    if old is None:
        return
    if _too_long(ctx, parsed.line.progress if parsed.line else "", parsed.reason):
        return
    state: dict[str, Any] = {"code": project.code, "report_id": old.id, "day": old.local_day.isoformat()}
    if parsed.line is None:
        await _ask_amount(ctx, project, old, state)
        return
    if parsed.line.ambiguous:
        await _ask_reading(ctx, project, old, {**state, "reason": parsed.reason}, parsed.line.readings)
        return
    amount = await _checked_amount(ctx, project, parsed.line.amount_text or "", old)
    if amount is None:
        return
    state.update(amount=str(amount), written=parsed.line.amount_text,
                 progress=parsed.line.progress or old.progress_text)
    if not parsed.reason:
        await _ask_reason(ctx, project, old, state)
        return
    await _confirm(ctx, project, old, {**state, "reason": parsed.reason})


def _as_corrected(readings: Sequence[Reading], old: Correctable) -> list[Reading]:
    """The readings as the correction would store them: without a progress text, the old one is kept."""
    return [replace(r, progress=r.progress or old.progress_text) for r in readings]


async def _ask_reading(ctx: Context, project: Project, old: Correctable, state: dict[str, Any],
                       readings: Sequence[Reading]) -> None:
    """The amount and progress read more than one way: ask which was meant (as /report does), never guess."""
    shown = _as_corrected(readings, old)
    await ctx.save_flow(FLOW, {**state, "step": "reading", "readings": saved_readings(shown)})
    ctx.reply("correct_ask_reading", project=project, old=old, readings=shown,
              buttons=reading_buttons(shown, PREFIX))


async def _pick_reading(ctx: Context, project: Project, old: Correctable, state: dict[str, Any],
                        index: int) -> None:
    written, _value, progress = state["readings"][index]
    amount = await _checked_amount(ctx, project, written, old)
    if amount is None:
        await ctx.clear_flow()
        return
    picked = {key: state[key] for key in ("code", "report_id", "day")}
    picked.update(amount=str(amount), written=written, progress=progress)
    if state.get("reason"):
        await _confirm(ctx, project, old, {**picked, "reason": state["reason"]})
    else:
        await _ask_reason(ctx, project, old, picked)


async def _ask_amount(ctx: Context, project: Project, old: Correctable, state: dict[str, Any]) -> None:
    await ctx.save_flow(FLOW, {**state, "step": "amount"})
    ctx.reply("correct_ask_amount", project=project, old=old,
              buttons=[[Button(label("correct_same_amount"), f"{PREFIX}:same")], [cancel_button()]])


async def _ask_progress(ctx: Context, project: Project, old: Correctable, state: dict[str, Any]) -> None:
    await ctx.save_flow(FLOW, {**state, "step": "progress"})
    written = state.get("written")
    ctx.reply("correct_ask_progress", project=project, old=old, written=written,
              amount=Decimal(state["amount"]) if written else None,
              buttons=[[Button(label("correct_same_progress"), f"{PREFIX}:same")], [cancel_button()]])


async def _ask_reason(ctx: Context, project: Project, old: Correctable, state: dict[str, Any]) -> None:
    await ctx.save_flow(FLOW, {**state, "step": "reason"})
    ctx.reply("correct_ask_reason", project=project, old=old, buttons=[[cancel_button()]])


def _too_long(ctx: Context, progress: str, reason: str) -> bool:
    """Whether the new progress text or the reason is over its limit (the caller is told; nothing saved)."""
    return (ctx.refuse_too_long(progress, PROGRESS_TEXT_MAX, "progress")
            or ctx.refuse_too_long(reason, REASON_TEXT_MAX, "correction_reason"))


async def _confirm(ctx: Context, project: Project, old: Correctable, state: dict[str, Any]) -> None:
    if _too_long(ctx, state["progress"], state["reason"]):  # e.g. a reading's progress: nothing kept
        await ctx.clear_flow()
        return
    if Decimal(state["amount"]) == old.amount and state["progress"] == old.progress_text:
        await ctx.clear_flow()
        ctx.reply("correct_unchanged", project=project, old=old)
        return
    state = drafted({**state, "step": "confirm"})
    await ctx.save_flow(FLOW, state)
    ctx.reply("correct_confirm", project=project, old=old, amount=Decimal(state["amount"]),
              written=state.get("written"), progress=state["progress"], reason=state["reason"],
              published=await corrections.published_with(ctx.session, day=old.local_day), kind_names=KIND_NAMES,
              buttons=_confirm_buttons(state))


def _confirm_buttons(state: dict[str, Any]) -> list[list[Button]]:
    return [[confirm_button(label("correct_confirm"), PREFIX, state), cancel_button()]]


async def _resume(ctx: Context, state: dict[str, Any]) -> tuple[Project, Correctable] | None:
    """The project and report a conversation is about, checked again (they may have changed meanwhile)."""
    project = await project_for(ctx, state["code"])
    if project is None:
        await ctx.clear_flow()
        return None
    old = await report_of(ctx, project, date.fromisoformat(state["day"]))
    if old is None or old.id != int(state["report_id"]):
        await ctx.clear_flow()
        if old is not None:
            ctx.reply("correct_changed", project=project, day=old.local_day)
        return None
    return project, old


async def correct_step(ctx: Context, state: dict[str, Any]) -> None:
    """A text message while the guided flow waits for the amount, progress or reason."""
    step, text = state.get("step"), ctx.msg.text.strip()
    if step in ("search", "project") and is_admin(ctx) and text:
        await search(ctx, text)
        return
    if step == "confirm" and (typed := typed_choice(text, _confirm_buttons(state))) is not None:
        await correct_button(ctx, typed.removeprefix(f"{PREFIX}:"))  # 「确认更正」 typed: as if pressed
        return
    if step in ("search", "project", "day", "reading", "confirm"):
        ctx.point_to_choices("correct_press_button")
        return
    resumed = await _resume(ctx, state)
    if resumed is None:
        return
    project, old = resumed
    if not text:
        ctx.point_to_choices("correct_press_button")
    elif step == "amount":
        amount = await _checked_amount(ctx, project, text, old)
        if amount is not None:
            await _ask_progress(ctx, project, old, {**state, "amount": str(amount), "written": text})
    elif step == "progress":
        progress = progress_as_stored(text)
        if not ctx.refuse_too_long(progress, PROGRESS_TEXT_MAX, "progress"):  # else the step waits for a shorter one
            await _ask_reason(ctx, project, old, {**state, "progress": progress})
    elif step == "reason":
        if not ctx.refuse_too_long(text, REASON_TEXT_MAX, "correction_reason"):
            await _confirm(ctx, project, old, {**state, "reason": text})


@flow_buttons(FLOW, cancel="cancel", cancelled="correct_cancelled", confirm="ok")
async def correct_button(ctx: Context, press: Press) -> None:
    """Buttons of the flow: project, report, a reading of an ambiguous amount, 金额/进度不变, 确认更正, 取消."""
    state = press.state
    if press.at("pg:", "project") and not is_admin(ctx) and (number := as_id(press.value)) is not None:
        await ask_project(ctx, number)
        return
    if press.at("p:", "project"):
        project = await project_for(ctx, press.value)
        if project is not None:
            await ask_day(ctx, project)
        return
    if press.at("d:", "day") and is_digits(press.value):
        await _pick_report(ctx, state["code"], int(press.value))
        return
    if "report_id" not in state:
        expired(ctx)
        return
    resumed = await _resume(ctx, state)
    if resumed is None:
        return
    project, old = resumed
    if press.at("same", "amount"):
        await _ask_progress(ctx, project, old, {**state, "amount": str(old.amount), "written": None})
    elif press.at("same", "progress"):
        await _ask_reason(ctx, project, old, {**state, "progress": old.progress_text})
    elif press.at("ok", "confirm"):
        await _store(ctx, project, old, state)
    elif press.at("r:", "reading") and (index := as_index(press.value, len(state.get("readings", [])))) is not None:
        await _pick_reading(ctx, project, old, state, index)
    else:
        expired(ctx)


async def _pick_report(ctx: Context, code: str, report_id: int) -> None:
    project = await project_for(ctx, code)
    if project is None:
        await ctx.clear_flow()
        return
    picked = await corrections.live_report_by_id(ctx.session, report_id=report_id, project_id=project.id)
    if picked is None:
        await ctx.clear_flow()
        expired(ctx)
        return
    if await may_correct(ctx, project, picked):
        await _ask_amount(ctx, project, picked, {"code": project.code, "report_id": picked.id,
                                                 "day": picked.local_day.isoformat()})
    else:
        await ctx.clear_flow()


async def _store(ctx: Context, project: Project, old: Correctable, state: dict[str, Any]) -> None:
    await ctx.clear_flow()
    amount = await _checked_amount(ctx, project, state["amount"], old)
    if amount is None:
        return
    try:
        await corrections.correct_report(
            ctx.session, old=old, amount=amount, progress_text=state["progress"], reason=state["reason"],
            channel=ctx.msg.channel, now=ctx.now, actor=ctx.actor, project_code=project.code)
    except ReportConflict:
        ctx.reply("correct_changed", project=project, day=old.local_day)
        return
    # The figures of the corrected report's year: a December report corrected in January changes last year's.
    year = old.local_day.year
    figures = await project_repo.project_figures(ctx.session, project=project,
                                                 today=min(ctx.today, date(year, 12, 31)))
    ctx.reply("correct_done", project=project, old=old, amount=amount, written=state.get("written"),
              progress=state["progress"], reason=state["reason"], figures=figures, year=year,
              in_base=in_base(old.local_day, figures.covered_until),
              published=await corrections.published_with(ctx.session, day=old.local_day), kind_names=KIND_NAMES)
