"""The half-monthly written report (半月报) as a use case: the texts a liaison's report is prefilled with,
and the office's compiled document (a .docx laid out as a 公文) for the chat job and the command line.

The figures in the document are the bulletins' own (``bot.services.standings.project_standings``: the
year-to-date done, completion and 序时进度 on the half-month's last day, and the share of its working days
reported); the words are the templates' (``halfmonth_document.j2``, ``halfmonth_prefill_*.j2``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.halfmonth import PREFILL_MAX, HalfMonth, progress_facts
from bot.domain.limits import preview
from bot.domain.progress import schedule_progress
from bot.domain.standings import totals
from bot.domain.workdays import WorkCalendar
from bot.render import Renderer, html_to_plain
from bot.services.standings import project_standings
from storage import halfmonth as repo


@dataclass(frozen=True)
class Prefill:
    """What the three steps of a project's report start from (plain text; "" when there is nothing)."""

    progress: str
    problems: str
    next_steps: str


async def prefill(session: AsyncSession, renderer: Renderer, *, project_id: int, half: HalfMonth) -> Prefill:
    """The texts proposed for a project's report on `half`: from its daily reports of the half-month and its
    problems not yet solved (what the units answered and promised becomes the next steps)."""
    reports = (await repo.day_reports(session, project_ids=[project_id], start=half.start, end=half.end))
    issues = (await repo.open_issues(session, project_ids=[project_id])).get(project_id, [])
    facts = progress_facts(reports.get(project_id, []))

    def text(template: str, **context: object) -> str:
        return preview(html_to_plain(renderer.render(template, half=half, **context)), PREFILL_MAX)

    return Prefill(progress=text("halfmonth_prefill_progress", facts=facts),
                   problems=text("halfmonth_prefill_problems", issues=issues),
                   next_steps=text("halfmonth_prefill_steps", issues=[i for i in issues if i.answer]))


@dataclass(frozen=True)
class Compiled:
    """The office's document on a half-month: where it was written, how many projects sent their report,
    and the codes of those that did not."""

    path: Path
    sent: int
    owed: int
    missing: list[str]


async def compile_document(session: AsyncSession, renderer: Renderer, *, half: HalfMonth, calendar: WorkCalendar,
                           out_dir: Path, issued: date) -> Compiled:
    """Write the half-month's document into `out_dir`: the overview with the figures table, then each sent
    project's 进展情况 / 存在问题 / 下一步措施 as its liaison sent them, then the projects not sent, each named
    once with its lead unit and liaison."""
    from cn2an import an2cn  # noqa: PLC0415 - loaded when a document is built, not at start-up

    from bot.documents import gongwen  # noqa: PLC0415 - python-docx likewise

    owed = await repo.owed(session, half=half)
    sent = await repo.sent(session, period_start=half.start)
    # the projects entered by the half-month's last day: one the ledger brought in since owed nothing for it
    standings = {s.code: s for s in await project_standings(session, cutoff=half.end, window_start=half.start,
                                                             calendar=calendar, entered_by=half.end)}
    rows = [(item, standings[item.code], sent.get(item.project_id)) for item in owed if item.code in standings]
    markup = renderer.render(
        "halfmonth_document", half=half, issued=issued, rows=rows, cn=an2cn,
        totals=totals(standings.values()), projects=len(standings), schedule=schedule_progress(half.end),
        sent=sum(1 for _i, _s, report in rows if report is not None),
        missing=[item for item, _s, report in rows if report is None])
    path = out_dir / f"{renderer.words('ledger_export', 'files')['halfmonth']}-{half.key}.docx"  # 半月报-2026-11-16
    await asyncio.to_thread(gongwen.build, gongwen.parse(markup), path)
    missing = [item.code for item, _s, report in rows if report is None]
    return Compiled(path=path, sent=len(rows) - len(missing), owed=len(rows), missing=missing)
