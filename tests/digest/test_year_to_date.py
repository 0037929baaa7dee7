"""One rule for year-to-date, wherever a figure is shown: the dated baseline plus the reports after its day
(bot.domain.year_to_date), the same in bulletins (storage.report_figures), on the project card and when a report
is stored (storage.projects)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.domain.workdays import WorkCalendar
from bot.domain.year_to_date import counts, covered_until
from bot.services.standings import project_standings
from storage import projects as project_repo
from storage.db import Database

from .conftest import District

NOV_20, NOV_30, DEC_03 = date(2026, 11, 20), date(2026, 11, 30), date(2026, 12, 3)


async def _everywhere(db: Database, code: str, day: date) -> tuple[Decimal, Decimal, Decimal]:
    """Year-to-date on `day` as the bulletin, the card and a new report see it."""
    async with db.session() as session:
        rows = await project_standings(session, cutoff=day, window_start=day, calendar=WorkCalendar())
        standing = next(r for r in rows if r.code == code)
        project, figures = await project_repo.get_project_and_figures(session, code=code, today=day)
        _target, target_figures = await project_repo.get_report_target(session, code=code, today=day)
        alone = await project_repo.project_figures(session, project=project, today=day)
        assert alone.ytd_done == figures.ytd_done
    return standing.ytd_done, figures.ytd_done, target_figures.ytd_done


def test_the_rule_itself() -> None:
    assert covered_until(2026, NOV_30, DEC_03) == NOV_30
    assert covered_until(2026, None, DEC_03) is None
    assert covered_until(2025, date(2025, 12, 31), date(2026, 1, 5)) is None
    assert not counts(NOV_20, baseline_year=2026, baseline_date=NOV_30, day=DEC_03)
    assert counts(DEC_03, baseline_year=2026, baseline_date=NOV_30, day=DEC_03)
    assert counts(NOV_20, baseline_year=2025, baseline_date=date(2025, 12, 31), day=DEC_03)


async def test_a_report_the_baseline_covers_is_not_counted_again(db: Database, district: District) -> None:
    # Reported 1,000 on 11-20; the ledger says 27,051 done as of 11-30: year-to-date is 27,051, not 28,051.
    await district.project("ZD2026-001", plan="51000", done_before="27051", baseline_date=NOV_30)
    await district.reports("ZD2026-001", (NOV_20, "1000"))
    assert await _everywhere(db, "ZD2026-001", DEC_03) == (Decimal(27051),) * 3
    # A report after the baseline's day adds to it.
    await district.reports("ZD2026-001", (DEC_03, "500"))
    assert await _everywhere(db, "ZD2026-001", DEC_03) == (Decimal(27551),) * 3
    async with db.session() as session:
        _target, figures = await project_repo.get_report_target(session, code="ZD2026-001", today=DEC_03)
    assert figures.all_reported == Decimal(500)  # the covered 1,000 is in the baseline already


async def test_an_undated_or_last_years_baseline_covers_no_report(db: Database, district: District) -> None:
    await district.project("OLD-1", done_before="300")  # imported before baselines had a day
    await district.project("LAST-1", done_before="900", baseline_year=2025, baseline_date=date(2025, 12, 31))
    for code in ("OLD-1", "LAST-1"):
        await district.reports(code, (NOV_20, "100"))
    assert await _everywhere(db, "OLD-1", DEC_03) == (Decimal(400),) * 3
    assert await _everywhere(db, "LAST-1", DEC_03) == (Decimal(100),) * 3


async def test_the_baselines_own_day_is_covered_and_the_next_day_counts(db: Database, district: District) -> None:
    """The ledger's figure is "done as of" its day: a report of that very day is in it, the next day's is not."""
    dec_01 = date(2026, 12, 1)
    await district.project("ZD2026-001", plan="51000", done_before="27051", baseline_date=NOV_30)
    await district.reports("ZD2026-001", (NOV_30, "1000"))
    assert await _everywhere(db, "ZD2026-001", DEC_03) == (Decimal(27051),) * 3
    await district.reports("ZD2026-001", (dec_01, "200"))
    assert await _everywhere(db, "ZD2026-001", DEC_03) == (Decimal(27251),) * 3
    assert not counts(NOV_30, baseline_year=2026, baseline_date=NOV_30, day=DEC_03)
    assert counts(dec_01, baseline_year=2026, baseline_date=NOV_30, day=DEC_03)
