"""A past year's figures restated when a bulletin notes a correction (or 补报) of a day of that year: the
year's bulletins, its 年终考核 among them, were sent and are never sent again, so the note gives the year's
total as corrected, and the annual bulletin's figure it replaces."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.past_year import PastYear, sent_figure
from bot.domain.standings import totals
from bot.domain.workdays import WorkCalendar
from bot.services.standings import project_standings
from storage.corrections import Correction, corrections_since, last_bulletin_before


async def past_years(session: AsyncSession, corrections: Sequence[Correction], *, year: int,
                     calendar: WorkCalendar) -> list[PastYear]:
    """The years before ``year`` that ``corrections`` change, oldest first, each with its year-to-date on 31
    December (bot.services.standings, the one year-to-date) as it stands now; the annual bulletin's figure is
    that less what the corrections of the year made since it was produced changed."""
    found = []
    for past in sorted({c.day.year for c in corrections if c.day.year < year}):
        end = date(past, 12, 31)
        standings = await project_standings(session, cutoff=end, window_start=date(past, 1, 1),
                                            calendar=calendar, entered_by=end)
        done = totals(standings).done
        corrected = {c.code for c in corrections if c.day.year == past}
        sent = None
        annual = await last_bulletin_before(session, kind="annual", period=str(past + 1))
        if annual is not None and annual[0] == str(past):
            since = await corrections_since(session, since=annual[1], up_to_day=end)
            sent = sent_figure(done, since, past)
        found.append(PastYear(year=past, done=done, sent=sent,
                              projects={p.code: p.ytd_done for p in standings if p.code in corrected}))
    return found
