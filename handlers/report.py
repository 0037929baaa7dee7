"""Progress reports: one-shot `/report CODE AMOUNT PROGRESS`, the guided flow, photos and /undo."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.domain.amounts import AmountError, parse_amount
from bot.domain.digits import as_index
from bot.domain.limits import PHOTO_FILE_MAX, PROGRESS_TEXT_MAX, photo_too_big
from bot.domain.messages import Button
from bot.domain.report_line import ReportLine, exceeds_remaining, parse_report_line
from handlers import report_albums, stage_events
from handlers.context import Context
from handlers.lookup import progress_numbers
from handlers.nodes import PREFIX as NODE_PREFIX
from handlers.readings import reading_buttons, saved_readings
from storage import audit
from storage import leaves as leave_repo
from storage import nodes as node_repo
from storage import projects as project_repo
from storage import reports as report_repo
from storage.models import Person, Project
from storage.projects import ProjectFigures, ReportTarget
from storage.reports import DayReport, ReportConflict

FLOW = "report"
PREFIX = "rp"


def _buttons_photos() -> list[list[Button]]:
    return [[Button("完成（不再上传照片）", f"{PREFIX}:done")], [Button("取消", f"{PREFIX}:cancel")]]


def _buttons_confirm() -> list[list[Button]]:
    return [[Button("确认", f"{PREFIX}:ok"), Button("修改", f"{PREFIX}:edit"), Button("取消", f"{PREFIX}:cancel")]]


def _buttons_replace() -> list[list[Button]]:
    return [[Button("确认替换", f"{PREFIX}:replace"), Button("保留原填报", f"{PREFIX}:keep")]]


def _buttons_edit(photo_count: int) -> list[list[Button]]:
    """修改 picks one field; the others are kept."""
    rows = [[Button("金额", f"{PREFIX}:e:amount"), Button("形象进度", f"{PREFIX}:e:progress")],
            [Button("补充照片", f"{PREFIX}:e:photos")]]
    if photo_count:
        rows[1].append(Button("清空照片", f"{PREFIX}:e:nophotos"))
    rows.append([Button("不修改，返回核对", f"{PREFIX}:e:back"), Button("取消", f"{PREFIX}:cancel")])
    return rows


async def _may_report(ctx: Context, liaison_id: int | None) -> bool:
    """Whether the caller reports for a project of `liaison_id` today: its liaison, or the substitute
    (代理人) of a leave of the liaison's that covers today (``bot.domain.leave``)."""
    if ctx.person_id is None or liaison_id is None:
        return False
    if liaison_id == ctx.person_id:
        return True
    covering = await leave_repo.covering_for(ctx.session, substitute_id=ctx.person_id, day=ctx.today)
    return any(span.person_id == liaison_id for span in covering)


async def _own_project(ctx: Context, code: str) -> Project | None:
    """The project (loaded for its card) if the caller reports for it (`_may_report`); replies with the
    refusal otherwise."""
    project = await project_repo.get_project_for_card(ctx.session, code=code)
    if project is None:
        ctx.reply("project_not_found", code=code)
        return None
    if not await _may_report(ctx, project.liaison_id):
        ctx.reply("report_not_yours", project=project)
        return None
    return project


async def _own_project_and_figures(ctx: Context, code: str) -> tuple[ReportTarget, ProjectFigures] | None:
    """`_own_project` for a one-shot report: just what storing it needs, with the project's figures for
    today, read in the same statement."""
    found = await project_repo.get_report_target(ctx.session, code=code, today=ctx.today)
    if found is None:
        ctx.reply("project_not_found", code=code)
        return None
    project, figures = found
    if not await _may_report(ctx, project.liaison_id):
        ctx.reply("report_not_yours", project=project)
        return None
    return project, figures


async def _checked_amount(ctx: Context, project: Project | ReportTarget, text: str,
                          figures: ProjectFigures | None = None, *, freed: Decimal = Decimal(0)
                          ) -> tuple[Decimal, ProjectFigures] | None:
    """Parse the amount and check it against the project's remaining investment (plus `freed`, the amount of
    a report it replaces); reply on failure.

    Returns the amount with the figures it was checked against (for `_store` to build on); `figures` are
    today's if the caller has them already.
    """
    try:
        amount = parse_amount(text)
    except AmountError as error:
        ctx.reply("amount_invalid", text=text, reason=error.message)
        return None
    if figures is None:
        figures = await project_repo.project_figures(ctx.session, project=project, today=ctx.today)
    remaining = project_repo.remaining_investment(project, figures.all_reported) + freed
    if exceeds_remaining(amount, remaining):
        ctx.reply("amount_too_large", amount=amount, remaining=max(remaining, Decimal(0)), project=project,
                  written=text)
        return None
    return amount, figures


async def _store(ctx: Context, project: Project | ReportTarget, amount: Decimal, progress: str,
                 photos: list[str], before: ProjectFigures, written: str | None = None, *,
                 replaces: tuple[int, Decimal] | None = None) -> None:
    """Store the day's report, audit it and reply with the project card; `before` are the project's figures
    read earlier in this transaction (the card adds the new report to them instead of reading again).

    One report counts per project and day: if the project has one today already (and the user did not
    confirm replacing it: `replaces`, its id and amount), nothing is stored and the user is asked, both
    shown."""
    assert ctx.person_id is not None
    if ctx.refuse_too_long(progress, PROGRESS_TEXT_MAX, "形象进度"):
        return
    none_today = isinstance(project, ReportTarget) and project.today_report_id is None  # read with the target
    if replaces is None and not none_today:
        old = await report_repo.live_report_of_day(ctx.session, project_id=project.id, local_day=ctx.today)
        if old is not None:
            await _ask_replace(ctx, project, old, amount, progress, photos, written)
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
            await _ask_replace(ctx, project, old, amount, progress, photos, written)
        return
    await report_albums.remember(ctx, report_id=report.id, code=project.code)
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
                  absent=absent, **numbers, buttons=[[event]] if event is not None else None)
    else:
        ctx.reply("report_replaced", report=report, project=project, figures=figures, written=written,
                  old_amount=replaces[1], absent=absent, **numbers)


async def _ask_replace(ctx: Context, project: Project | ReportTarget, old: DayReport, amount: Decimal,
                       progress: str, photos: list[str], written: str | None) -> None:
    """Keep the new report in the conversation and ask whether it replaces the day's report `old`."""
    await ctx.save_flow(FLOW, {"step": "replace", "code": project.code, "amount": str(amount), "written": written,
                            "progress": progress, "photos": photos, "replaces": old.id,
                            "old_amount": str(old.amount), "album": ctx.msg.album})
    ctx.reply("report_replace_ask", project=project, day=ctx.today, old=old, amount=amount, written=written,
              progress=progress, photo_count=len(photos), buttons=_buttons_replace())


async def _replace(ctx: Context, state: dict[str, Any]) -> None:
    """The user confirmed: the kept report replaces the day's report shown to them."""
    await ctx.clear_flow()
    found = await _own_project_and_figures(ctx, state["code"])
    if found is None:
        return
    project, figures = found
    old_amount = Decimal(state["old_amount"])
    checked = await _checked_amount(ctx, project, state["amount"], figures, freed=old_amount)
    if checked is None:
        return
    await _store(ctx, project, checked[0], state.get("progress", ""), list(state.get("photos", [])), figures,
                 state.get("written"), replaces=(int(state["replaces"]), old_amount))


async def report_command(ctx: Context, args: str) -> None:
    """`/report` starts the guided flow; `/report CODE AMOUNT PROGRESS` stores at once."""
    if not args.strip():
        await _ask_project(ctx)
        return
    line = parse_report_line(args)
    if line is None:
        ctx.reply("report_usage")
        return
    if line.amount_text is None:
        project = await _own_project(ctx, line.code)
        if project is not None:
            await _ask_amount(ctx, project)
        return
    if line.ambiguous:
        await _ask_reading(ctx, line)
        return
    found = await _own_project_and_figures(ctx, line.code)
    if found is None:
        return
    project, figures = found
    checked = await _checked_amount(ctx, project, line.amount_text, figures)
    if checked is not None:
        amount, figures = checked
        await _store(ctx, project, amount, line.progress, list(ctx.msg.photos), figures, written=line.amount_text)


async def _ask_reading(ctx: Context, line: ReportLine) -> None:
    """The words after the code read as an amount in more than one way: ask which, never guess."""
    project = await _own_project(ctx, line.code)
    if project is None:
        return
    await ctx.save_flow(FLOW, {"step": "reading", "code": project.code, "readings": saved_readings(line.readings),
                            "photos": list(ctx.msg.photos), "album": ctx.msg.album})
    ctx.reply("report_ask_reading", project=project, readings=line.readings,
              buttons=reading_buttons(line.readings, PREFIX))


async def report_caption(ctx: Context, caption: str) -> bool:
    """A report line typed without /report, or a photo's caption; False if the text is not one."""
    if parse_report_line(caption) is None:
        return False
    await report_command(ctx, caption)
    return True


async def _ask_project(ctx: Context) -> None:
    assert ctx.person_id is not None
    mine = await project_repo.projects_of_liaison(ctx.session, person_id=ctx.person_id)
    for span in await leave_repo.covering_for(ctx.session, substitute_id=ctx.person_id, day=ctx.today):
        mine += await project_repo.projects_of_liaison(ctx.session, person_id=span.person_id)
    if not mine:
        ctx.reply("report_no_projects")
        return
    await ctx.save_flow(FLOW, {"step": "project"})
    buttons = [[Button(f"{p.code} {p.name}", f"{PREFIX}:p:{p.code}")] for p in mine]
    buttons.append([Button("取消", f"{PREFIX}:cancel")])
    ctx.reply("report_pick_project", buttons=buttons)


async def _ask_amount(ctx: Context, project: Project) -> None:
    """The flow's first question; a project with nodes still to do also offers 节点完成 (handlers.nodes)."""
    await ctx.save_flow(FLOW, {"step": "amount", "code": project.code})
    buttons = [[Button("取消", f"{PREFIX}:cancel")]]
    if await node_repo.has_open_nodes(ctx.session, project_id=project.id):
        buttons.insert(0, [Button("节点完成", f"{NODE_PREFIX}:l:{project.code}")])
    ctx.reply("report_ask_amount", project=project, buttons=buttons)


async def report_step(ctx: Context, state: dict[str, Any]) -> None:
    """A text or photo message while the guided flow waits for input."""
    step = state.get("step")
    text = ctx.msg.text.strip()
    if step == "project":
        ctx.reply("report_pick_project_again")
        return
    if step in ("replace", "reading") and (kept := report_albums.keep_in_flow(ctx, state)) is not None:
        await ctx.save_flow(FLOW, kept)  # the rest of the album the waiting report came with
        ctx.reply("report_photo_kept", count=len(kept["photos"]))
        return
    if step == "replace":
        ctx.reply("report_replace_pending", buttons=_buttons_replace())
        return
    project = await _own_project(ctx, state["code"])
    if project is None:
        await ctx.clear_flow()
        return
    if step == "amount":
        if not text:
            ctx.reply("report_ask_amount", project=project, buttons=[[Button("取消", f"{PREFIX}:cancel")]])
            return
        checked = await _checked_amount(ctx, project, text)
        if checked is None:
            return
        amount = checked[0]
        state = {**state, "amount": str(amount), "written": text}
        if state.get("editing"):
            await _summary(ctx, project, state)
            return
        await ctx.save_flow(FLOW, {**state, "step": "progress"})
        ctx.reply("report_ask_progress", project=project, amount=amount, written=text)
    elif step == "progress":
        if not text:
            ctx.reply("report_ask_progress", project=project, amount=Decimal(state["amount"]),
                      written=state.get("written"))
            return
        if ctx.refuse_too_long(text, PROGRESS_TEXT_MAX, "形象进度"):
            return
        if state.get("editing"):
            await _summary(ctx, project, {**state, "progress": text})
            return
        await ctx.save_flow(FLOW, {**state, "step": "photos", "progress": text, "photos": []})
        ctx.reply("report_ask_photos", buttons=_buttons_photos())
    elif step == "reading":
        ctx.reply("report_pick_reading_again")
    elif step == "photos":
        document = ctx.msg.document
        if not ctx.msg.photos and document is not None and photo_too_big(document.name, document.size):
            ctx.reply("photo_too_big", max_mb=PHOTO_FILE_MAX // 2**20, buttons=_buttons_photos())
            return
        if not ctx.msg.photos:
            ctx.reply("report_ask_photos", buttons=_buttons_photos())
            return
        photos = [*state.get("photos", []), *ctx.msg.photos]
        await ctx.save_flow(FLOW, {**state, "photos": photos})
        ctx.reply("report_photo_received", count=len(photos), buttons=_buttons_photos())
    else:
        await _summary(ctx, project, state)


async def _summary(ctx: Context, project: Project, state: dict[str, Any]) -> None:
    await ctx.save_flow(FLOW, {**state, "step": "confirm", "editing": False})
    ctx.reply(
        "report_summary", project=project, amount=Decimal(state["amount"]), written=state.get("written"),
        progress=state.get("progress", ""), photo_count=len(state.get("photos", [])), buttons=_buttons_confirm(),
    )


async def _edit(ctx: Context, project: Project, state: dict[str, Any], field: str) -> None:
    """修改 one field of the summary; everything else (photos included) is kept."""
    photo_count = len(state.get("photos", []))
    if field == "amount":
        await ctx.save_flow(FLOW, {**state, "step": "amount", "editing": True})
        ctx.reply("report_ask_amount", project=project, buttons=[[Button("取消", f"{PREFIX}:cancel")]])
    elif field == "progress":
        await ctx.save_flow(FLOW, {**state, "step": "progress", "editing": True})
        ctx.reply("report_ask_progress", project=project, amount=Decimal(state["amount"]),
                  written=state.get("written"))
    elif field == "photos":
        await ctx.save_flow(FLOW, {**state, "step": "photos", "editing": True})
        ctx.reply("report_photo_received", count=photo_count, buttons=_buttons_photos())
    elif field == "nophotos":
        await _summary(ctx, project, {**state, "photos": []})
    else:  # back
        await _summary(ctx, project, state)


async def report_button(ctx: Context, data: str) -> None:
    """Buttons of the guided flow: pick project, photos done, confirm, edit, cancel."""
    state = await ctx.flow_state(FLOW)
    if data == "cancel":
        await ctx.clear_flow()
        ctx.reply("report_cancelled")
        return
    if data in ("replace", "keep"):
        if state is None or state.get("step") != "replace":
            ctx.reply("button_expired")
        elif data == "keep":
            await ctx.clear_flow()
            ctx.reply("report_replace_kept")
        else:
            await _replace(ctx, state)
        return
    if data.startswith("p:"):
        project = await _own_project(ctx, data[2:])
        if project is not None:
            await _ask_amount(ctx, project)
        return
    if state is None or "code" not in state:
        ctx.reply("button_expired")
        return
    project = await _own_project(ctx, state["code"])
    if project is None:
        await ctx.clear_flow()
        return
    if data == "done" and state.get("step") == "photos":
        await _summary(ctx, project, state)
    elif data == "edit" and state.get("step") == "confirm":
        await ctx.save_flow(FLOW, {**state, "step": "edit"})
        ctx.reply("report_edit_pick", buttons=_buttons_edit(len(state.get("photos", []))))
    elif data.startswith("e:") and state.get("step") == "edit":
        await _edit(ctx, project, state, data[2:])
    elif data.startswith("r:") and state.get("step") == "reading" \
            and (reading := as_index(data[2:], len(state.get("readings", [])))) is not None:
        written, _value, progress = state["readings"][reading]
        checked = await _checked_amount(ctx, project, written)
        await ctx.clear_flow()
        if checked is not None:
            amount, figures = checked
            await _store(ctx, project, amount, progress, list(state.get("photos", [])), figures, written=written)
    elif data == "ok" and state.get("step") == "confirm":
        checked = await _checked_amount(ctx, project, state["amount"])
        await ctx.clear_flow()
        if checked is not None:
            amount, figures = checked
            photos = list(state.get("photos", []))
            await _store(ctx, project, amount, state.get("progress", ""), photos, figures,
                         written=state.get("written"))
    else:
        ctx.reply("button_expired")


async def undo_command(ctx: Context, _args: str) -> None:
    """Withdraw the caller's own last report of today (kept in the audit trail)."""
    assert ctx.person_id is not None
    report = await report_repo.last_report_of_day(ctx.session, person_id=ctx.person_id, local_day=ctx.today)
    if report is None:
        ctx.reply("undo_nothing")
        return
    report.withdrawn_at = ctx.now
    project = await ctx.session.get(Project, report.project_id)
    assert project is not None
    await audit.record(
        ctx.session, actor=ctx.actor, at=ctx.now, action="report.withdraw", object_type="project",
        object_key=project.code, detail={"report_id": report.id, "amount": str(report.amount)},
    )
    ctx.reply("undo_done", report=report, project=project)
