"""The lists of a monthly bulletin read alike in its text and its Word document: a list one line longer than
the two ends is shown whole (not cut with one line missing), the projects not started come longest overdue
first, and problem handling names the units with something in the period, in the same order, under a 全区 line
(a row in Word) that is their sum."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from docx import Document

from bot.domain.digest_settings import DigestSettings
from bot.domain.periods import Period, parse_period
from bot.domain.workdays import WorkCalendar
from bot.render import Renderer, html_to_plain
from jobs.bulletin_render import Rendered, render_bulletin
from storage.db import Database

from .conftest import District, local

NOVEMBER = parse_period("monthly", "2026-11")


async def _november(db: Database, out: Path, period: Period = NOVEMBER) -> Rendered:
    async with db.session() as session:
        return await render_bulletin(session, Renderer(), period=period, calendar=WorkCalendar(),
                                     settings=DigestSettings(), out_dir=out)


def _table(path: Path, first_header: str) -> list[list[str]]:
    for table in Document(str(path)).tables:
        if table.rows[0].cells[0].text == first_header:
            return [[c.text for c in row.cells] for row in table.rows[1:]]
    return []


async def test_a_ranking_one_longer_than_its_ends_is_shown_whole(db: Database, district: District,
                                                                   tmp_path: Path) -> None:
    for number in range(1, 42):  # 41 ranked: the first 20, the last 20 and the one between
        await district.project(f"ZD2026-{number:03d}", plan="1000", done_before=str(number * 10))
    whole = await _november(db, tmp_path / "41")
    rows = _table(whole.files["document"], "名次")
    assert [r[1] for r in rows] == [f"ZD2026-{n:03d}" for n in range(41, 0, -1)]
    paragraphs = [p.text for p in Document(str(whole.files["document"])).paragraphs]
    assert not any("下表列前" in p for p in paragraphs)

    await district.project("ZD2026-042", plan="1000", done_before="420")
    cut = await _november(db, tmp_path / "42")
    rows = _table(cut.files["document"], "名次")
    assert len(rows) == 40 and "ZD2026-021" not in [r[1] for r in rows] and "ZD2026-022" not in [r[1] for r in rows]
    paragraphs = [p.text for p in Document(str(cut.files["document"])).paragraphs]
    assert any("共42个项目参与排名，下表列前20名和后20名" in p for p in paragraphs)


async def test_projects_not_started_come_longest_overdue_first(db: Database, district: District,
                                                                tmp_path: Path) -> None:
    # By the ranking (the highest completion first) the order would be 001, 002, 003.
    for code, done, start in (("ZD2026-001", "300", date(2026, 10, 1)), ("ZD2026-002", "200", date(2026, 3, 1)),
                              ("ZD2026-003", "100", date(2026, 6, 1))):
        await district.project(code, plan="1000", done_before=done, stage="前期", planned_start=start)
    rendered = await _november(db, tmp_path)
    text = html_to_plain(rendered.text)
    assert re.findall(r"(ZD2026-\d{3}) 项目ZD2026-\d{3}（计划", text) == ["ZD2026-002", "ZD2026-003", "ZD2026-001"]
    paragraphs = [p.text for p in Document(str(rendered.files["document"])).paragraphs if "日开工，目前处于" in p.text]
    assert [p.split("．")[1][:10] for p in paragraphs] == ["ZD2026-002", "ZD2026-003", "ZD2026-001"]


async def test_problem_handling_names_the_units_with_something_in_the_period(db: Database, district: District,
                                                                             tmp_path: Path) -> None:
    await district.project("ZD2026-001", plan="1000")
    # Raised and solved in October: nothing of it in November.
    await district.problem("ZD2026-001", unit="区水务局", raised=local(date(2026, 10, 9)),
                           due=local(date(2026, 10, 20)), status="closed",
                           events=(("closed", local(date(2026, 10, 12))),))
    await district.problem("ZD2026-001", unit="区住建局", raised=local(date(2026, 11, 3)),
                           due=local(date(2026, 12, 4)))  # raised, not overdue
    for day in (date(2026, 11, 4), date(2026, 11, 5)):  # raised, one overdue, one solved in time
        await district.problem("ZD2026-001", unit="区工信局", raised=local(day), due=local(date(2026, 11, 10)))
    await district.problem("ZD2026-001", unit="区工信局", raised=local(date(2026, 11, 6)),
                           due=local(date(2026, 11, 20)), status="closed",
                           events=(("closed", local(date(2026, 11, 9))),))
    rendered = await _november(db, tmp_path)
    lines = re.findall(r"^(\S+)：(\d+) / (\d+) / (\d+)$", html_to_plain(rendered.text), re.MULTILINE)
    assert lines == [("全区", "4", "1", "2"), ("区工信局", "3", "1", "2"), ("区住建局", "1", "0", "0")]
    assert _table(rendered.files["document"], "责任单位") == [list(line) for line in lines]


async def test_the_annual_edition_heads_its_units_as_its_text_does(db: Database, district: District,
                                                                   tmp_path: Path) -> None:
    await district.project("ZD2026-001", plan="1000", done_before="500")
    annual = await _november(db, tmp_path, parse_period("annual", "2026"))
    assert "牵头单位考核得分" in annual.text
    headings = [p.text for p in Document(str(annual.files["document"])).paragraphs if p.text[1:2] == "、"]
    assert "三、牵头单位考核得分" in headings and not any("综合得分" in h for h in headings)
