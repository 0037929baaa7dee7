"""The monthly-and-up Word bulletin as a reader sees it: every column of its tables wide enough to read (the
project names were once squeezed into a column of no width), headings kept with what follows them, and the
ranking's names on the page LibreOffice renders."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from docx import Document

from bot.documents import gongwen
from bot.domain.digest_settings import DigestSettings
from bot.domain.periods import parse_period
from bot.domain.workdays import WorkCalendar
from bot.render import Renderer
from jobs.bulletin_render import render_bulletin
from storage.db import Database
from tests.digest.conftest import District, db, district  # noqa: F401 - fixtures
from tests.documents.word_processor import require, to_pdf

TEXT_WIDTH_CM = 15.6  # A4 less the 公文's margins (28 mm and 26 mm)
NOVEMBER = parse_period("monthly", "2026-11")


def test_a_column_without_a_width_keeps_room_when_the_others_ask_for_all() -> None:
    names, widths = gongwen._widths(["名次@1.2", "编号@2.4", "名称", "单位@2.2", "甲@4.9", "乙@4.9"], TEXT_WIDTH_CM)
    assert names == ["名次", "编号", "名称", "单位", "甲", "乙"]
    assert widths[2] == pytest.approx(gongwen.MIN_FREE_CM)
    assert sum(widths) == pytest.approx(TEXT_WIDTH_CM)
    assert widths[0] / widths[1] == pytest.approx(1.2 / 2.4)  # the others narrowed in proportion


def test_widths_that_leave_room_are_kept() -> None:
    _, widths = gongwen._widths(["名次@1.0", "名称", "单位@2.0"], TEXT_WIDTH_CM)
    assert widths == pytest.approx([1.0, TEXT_WIDTH_CM - 3.0, 2.0])


@pytest.fixture
async def document(db: Database, district: District, tmp_path: Path) -> Path:  # noqa: F811
    for number in range(1, 4):
        await district.project(f"ZD2026-00{number}", unit="区自然资源分局", plan="100000", done_before="45000")
    async with db.session() as session:
        rendered = await render_bulletin(session, Renderer(), period=NOVEMBER, calendar=WorkCalendar(),
                                         settings=DigestSettings(), out_dir=tmp_path)
    return rendered.files["document"]


async def test_every_column_of_the_ranking_has_room_and_the_names_are_in_it(document: Path) -> None:
    opened = Document(str(document))
    header = ["名次", "项目编号", "项目名称"]
    ranking = next(t for t in opened.tables if [c.text for c in t.rows[0].cells[:3]] == header)
    widths = [column.width.cm for column in ranking.columns]
    assert min(widths) >= 0.8 and widths[2] >= gongwen.MIN_FREE_CM
    assert sum(widths) <= TEXT_WIDTH_CM + 0.01
    assert [row.cells[2].text for row in ranking.rows[1:]] == ["项目ZD2026-001", "项目ZD2026-002", "项目ZD2026-003"]
    for table in opened.tables:
        assert min(column.width.cm for column in table.columns) >= 0.8


async def test_headings_stay_with_what_follows_them(document: Path) -> None:
    opened = Document(str(document))
    headings = [p for p in opened.paragraphs if p.text[:2] in ("一、", "二、", "三、", "四、")]
    assert len(headings) == 4
    assert all(p.paragraph_format.keep_with_next for p in headings)
    assert opened.paragraphs[1].text == "区重点项目办〔2026〕第11期"


async def test_the_ranking_names_are_on_the_rendered_page(document: Path, tmp_path: Path) -> None:
    require("soffice", "pdftotext")
    pdf = to_pdf(document, tmp_path / "pdf", tmp_path)
    first_page = subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "1", str(pdf), "-"], check=True,
                                capture_output=True, text=True).stdout
    lines = [line for line in first_page.splitlines() if "ZD2026-001" in line]
    assert lines and "ZD2026-001项目ZD2026-" in "".join(lines[0].split())  # the name beside its code (it wraps)


@pytest.mark.filterwarnings("error")  # matplotlib warns of a glyph missing for a control character in a label
async def test_names_with_line_breaks_and_control_characters_make_a_document(
        db: Database, district: District, tmp_path: Path) -> None:  # noqa: F811
    """A name as a ledger cell may hold it (a line break typed with Alt+Enter, a bell or vertical tab pasted from
    Word) used to stop the bulletin: a line break read as a line of the markup, a control character refused by
    Word's XML; in the charts a control character was drawn as a box (the fonts have no glyph for it), and the
    warning, an error here, fails the chart."""
    from sqlalchemy import update

    from storage.models import Project

    names = {"ZD2026-001": "城北高速\n连接线<二期>", "ZD2026-002": "滨江\x07四期|沿江路", "ZD2026-003": "名城\x0b二期"}
    for code in names:
        await district.project(code, unit="区自然资源分局", plan="100000", done_before="45000")
    async with db.session() as session:
        for code, name in names.items():
            await session.execute(update(Project).where(Project.code == code).values(name=name))
        rendered = await render_bulletin(session, Renderer(), period=NOVEMBER, calendar=WorkCalendar(),
                                         settings=DigestSettings(), out_dir=tmp_path)
    assert not rendered.failed and {"chart", "units", "document"} <= set(rendered.files)
    opened = Document(str(rendered.files["document"]))
    text = "\n".join(p.text for p in opened.paragraphs)
    assert "ZD2026-001 城北高速 连接线<二期>，完成率" in text  # the warned projects, one paragraph each
    assert "ZD2026-002 滨江四期｜沿江路，完成率" in text and "ZD2026-003 名城 二期，完成率" in text


def test_the_ledger_keeps_a_text_cell_on_one_line_without_control_characters() -> None:
    from bot.ledger.cells import text_value

    assert text_value(" 城北高速\n连接线\x0b二期\x07 ") == "城北高速 连接线 二期"
    assert text_value("\u202a区住建局\u202c") == "区住建局" and text_value(" \x07 ") is None
