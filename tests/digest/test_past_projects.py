"""A past period made again lists the projects that were in the ledger by its cut-off day: a project the ledger
brought in since is in none of its figures (ranking, unit and town scores, counts, milestones, 填报率, the Excel
ledger, the Word bulletin, the half-monthly document, the web overview's weekly trend), and every form of its
bulletin says how many it leaves out; a period with no project in the ledger by its cut-off gets no bulletin."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from docx import Document

from bot.domain.halfmonth import containing as half_containing
from bot.domain.periods import NO_PROJECTS, parse_period
from bot.domain.trend import weekly_trend
from bot.domain.workdays import WorkCalendar
from bot.render import Renderer, html_to_plain
from bot.services.halfmonth import compile_document
from bot.services.participation import load_participation
from jobs.bulletin_refusals import refused_words, why_not
from storage.db import Database
from storage.ledger_entries import LedgerOn, first_entered, ledger_on
from storage.web_queries import counted_daily, entered_totals

from .conftest import CUTOFF, MONDAY, District, bulletin_notes, local
from .test_figures_agree import bulletin, sheet_rows

W47 = parse_period("weekly", "2026-W47")  # 16-22 November 2026 (CUTOFF)
NEW = "ZD2026-099"  # entered on Wednesday 25 November, after W47 and its bulletin's day (Monday 23)
LEFT_OUT = "注：另有 1 个项目于{}后录入台账，未列入本期。"


async def _district(district: District) -> None:
    await district.project("ZD2026-001", unit="区住建局", town="河西镇", liaison="甲", lead="王局")
    # its ledger's 累计完成 as of the day before it came in: a base dated after W47
    await district.project(NEW, unit="区交通局", town="新城镇", liaison="乙", lead="李局", done_before="300",
                           baseline_date=date(2026, 11, 24), entered=local(date(2026, 11, 25), 9))
    days = [MONDAY + timedelta(days=n) for n in range(5)]
    await district.reports("ZD2026-001", *((day, "10") for day in days))
    # both with a milestone missed in the week: the new project's came with its ledger
    await district.node("ZD2026-001", "围挡施工", MONDAY + timedelta(days=1))
    await district.node(NEW, "管网铺设", MONDAY + timedelta(days=2), seq=1)


async def test_a_project_added_after_a_week_is_in_none_of_its_bulletin(db: Database, district: District,
                                                                       tmp_path: Path) -> None:
    await _district(district)

    rendered = await bulletin(db, W47, tmp_path)

    ledger = rendered.files["ledger"].read_bytes()
    assert [row["编号"] for row in sheet_rows(ledger, "项目台账")] == ["ZD2026-001"]
    assert [row["牵头单位"] for row in sheet_rows(ledger, "单位排名")] == ["区住建局"]
    assert [row["乡镇"] for row in sheet_rows(ledger, "乡镇排名")] == ["河西镇"]
    assert [row["项目编号"] for row in sheet_rows(ledger, "节点清单")] == ["ZD2026-001"]
    assert rendered.projects == 1
    text = html_to_plain(rendered.text)
    assert "1 个重点项目" in text and NEW not in text and "区交通局" not in text
    assert "台账截至" not in text  # nor is its base one the week's figures cannot split
    # the lead official of the new project gets no digest for a week his project was not in
    assert sorted(len(parts) > 0 for parts in rendered.leaders.values()) == [True]


async def test_a_project_added_after_a_month_is_not_in_its_word_bulletin(db: Database, district: District,
                                                                          tmp_path: Path) -> None:
    await _district(district)

    rendered = await bulletin(db, parse_period("monthly", "2026-11"), tmp_path)  # NEW came in on 25 November
    earlier = await bulletin(db, parse_period("monthly", "2026-10"), tmp_path / "10")

    assert rendered.projects == 2
    words = "\n".join(p.text for p in Document(str(earlier.files["document"])).paragraphs)
    assert "ZD2026-001" in words and NEW not in words
    cells = "\n".join(c.text for t in Document(str(earlier.files["document"])).tables for r in t.rows for c in r.cells)
    assert earlier.projects == 1 and NEW not in cells and "区交通局" not in cells


async def test_a_past_period_says_how_many_projects_it_leaves_out(db: Database, district: District,
                                                                  tmp_path: Path) -> None:
    """Every form of the bulletin (text, Word, the Excel 说明) says so: one count (storage.entered.ledger_on)."""
    await _district(district)

    week = await bulletin(db, W47, tmp_path / "w47")
    october = await bulletin(db, parse_period("monthly", "2026-10"), tmp_path / "10")
    november = await bulletin(db, parse_period("monthly", "2026-11"), tmp_path / "11")  # NEW in it

    text, words, sheet = bulletin_notes(week)
    assert LEFT_OUT.format("11月22日") in text and LEFT_OUT.format("11月22日") in sheet
    assert [LEFT_OUT.format("10月31日")] * 3 == [[n for n in notes if "录入台账" in n][0]
                                                for notes in bulletin_notes(october)]
    assert not [n for notes in bulletin_notes(november) for n in notes if "录入台账" in n]
    async with db.session() as session:
        assert await ledger_on(session, CUTOFF) == LedgerOn(listed=1, later=1)
        assert await ledger_on(session, date(2026, 11, 25)) == LedgerOn(listed=2, later=0)
        assert await first_entered(session) == date(2026, 1, 5)


async def test_a_period_before_the_ledger_had_any_project_gets_no_bulletin(db: Database, district: District) -> None:
    """2026-W01 (cut off on Sunday 4 January) was over before the first project came in on Monday 5 January:
    refused, saying when the first came in; the week after lists it."""
    await _district(district)
    w01 = parse_period("weekly", "2026-W01")

    async with db.session() as session:
        assert await why_not(session, w01, today=date(2026, 12, 7)) == NO_PROJECTS
        assert await why_not(session, parse_period("weekly", "2026-W02"), today=date(2026, 12, 7)) is None
        words = Renderer().plain("bulletin_refused", **await refused_words(session, w01, NO_PROJECTS,
                                                                           scheduled=False))
    assert words == ("2026-W01 无项目：截至 2026-01-04，台账中还没有任何项目（首个项目于 2026-01-05 录入），"
                     "周通报无项目可列，不予生成。")


async def test_a_project_added_after_the_weeks_has_no_reporting_line(db: Database, district: District) -> None:
    await _district(district)

    async with db.session() as session:
        part = await load_participation(session, cutoff=CUTOFF, calendar=WorkCalendar())
        later = await load_participation(session, cutoff=CUTOFF + timedelta(days=7), calendar=WorkCalendar())

    assert [row.name for row in part.units] == ["区住建局"]
    assert [row.name for row in part.liaisons] == ["甲"]
    assert sorted(row.name for row in later.units) == ["区交通局", "区住建局"]  # its own week: listed, owing


async def test_a_project_added_after_a_half_month_is_not_in_its_document(db: Database, district: District,
                                                                         tmp_path: Path) -> None:
    await _district(district)

    async with db.session() as session:
        compiled = await compile_document(session, Renderer(), half=half_containing(date(2026, 11, 2)),
                                          calendar=WorkCalendar(), out_dir=tmp_path, issued=date(2026, 12, 1))

    assert compiled.owed == 1 and compiled.missing == ["ZD2026-001"]


async def test_the_overview_trend_counts_each_week_the_projects_in_the_ledger_by_its_end(
        db: Database, district: District) -> None:
    await _district(district)

    async with db.session() as session:
        _baseline, daily = await counted_daily(session, year=2026, up_to=date(2026, 11, 29))
        entered = await entered_totals(session, year=2026)
    points = {p.day: p for p in weekly_trend(year=2026, today=date(2026, 11, 29), daily=daily, entered=entered)}

    # W47: ZD2026-001's five reports against its plan alone; the week after, the new project's base and plan too
    assert (points[CUTOFF].done, points[CUTOFF].rate) == (Decimal(50), 0.05)
    assert (points[date(2026, 11, 29)].done, points[date(2026, 11, 29)].rate) == (Decimal(350), 0.175)
