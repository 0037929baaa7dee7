"""Progress reports: `/report` (guided, ``handlers.report_guided``), one-shot `/report CODE AMOUNT PROGRESS`,
the same line typed without /report or as a photo's caption, and /undo. Storing is ``handlers.report_store``."""

from __future__ import annotations

from bot.domain.report_line import ReportLine, parse_report_line, reads_as_report
from handlers import report_albums, report_guided, report_store
from handlers.context import Context
from handlers.report_guided import report_button, report_step
from handlers.report_store import FLOW, PREFIX
from storage import audit, sent_messages
from storage import projects as project_repo
from storage import reports as report_repo
from storage.models import Project

__all__ = ["FLOW", "PREFIX", "report_button", "report_caption", "report_command", "report_step", "report_without_code",
           "undo_command"]
CODES_SHOWN = 5  # of the liaison's projects named when a report line comes without its code


async def report_command(ctx: Context, args: str) -> None:
    """`/report` starts the guided flow; `/report CODE AMOUNT PROGRESS` stores at once."""
    if not args.strip():
        await report_guided.ask_project(ctx)
        return
    line = parse_report_line(args)
    if line is None:
        ctx.reply("report_usage")
        return
    if line.amount_text is not None and not line.readings:  # no amount: perhaps a pasted row, with the name
        line = await _without_name(ctx, args, line)
    if line.amount_text is None:
        project = await report_store.own_project(ctx, line.code)
        if project is not None:
            await report_guided.ask_amount(ctx, project, report_albums.photos_of_message(ctx))
        return
    if line.ambiguous:
        await _ask_reading(ctx, line)
        return
    found = await report_store.own_project_and_figures(ctx, line.code)
    if found is None:
        return
    project, figures = found
    checked = await report_store.checked_amount(ctx, project, line.amount_text, figures)
    if checked is not None:
        amount, figures = checked
        await report_store.store(ctx, project, amount, line.progress, list(ctx.msg.photos), figures,
                                 written=line.amount_text)


async def _without_name(ctx: Context, args: str, line: ReportLine) -> ReportLine:
    """The line read again passing over the project's name after its code ("ZD2026-001<tab>城北高速连接线<tab>850
    <tab>桩基完成", a row pasted from a spreadsheet; the code and name alone start the guided report); the line as
    it was when that reads no amount either."""
    project = await project_repo.get_project_by_code(ctx.session, code=line.code)
    again = parse_report_line(args, name=project.name) if project is not None else None
    return again if again is not None and (again.readings or again.amount_text is None) else line


async def _ask_reading(ctx: Context, line: ReportLine) -> None:
    """The words after the code read in more than one way: ask which, never guess."""
    project = await report_store.own_project(ctx, line.code)
    if project is not None:
        await report_store.ask_reading(ctx, project, line.readings, report_albums.photos_of_message(ctx))


async def report_caption(ctx: Context, caption: str) -> bool:
    """A report line typed without /report, or a photo's caption; False if the text is not one."""
    if parse_report_line(caption) is None:
        return False
    await report_command(ctx, caption)
    return True


async def report_without_code(ctx: Context, text: str) -> bool:
    """A liaison's report line typed without the project's code ("850万 桩基完成"), or a photo's caption so written:
    as an answer to a reminder of one project (Telegram's reply to it, by the liaison or by whoever reports in an
    absent liaison's place: the reminder's reader), a report of that project, with the photo; otherwise not
    stored, and a text is said so with the line to send instead, naming the reminder's projects when it named
    several; False if the text is no such line, or a photo's caption answering no such reminder (the photo's own
    answer says how to caption it)."""
    assert ctx.person_id is not None
    if not reads_as_report(text):
        return False
    reminded = await _reminded(ctx)
    if len(reminded) == 1:
        await report_command(ctx, f"{reminded[0]} {text}")
        return True
    if ctx.msg.photos:
        return False
    codes = list(reminded) or [p.code for p in await project_repo.projects_of_liaison(ctx.session,
                                                                                     person_id=ctx.person_id)]
    if not codes:
        return False
    ctx.reply("report_needs_code", codes=codes[:CODES_SHOWN], more=len(codes) > CODES_SHOWN, reminded=bool(reminded),
              text=text.strip().splitlines()[0])  # its first line: an example, and a code span is one line
    return True


async def _reminded(ctx: Context) -> tuple[str, ...]:
    """The codes of the projects the message answered was about (a reminder the bot sent), () when it answers
    none or another message."""
    if not ctx.msg.reply_to:
        return ()
    return await sent_messages.about(ctx.session, channel=ctx.msg.channel, chat_id=ctx.msg.chat_id,
                                     message_id=ctx.msg.reply_to)


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
