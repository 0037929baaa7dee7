"""The overview's trend chart draws no completion for the weeks a ledger base blurs (before the base's day a week's
year-to-date holds the base whole) and the page says why under it, in the words of the bulletins' base note; a
project's monthly chart leaves out the months its own base blurs, by the same rule, and says so."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select, update

from bot.clock import SHANGHAI
from bot.web.pages.downloads import _trend
from storage.ledger_bases import base_days
from storage.models import LedgerBase, Project
from tests.web.harness import ROLE_PEOPLE, WebHarness

ADMIN = ROLE_PEOPLE["admin"]
JUNE = date(2026, 6, 30)


async def _dated(site: WebHarness, day: date | None) -> None:
    """The bases dated ``day``, the ledger in use since 1 January (a week counts the projects entered by its end)."""
    async with site.core.db.session() as session:
        await session.execute(update(LedgerBase).values(baseline_date=day))
        await session.execute(update(Project).values(created_at=datetime(2026, 1, 1, 9, tzinfo=SHANGHAI)))


async def _overview(site: WebHarness) -> str:
    await site.state.standings.compute()
    async with site.signed_in(ADMIN) as client:
        async with client.get("/web/") as response:
            return await response.text()


async def test_the_chart_leaves_out_the_weeks_a_base_blurs_and_says_so(site: WebHarness) -> None:
    await _dated(site, JUNE)
    async with site.core.db.session() as session:
        [(day, count)] = (await base_days(session, year=2026)).items()
        points, _title = await _trend(session, date(2026, 11, 20))
    assert day == JUNE and count > 0
    assert all(p.rate is None for p in points if p.day < JUNE)
    assert all(p.rate is not None for p in points if p.day >= JUNE)
    assert all(p.schedule > 0 for p in points)  # 序时进度 is drawn every week
    page = await _overview(site)
    note = f"注：{count} 个项目的年度台账截至6月30日，6月30日前各周的完成率含截至台账日期完成的投资、无法单列，未列出。"
    assert f'<p class="muted">{note}</p>' in page.split('class="card chart"')[1].split("</section>")[0]


async def test_a_base_of_a_project_imported_later_blurs_no_week_before_its_import(site: WebHarness) -> None:
    """ZD2026-001, imported on 10 July with its ledger as of 30 June, is in no week before 10 July: its base blurs
    none of them (each week counts the projects in the ledger by its end), and the page writes no note for it."""
    await _dated(site, None)
    await _project_base(site, "ZD2026-001", JUNE)
    async with site.core.db.session() as session:
        await session.execute(update(Project).where(Project.code == "ZD2026-001")
                              .values(created_at=datetime(2026, 7, 10, 9, tzinfo=SHANGHAI)))
        points, _title = await _trend(session, date(2026, 11, 20))
    assert all(p.rate is not None for p in points), [p for p in points if p.rate is None]
    assert "年度台账截至" not in await _overview(site)


async def test_undated_bases_blur_nothing(site: WebHarness) -> None:
    await _dated(site, None)  # an undated base counts every report of its year: no week holds more than it did
    async with site.core.db.session() as session:
        points, _title = await _trend(session, date(2026, 11, 20))
    assert all(p.rate is not None for p in points)
    assert "年度台账截至" not in await _overview(site)


async def _project_base(site: WebHarness, code: str, day: date | None) -> None:
    async with site.core.db.session() as session:
        project_id = await session.scalar(select(Project.id).where(Project.code == code))
        await session.execute(update(LedgerBase).where(LedgerBase.project_id == project_id)
                              .values(baseline_date=day))


async def _project_page_and_chart(site: WebHarness, code: str) -> tuple[str, str]:
    async with site.signed_in(ADMIN) as client:
        async with client.get(f"/web/project/{code}") as response:
            page = await response.text()
        async with client.get(f"/web/chart/project/{code}.svg") as response:
            svg = await response.text()
    return page.split('class="card chart"')[1].split("</section>")[0], svg


async def test_the_project_chart_leaves_out_the_months_its_base_blurs_and_says_so(site: WebHarness) -> None:
    await _project_base(site, "ZD2026-001", date(2026, 9, 20))
    chart, svg = await _project_page_and_chart(site, "ZD2026-001")
    # Up to August a month's year-to-date holds the base whole (what was done up to 9月20日): no bar
    assert [m for m in range(1, 13) if f'id="done-{m}"' in svg] == [9, 10, 11]
    note = "注：本项目年度台账截至9月20日，9月20日前各月的累计完成含截至台账日期完成的投资、无法单列，未列出。"
    assert f'<p class="muted">{note}</p>' in chart
    other, other_svg = await _project_page_and_chart(site, "ZD2026-002")  # another project's base: its own
    assert "年度台账截至" not in other
    assert [m for m in range(1, 13) if f'id="done-{m}"' in other_svg] == list(range(1, 12))


async def test_a_base_dated_in_january_or_undated_blurs_no_month(site: WebHarness) -> None:
    await _project_base(site, "ZD2026-001", date(2026, 1, 15))
    chart, svg = await _project_page_and_chart(site, "ZD2026-001")
    assert [m for m in range(1, 13) if f'id="done-{m}"' in svg] == list(range(1, 12))
    assert "年度台账截至" not in chart


async def test_the_rankings_change_since_last_sunday_says_which_bases_it_cannot_see_through(site: WebHarness) -> None:
    async with site.core.db.session() as session:  # entered a month ago: ranked last Sunday too
        await session.execute(update(Project).values(created_at=site.core.clock.now() - timedelta(days=30)))
    await _dated(site, date(2026, 11, 18))  # re-imported mid-week: the ledger as of Wednesday
    async with site.core.db.session() as session:
        [(_day, count)] = (await base_days(session, year=2026)).items()
    ranking = (await _overview(site)).split("<h2>项目排名")[1].split("</section>")[0]
    note = (f"注：{count} 个项目的年度台账截至11月18日，晚于上期截止日11月15日：上期数按现台账计，已含上期截止日后"
            "至台账日期完成的投资，较上期变化不含这部分、无法单列。")
    assert f'<p class="muted">{note}</p>' in ranking
    await _dated(site, date(2026, 11, 15))  # as of last Sunday: both standings hold it exactly
    assert "年度台账截至" not in (await _overview(site)).split("<h2>项目排名")[1].split("</section>")[0]
