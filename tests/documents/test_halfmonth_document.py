"""The half-monthly report as the office files it: `diaodu digest halfmonth --dry-run --out DIR` writes a
.docx that python-docx opens with the 公文's parts (title, 文号, headings 一、/(一)/1．, the figures table,
page numbers), and that LibreOffice turns into PDF pages that show Chinese text, looked at as pictures.

LibreOffice (Debian's libreoffice-writer) and poppler-utils are installed by .ci/run; elsewhere the picture
test is skipped when they are missing.
"""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest
from docx import Document
from PIL import Image

from bot.__main__ import main
from bot.documents import gongwen
from tests.digest.test_digest_jobs import cli_database  # noqa: F401 - fixture
from tests.documents.word_processor import require, to_pdf

TITLE = "关于2026年11月下半月全区重点项目建设进展情况的报告"


def _tools() -> None:
    require("soffice", "pdftoppm", "pdftotext", "pdfinfo")


@pytest.fixture
def document(cli_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:  # noqa: F811
    out = tmp_path / "out"
    assert main(["digest", "halfmonth", "--period", "2026-11-20", "--dry-run", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2026年11月下半月半月报已汇总" in printed and "已写入" in printed
    return out / "半月报-2026-11-16.docx"


def test_the_document_has_the_parts_of_a_government_document(document: Path) -> None:
    opened = Document(str(document))
    paragraphs = [p.text for p in opened.paragraphs if p.text.strip()]
    assert paragraphs[0] == TITLE
    assert paragraphs[1] == "区重点项目办〔2026〕第22期"
    # Nothing was sent (a dry run on a fresh ledger): no section of progress, and each project named once, in
    # the section on who did not send, which takes the next number.
    assert [p for p in paragraphs if p[:2] in ("一、", "二、", "三、")] == ["一、总体情况", "二、未报送情况"]
    assert not [p for p in paragraphs if p.startswith("（") and "ZD2026-" in p]
    [missing] = [p for p in paragraphs if p.startswith("以下") and "未报送半月报" in p]
    [table] = opened.tables
    assert [cell.text for cell in table.rows[0].cells][:3] == ["序号", "项目编号", "项目名称"]
    # In the ledger since January, nothing reported: none of the half-month's 11 working days has a report; nor
    # is a project without a plan for the year shown with a plan of 0.
    rows = [[cell.text for cell in row.cells] for row in table.rows[1:]]
    assert {row[7] for row in rows} == {"0/11"}
    assert all(row[4] == "—" for row in rows if row[6] == "—") and any(row[6] == "—" for row in rows)
    codes = [row[1] for row in rows]
    assert len(codes) > 30 and missing.startswith(f"以下{len(codes)}个项目本期未报送半月报：")  # still being built
    assert all(missing.count(f"{code} ") == 1 for code in codes) and "（牵头单位：" in missing
    # Days reported of days due, "10/11", on one line: in a column of 1.2 cm LibreOffice broke it into "10/1" and "1".
    assert table.rows[0].cells[7].text == "已报/应报（天）" and table.columns[7].width.cm >= 1.6
    section = opened.sections[0]
    assert round(section.page_width.mm) == 210 and round(section.left_margin.mm) == 28
    with zipfile.ZipFile(document) as archive:
        footers = [archive.read(name).decode() for name in archive.namelist() if name.startswith("word/footer")]
    assert any("PAGE" in xml and "fldChar" in xml for xml in footers)
    title_run = opened.paragraphs[0].runs[0]
    assert title_run.font.size.pt == 22


def test_the_pages_render_with_chinese_text(document: Path, tmp_path: Path) -> None:
    _tools()
    pdf = to_pdf(document, tmp_path / "pdf", tmp_path)
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages >= 3  # the table of 42 projects, then those not sent
    text = "".join(subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                                  text=True).stdout.split())
    assert TITLE in text and "一、总体情况" in text and "ZD2026-001" in text
    assert "—2—" in text  # the page number field, filled in by the word processor
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "2", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    for picture in sorted(tmp_path.glob("page-*.png")):
        with Image.open(picture) as image:
            gray = image.convert("L")
            dark = sum(gray.histogram()[:128])
            assert dark > gray.width * gray.height * 0.005, f"{picture.name} looks blank"


def test_markup_mistakes_are_template_bugs() -> None:
    with pytest.raises(ValueError, match="unknown block"):
        gongwen.parse("heading|一、总体情况")
    with pytest.raises(ValueError, match="outside a table"):
        gongwen.parse("row|1|2")
    blocks = gongwen.parse("p|A &amp; B|C\n\ntable|x|y\nrow|1|2\nrow|3|4")
    assert blocks[0].text == "A & B|C" and blocks[1].rows == [["1", "2"], ["3", "4"]]
