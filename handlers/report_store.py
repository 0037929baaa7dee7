"""Storing a progress report, whichever way it came (one-shot line, photo caption, the guided flow): who may
report for a project (its liaison, or the substitute of a liaison on leave), the amount checked against what
is left of the project's investment, one report a day (a second one asks 确认替换 / 保留原填报), the reply
with the project's figures."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from bot.domain.amounts import AmountError, parse_amount
from bot.domain.limits import PROGRESS_TEXT_MAX
from bot.domain.messages import Button
from bot.domain.report_line import Reading, exceeds_remaining
from bot.render import label
from handlers import report_albums, stage_events
from handlers.context import Context
from handlers.flow_buttons import confirm_button, drafted
from handlers.lookup import progress_numbers
from handlers.readings import reading_buttons, saved_readings
from storage import leaves as leave_repo
from storage import projects as project_repo
from storage import reports as report_repo
from storage.models import Person, Project
from storage.projects import ProjectFigures, ReportTarget
from storage.reports import DayReport, ReportConflict

FLOW = "report"  # the conversation's flow of every report question (guided steps, replace, readings)
PREFIX = "rp"  # the buttons of every report question


def buttons_replace(state: dict[str, Any]) -> list[list[Button]]:
    """确认替换 / 保留原填报 of the kept report `state` (their data name it, ``handlers.flow_buttons``)."""
    return [[confirm_button(label("replace"), PREFIX, state, "replace"),
             confirm_button(label("keep"), PREFIX, state, "keep")]]


async def may_report(ctx: Context, liaison_id: int | None) -> bool:
    """Whether the caller reports for a project of `liaison_id` today: its liaison, or the substitute
    (代理人) of a leave of the liaison's that covers today (``bot.domain.leave``)."""
    if ctx.person_id is None or liaison_id is None:
        return False
    if liaison_id == ctx.person_id:
        return True
    covering = await leave_repo.covering_for(ctx.session, substitute_id=ctx.person_id, day=ctx.today)
    return any(span.person_id == liaison_id for span in covering)


async def own_project(ctx: Context, code: str) -> Project | None:
    """The project (loaded for its card) if the caller reports for it (`may_report`); replies with the
    refusal otherwise."""
    project = await project_repo.get_project_for_card(ctx.session, code=code)
    if project is None:
        ctx.reply("project_not_found", code=code)
        return None
    if not await may_report(ctx, project.liaison_id):
        ctx.reply("report_not_yours", project=project)
        return None
    return project


async def own_project_and_figures(ctx: Context, code: str) -> tuple[ReportTarget, ProjectFigures] | None:
    """`own_project` for a one-shot report: just what storing it needs, with the project's figures for
    today, read in the same statement."""
    found = await project_repo.get_report_target(ctx.session, code=code, today=ctx.today)
    if found is None:
        ctx.reply("project_not_found", code=code)
        return None
    project, figures = found
    if not await may_report(ctx, project.liaison_id):
        ctx.reply("report_not_yours", project=project)
        return None
    return project, figures


async def checked_amount(ctx: Context, project: Project | ReportTarget, text: str,
                          figures: ProjectFigures | None = None, *, freed: Decimal = Decimal(0)
                          ) -> tuple[Decimal, ProjectFigures] | None:
    """Parse the amount and check it against the project's remaining investment (plus `freed`, the amount of
    a report it replaces); reply on failure.

    Returns the amount with the figures it was checked against (for `store` to build on); `figures` are
    today's if the caller has them already.
    """
    try:
        amount = parse_amount(text)
    except AmountError as error:
        ctx.reply("amount_invalid", text=text, error=error)
        return None
    if figures is None:
        figures = await project_repo.project_figures(ctx.session, project=project, today=ctx.today)
    remaining = project_repo.remaining_investment(project, figures.all_reported) + freed
    if exceeds_remaining(amount, remaining):
        ctx.reply("amount_too_large", amount=amount, remaining=max(remaining, Decimal(0)), project=project,
                  written=text)
        return None
    return amount, figures


async def store(ctx: Context, project: Project | ReportTarget, amount: Decimal, progress: str,
                 photos: list[str], before: ProjectFigures, written: str | None = None, *,
                 replaces: tuple[int, Decimal] | None = None, albums: Sequence[str] | None = None) -> None:
    """Store the day's report, audit it and reply with the project card; `before` are the project's figures
    read earlier in this transaction (the card adds the new report to them instead of reading again).
    `albums`: the albums its photos are of, whose later parts join it (by default the message's own).

    One report counts per project and day: if the project has one today already (and the user did not
    confirm replacing it: `replaces`, its id and amount), nothing is stored and the user is asked, both
    shown."""
    assert ctx.person_id is not None
    if ctx.refuse_too_long(progress, PROGRESS_TEXT_MAX, "progress"):
        return
    if albums is None:
        albums = [ctx.msg.album] if ctx.msg.album and ctx.msg.photos else []
    none_today = isinstance(project, ReportTarget) and project.today_report_id is None  # read with the target
    if replaces is None and not none_today:
        old = await report_repo.live_report_of_day(ctx.session, project_id=project.id, local_day=ctx.today)
        if old is not None:
            await ask_replace(ctx, project, old, amount, progress, photos, written, albums)
            return
    absent = None  # the liaison on leave the caller reports for, as their substitute
    if project.liaison_id is not None and project.liaison_id != ctx.person_id:
        absent = await ctx.session.get(Person, project.liaison_id)
    try:
        report = await report_repo.add_report(
            ctx.session, project_id=project.id, person_id=ctx.person_id, local_day=ctx.today, amount=amount,
            progress_text=progress, photos=photos, channel=ctx.msg.channel, now=ctx.now, actor=ctx.actor,
            project_code=project.code, replaces=replaces[0] if replaces else None,
            on_behalf_of=(absent.id, absent.name) if absent is not None else None,
        )
    except ReportConflict:  # the day's report changed since it was shown: show it again
        old = await report_repo.live_report_of_day(ctx.session, project_id=project.id, local_day=ctx.today)
        if old is None:
            ctx.reply("button_expired")
        else:
            await ask_replace(ctx, project, old, amount, progress, photos, written, albums)
        return
    await report_albums.remember(ctx, report_id=report.id, code=project.code, albums=albums)
    today = ctx.today
    figures = None  # read again if the year turned since `before` (their "this year" is another one)
    if replaces is None and before.as_of is not None and before.as_of.year == today.year:
        figures = project_repo.figures_with_report(before, project, report, photo_count=len(photos))
    if figures is None:
        figures = await project_repo.project_figures(ctx.session, project=project, today=ctx.today)
    numbers = progress_numbers(today, project, figures)
    if replaces is None:
        event = stage_events.report_button(project, today)
        ctx.reply("report_saved", report=report, project=project, figures=figures, written=written,
                  absent=absent, **numbers, buttons=[[event]] if event is not None else None, optional=True)
    else:
        ctx.reply("report_replaced", report=report, project=project, figures=figures, written=written,
                  old_amount=replaces[1], absent=absent, **numbers)


async def ask_reading(ctx: Context, project: Project, readings: Sequence[Reading], carried: dict[str, Any]) -> None:
    """The words after the code read in more than one way: keep the readings (and the photos with their albums,
    `carried`: report_albums.photos_of_message or .carried) and ask which, never guess."""
    await ctx.save_flow(FLOW, {"step": "reading", "code": project.code, "readings": saved_readings(readings),
                            **carried})
    ctx.reply("report_ask_reading", project=project, readings=readings, buttons=reading_buttons(readings, PREFIX))


async def ask_replace(ctx: Context, project: Project | ReportTarget, old: DayReport, amount: Decimal,
                       progress: str, photos: list[str], written: str | None, albums: Sequence[str]) -> None:
    """Keep the new report in the conversation and ask whether it replaces the day's report `old`."""
    state = drafted({"step": "replace", "code": project.code, "amount": str(amount), "written": written,
                     "progress": progress, "photos": photos, "replaces": old.id, "old_amount": str(old.amount),
                     "albums": list(albums)})
    await ctx.save_flow(FLOW, state)
    ctx.reply("report_replace_ask", project=project, day=ctx.today, old=old, amount=amount, written=written,
              progress=progress, photo_count=len(photos), buttons=buttons_replace(state))


async def ask_replace_again(ctx: Context, project: Project, state: dict[str, Any]) -> None:
    """The question of the kept report `state` shown again (its buttons naming it), when the day's report it
    would replace is still the one it was asked about; else the flow is over."""
    old = await report_repo.live_report_of_day(ctx.session, project_id=project.id, local_day=ctx.today)
    if old is None or old.id != state.get("replaces"):
        await ctx.clear_flow()
        ctx.reply("button_expired")
        return
    await ask_replace(ctx, project, old, Decimal(state["amount"]), state.get("progress", ""),
                      list(state.get("photos", [])), state.get("written"), report_albums.albums_of(state))


async def replace(ctx: Context, state: dict[str, Any]) -> None:
    """The user confirmed: the kept report replaces the day's report shown to them."""
    await ctx.clear_flow()
    found = await own_project_and_figures(ctx, state["code"])
    if found is None:
        return
    project, figures = found
    old_amount = Decimal(state["old_amount"])
    checked = await checked_amount(ctx, project, state["amount"], figures, freed=old_amount)
    if checked is None:
        return
    await store(ctx, project, checked[0], state.get("progress", ""), list(state.get("photos", [])), figures,
                 state.get("written"), replaces=(int(state["replaces"]), old_amount),
                 albums=report_albums.albums_of(state))
