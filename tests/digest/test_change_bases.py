"""较上期 across a ledger base: the previous period's figures are computed with today's bases, and a base counts
on every day of its year, so one dated after the previous cut-off day (a re-import in the week) puts in them what
was done from then to its day, which the change leaves out. /rank says so under its change line, in the words of
the bulletins (bot.domain.year_to_date.change_bases); a base dated by the previous cut-off changes nothing."""

from __future__ import annotations

from datetime import date

from bot.domain.changes import StandingsChanges, with_bases
from bot.domain.year_to_date import change_bases
from bot.render import Renderer
from bot.services.standings import standings_and_changes
from storage.db import Database

from .conftest import District

SUNDAY = date(2026, 11, 15)
NOTE = ("注：2 个项目的年度台账截至11月18日，晚于上期截止日11月15日：上期数按现台账计，已含上期截止日后至台账日期"
        "完成的投资，较上期变化不含这部分、无法单列。")


def test_which_bases_a_change_cannot_see_through() -> None:
    days = {date(2026, 11, 18): 2, date(2026, 11, 25): 1, SUNDAY: 4, date(2026, 3, 1): 5}
    bases = change_bases(days, since=SUNDAY, cutoff=date(2026, 11, 20))
    assert bases.within == ((date(2026, 11, 18), 2),) and bases.later == ((date(2026, 11, 25), 1),)
    assert not change_bases(days, since=date(2026, 11, 25), cutoff=date(2026, 11, 30))  # all by then
    assert not change_bases(days, since=None, cutoff=date(2026, 11, 20))  # nothing compared
    assert not change_bases(days, since=date(2025, 12, 31), cutoff=date(2026, 1, 4))  # another year's



def test_the_changes_carry_the_bases_only_when_they_compare_something() -> None:
    """/rank and the web overview attach them the same way (``with_bases``): none for a first period."""
    days = {date(2026, 11, 18): 2, SUNDAY: 4}
    compared = with_bases(StandingsChanges(since=SUNDAY), days, cutoff=date(2026, 11, 20))
    assert compared.since == SUNDAY and compared.bases == change_bases(days, since=SUNDAY, cutoff=date(2026, 11, 20))
    assert compared.bases.within == ((date(2026, 11, 18), 2),)
    assert with_bases(StandingsChanges(), days, cutoff=date(2026, 11, 20)) == StandingsChanges()

async def test_rank_notes_a_base_dated_after_last_sunday(db: Database, district: District) -> None:
    for code in ("ZD2026-001", "ZD2026-002"):
        await district.project(code, plan="10000", done_before="3000", baseline_date=date(2026, 11, 18))
    await district.project("ZD2026-003", plan="10000", done_before="3000", baseline_date=date(2026, 11, 2))
    async with db.session() as session:
        _now, changes = await standings_and_changes(session, today=date(2026, 11, 20))
    assert changes.since == SUNDAY and changes.bases.within == ((date(2026, 11, 18), 2),)
    assert Renderer().phrase("_base_note", "change_note", changes.bases, changes.since) == NOTE
