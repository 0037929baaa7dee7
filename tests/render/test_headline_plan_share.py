"""The bulletins' headline share of the year's plan when plans are missing, and the correction note's past
year restated: rendered from the templates people read."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from bot.domain.past_year import PastYear, sent_figure
from bot.domain.standings import Totals
from bot.render import Renderer


def _share(totals: Totals) -> str:
    return Renderer().phrase("_plan_share", "share", totals, 2027)


def test_no_plan_entered_says_so_rather_than_a_share_of_nothing() -> None:
    text = _share(Totals(plan=Decimal(0), done=Decimal(100), rate=None, unplanned=3))
    assert text == "2027 年度计划尚未录入，完成率待计划录入后通报"


def test_some_plans_entered_set_the_planned_projects_against_their_plans() -> None:
    text = _share(Totals(plan=Decimal(1000), done=Decimal(300), rate=0.3, unplanned=2,
                         planned_done=Decimal(200), planned_rate=0.2))
    assert text == "其中有年度计划的项目完成 200.0 万元，占年度计划 1,000.0 万元的 20.0%（另有 2 个项目无年度计划）"


def test_projects_without_a_plan_that_did_nothing_leave_the_share_as_it_is() -> None:
    text = _share(Totals(plan=Decimal(1000), done=Decimal(300), rate=0.3, unplanned=2,
                         planned_done=Decimal(300), planned_rate=0.3))
    assert text == "占年度计划 1,000.0 万元的 30.0%"


def test_every_plan_entered_reads_as_before() -> None:
    text = _share(Totals(plan=Decimal(1000), done=Decimal(300), rate=0.3, planned_done=Decimal(300),
                         planned_rate=0.3))
    assert text == "占年度计划 1,000.0 万元的 30.0%"


def test_a_correction_of_last_year_restates_the_year_and_its_annual_bulletin() -> None:
    correction = SimpleNamespace(code="ZD2026-001", day=date(2026, 12, 31), before=Decimal(100),
                                 after=Decimal(200), backfill=False, reason="漏报")
    sent = sent_figure(Decimal(271102), [correction], 2026)
    assert sent == Decimal(271002)
    year = PastYear(year=2026, done=Decimal(271102), sent=sent, projects={"ZD2026-001": Decimal(26251)})
    text = Renderer().render("_bulletin_corrections", corrections=[correction], past_years=[year],
                             names={"ZD2026-001": "城北高速连接线"})
    assert ("更正后 2026 年全年累计完成：ZD2026-001 城北高速连接线 26,251.0 万元，全区重点项目由 2026 年终考核通报的 "
            "271,002.0 万元更正为 271,102.0 万元。上期通报中的相关数字以本期为准。") in text, text


def test_a_correction_of_this_year_restates_no_past_year() -> None:
    assert sent_figure(Decimal(500), [SimpleNamespace(day=date(2027, 1, 4), before=Decimal(1),
                                                      after=Decimal(9))], 2026) == Decimal(500)
