"""补报: the 项目办 enters the report of a past working day on which a project has none, through `/correct`
(`/correct ZD2026-001 12-31 300 主体施工 理由：…`, or `/correct ZD2026-001 12-31` and the questions). The
amount and progress read and are checked as a report's (readings asked back, the project's remainder, the
text limits); a reason is required; 确认补报 shows it first with the bulletins already sent that counted that
day (they are not sent again). The liaison is told. A liaison cannot 补报: a day he did not report is the
项目办's to enter (the correction refusal says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from bot.domain.backfill_days import BackfillRefusal, backfill_refusal
from bot.domain.limits import PROGRESS_TEXT_MAX, REASON_TEXT_MAX
from bot.domain.messages import Button, Reply
from bot.domain.periods import KIND_NAMES
from bot.domain.report_line import Reading, ReportLine, progress_as_stored
from bot.domain.typed_choice import typed_choice
from bot.render import label
from handlers import report_store
from handlers.context import Context
from handlers.flow_buttons import Press, confirm_button, drafted, expired, flow_buttons
from handlers.readings import reading_buttons, saved_readings
from storage import backfills, corrections, outbox
from storage import projects as project_repo
from storage.entered import entered_on
from storage.models import Person, Project
from storage.reports import ReportConflict
from storage.settings import load_calendar

FLOW = "backfill"
PREFIX = "bf"


def _buttons(*rows: list[Button]) -> list[list[Button]]:
    return [*rows, [Button(label("cancel"), f"{PREFIX}:cancel")]]


async def refusal(ctx: Context, project: Project, day: date) -> BackfillRefusal | None:
    """Why the day cannot be entered afterwards (bot.domain.backfill_days), or None."""
    calendar = await load_calendar(ctx.session)
    figures = await project_repo.project_figures(ctx.session, project=project, today=day)
    return backfill_refusal(day, today=ctx.today, calendar=calendar, entered=entered_on(project.created_at),
                            covered_until=figures.covered_until)


async def start(ctx: Context, project: Project, day: date, line: ReportLine | None, reason: str) -> None:
    """An admin's `/correct` for a day without a report: 补报 it (what the line gives, the rest asked)."""
    refused = await refusal(ctx, project, day)
    if refused is not None:
        ctx.reply("backfill_refused", refused=refused, project=project, day=day)
        return
    state: dict[str, Any] = {"code": project.code, "day": day.isoformat()}
    if line is None:
        await ctx.save_flow(FLOW, {**state, "step": "amount"})
        ctx.reply("backfill_ask_amount", project=project, day=day, buttons=_buttons())
        return
    if ctx.refuse_too_long(line.progress or "", PROGRESS_TEXT_MAX, "progress") \
            or ctx.refuse_too_long(reason, REASON_TEXT_MAX, "correction_reason"):
        return
    if line.ambiguous:
        await _ask_reading(ctx, project, day, {**state, "reason": reason}, line.readings)
        return
    checked = await report_store.checked_amount(ctx, project, line.amount_text or "")
    if checked is not None:
        await _next(ctx, project, day, {**state, "amount": str(checked[0]), "written": line.amount_text,
                                        "progress": line.progress or None, "reason": reason or None})


async def _ask_reading(ctx: Context, project: Project, day: date, state: dict[str, Any],
                       readings: Sequence[Reading]) -> None:
    await ctx.save_flow(FLOW, {**state, "step": "reading", "readings": saved_readings(readings)})
    ctx.reply("backfill_ask_reading", project=project, day=day, readings=readings,
              buttons=reading_buttons(readings, PREFIX))


async def _next(ctx: Context, project: Project, day: date, state: dict[str, Any]) -> None:
    """Ask what is still missing (progress, reason), else show the 补报 for 确认."""
    if state.get("progress") is None:
        await ctx.save_flow(FLOW, {**state, "step": "progress"})
        ctx.reply("backfill_ask_progress", project=project, day=day, amount=Decimal(state["amount"]),
                  written=state.get("written"), buttons=_buttons())
    elif not state.get("reason"):
        await ctx.save_flow(FLOW, {**state, "step": "reason"})
        ctx.reply("backfill_ask_reason", project=project, day=day, buttons=_buttons())
    else:
        state = drafted({**state, "step": "confirm"})
        await ctx.save_flow(FLOW, state)
        ctx.reply("backfill_confirm", project=project, day=day, amount=Decimal(state["amount"]),
                  written=state.get("written"), progress=state["progress"], reason=state["reason"],
                  published=await corrections.published_with(ctx.session, day=day), kind_names=KIND_NAMES,
                  buttons=_buttons([_confirm_button(state)]))


def _confirm_button(state: dict[str, Any]) -> Button:
    return confirm_button(label("backfill_confirm"), PREFIX, state)


async def _resume(ctx: Context, state: dict[str, Any]) -> tuple[Project, date] | None:
    """The project and day, checked again: still an admin's, still without a report."""
    await ctx.clear_flow()
    project = await project_repo.get_project_for_card(ctx.session, code=state["code"])
    day = date.fromisoformat(state["day"])
    if project is None or "admin" not in ctx.roles:
        expired(ctx)
        return None
    if await corrections.live_report(ctx.session, project_id=project.id, local_day=day) is not None:
        ctx.reply("backfill_taken", project=project, day=day)
        return None
    return project, day


async def backfill_step(ctx: Context, state: dict[str, Any]) -> None:
    """A text message while the flow waits for the amount, progress or reason."""
    step, text = state.get("step"), ctx.msg.text.strip()
    if step == "confirm" and (typed := typed_choice(text, [[_confirm_button(state)]])) is not None:
        await backfill_button(ctx, typed.removeprefix(f"{PREFIX}:"))  # 「确认补报」 typed: as if pressed
        return
    if step not in ("amount", "progress", "reason") or not text:
        ctx.point_to_choices("backfill_press_button")
        return
    resumed = await _resume(ctx, state)
    if resumed is None:
        return
    project, day = resumed
    if step == "amount":
        checked = await report_store.checked_amount(ctx, project, text)
        if checked is None:
            await ctx.save_flow(FLOW, state)  # the step waits for an amount it can take
            return
        await _next(ctx, project, day, {**state, "amount": str(checked[0]), "written": text})
    elif step == "progress":
        progress = progress_as_stored(text)
        if ctx.refuse_too_long(progress, PROGRESS_TEXT_MAX, "progress"):
            await ctx.save_flow(FLOW, state)
            return
        await _next(ctx, project, day, {**state, "progress": progress})
    else:
        if ctx.refuse_too_long(text, REASON_TEXT_MAX, "correction_reason"):
            await ctx.save_flow(FLOW, state)
            return
        await _next(ctx, project, day, {**state, "reason": text})


@flow_buttons(FLOW, cancel="cancel", cancelled="backfill_cancelled", confirm="ok")
async def backfill_button(ctx: Context, press: Press) -> None:
    """确认补报, a reading of an ambiguous amount, 取消."""
    state = press.state
    readings = state.get("readings", [])
    if not (press.at("ok", "confirm")
            or (press.at("r:", "reading") and press.data in {f"r:{i}" for i in range(len(readings))})):
        expired(ctx)
        return
    resumed = await _resume(ctx, state)
    if resumed is None:
        return
    project, day = resumed
    if press.data == "ok":
        await _store(ctx, project, day, state)
        return
    written, _value, progress = readings[int(press.value)]
    checked = await report_store.checked_amount(ctx, project, written)
    if checked is not None:
        kept = {key: state[key] for key in ("code", "day")}
        await _next(ctx, project, day, {**kept, "amount": str(checked[0]), "written": written,
                                        "progress": progress, "reason": state.get("reason")})


async def _store(ctx: Context, project: Project, day: date, state: dict[str, Any]) -> None:
    assert ctx.person_id is not None
    refused = await refusal(ctx, project, day)  # again: a ledger import since the question may cover the day now
    if refused is not None:
        ctx.reply("backfill_refused", refused=refused, project=project, day=day)
        return
    checked = await report_store.checked_amount(ctx, project, state["amount"])
    if checked is None:
        return
    amount = checked[0]
    try:
        report = await backfills.backfill_report(
            ctx.session, project_id=project.id, project_code=project.code, person_id=ctx.person_id, local_day=day,
            amount=amount, progress_text=state["progress"], reason=state["reason"], channel=ctx.msg.channel,
            now=ctx.now, actor=ctx.actor)
    except ReportConflict:
        ctx.reply("backfill_taken", project=project, day=day)
        return
    figures = await project_repo.project_figures(ctx.session, project=project,
                                                 today=min(ctx.today, date(day.year, 12, 31)))
    liaison = await ctx.session.get(Person, project.liaison_id) if project.liaison_id is not None else None
    told = liaison if liaison is not None and liaison.id != ctx.person_id else None
    context = {"project": project, "day": day, "amount": amount, "written": state.get("written"),
               "progress": state["progress"], "reason": state["reason"], "by": ctx.actor.label,
               "published": await corrections.published_with(ctx.session, day=day), "kind_names": KIND_NAMES}
    if told is not None:
        await outbox.enqueue_for_person(ctx.session, person_id=told.id, now=ctx.now, key=f"backfill:{report.id}",
                                        reply=Reply(html=ctx.deps.renderer.render("backfill_notice", **context)))
    ctx.reply("backfill_done", figures=figures, year=day.year, told=told, **context)
