"""Word documents laid out as a government document (公文, after GB/T 9704): A4 with its margins, the title
in 小标宋 二号, the 文号 line, headings 一、 (黑体) / (一) (楷体) / 1. (仿宋, bold), body text in 仿宋 三号 at a
fixed 28-point line, tables of figures, and page numbers 「— 1 —」 in the footer.

The text comes from a Jinja2 template rendered to a small line markup (``parse``), so every word people
read stays in bot/templates. Fonts are named as offices install them (方正小标宋简体, 黑体, 楷体_GB2312,
仿宋_GB2312); where one is missing, Word and LibreOffice substitute the system's Chinese font (on a server
with only WenQuanYi Micro Hei, every face becomes that one: the layout holds, the faces do not).

Markup, one block per line, ``tag|text``: ``title``, ``docno``, ``h1``, ``h2``, ``h3``, ``p`` (a body
paragraph), ``to`` (the addressee line, not indented), ``sign``
(right-aligned signature or date lines), ``table|header|header…`` (``smalltable|…``: in 小五 rather than
五号, for a table of many columns) then ``row|cell|…`` lines; a header may end in ``@`` and a width in
centimetres (``项目名称@3.9``), else the columns share what
the others leave. Text arrives HTML-escaped (templates escape what users typed) and is unescaped here, without
the control characters Word cannot hold (a name imported before the ledger was cleaned of them).
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, field
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Emu, Mm, Pt, RGBColor
from docx.text.run import Run

from bot.domain.messages import clean_text

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEADING_FONTS = {"h1": "黑体", "h2": "楷体_GB2312", "h3": "仿宋_GB2312"}
LATIN_FONT = "Times New Roman"
BODY_SIZE = Pt(16)  # 三号
TITLE_SIZE = Pt(22)  # 二号
TABLE_SIZE = Pt(10.5)  # 五号: a table of figures in 三号 would not fit the page
SMALL_TABLE_SIZE = Pt(9)  # 小五: a table of many columns (the ranking), so that its names keep room
LINE = Pt(28)
MIN_FREE_CM = 2.5  # the least a column without a given width (a name) gets: six characters of 五号 a line
TAGS = ("title", "docno", "to", "h1", "h2", "h3", "p", "sign", "table", "smalltable", "row")
TABLES = ("table", "smalltable")


@dataclass
class Block:
    """One block of the document: a paragraph of some kind, or a table (header cells then rows)."""

    tag: str
    text: str = ""
    cells: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def parse(markup: str) -> list[Block]:
    """The blocks of a rendered template; blank lines are skipped, a ``row`` joins the table above it, and
    an unknown tag is an error (a template bug, not something to print)."""
    blocks: list[Block] = []
    for number, line in enumerate(markup.splitlines(), start=1):
        if not line.strip():
            continue
        tag, _, rest = line.strip().partition("|")
        if tag not in TAGS:
            raise ValueError(f"line {number}: unknown block {tag!r}")
        if tag == "row":
            if not blocks or blocks[-1].tag not in TABLES:
                raise ValueError(f"line {number}: a row outside a table")
            blocks[-1].rows.append([_text(cell) for cell in rest.split("|")])
        elif tag in TABLES:
            blocks.append(Block(tag, cells=[_text(cell) for cell in rest.split("|")]))
        else:
            blocks.append(Block(tag, _text(rest)))
    return blocks


def _text(escaped: str) -> str:
    return clean_text(html.unescape(escaped))


def _east_asian(run: Run, font: str) -> None:
    """Give a run its Chinese face (python-docx's ``font.name`` sets only the Latin ones)."""
    run.font.name = LATIN_FONT
    run.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)


def _paragraph(document, text: str, *, font: str = BODY_FONT, size: Pt = BODY_SIZE,  # type: ignore[no-untyped-def]
               bold: bool = False, align: WD_ALIGN_PARAGRAPH | None = None, indent: bool = True,
               heading: bool = False) -> None:
    paragraph = document.add_paragraph()
    fmt = paragraph.paragraph_format
    if heading:
        fmt.keep_with_next = True  # a heading never ends a page with its text on the next
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE if size <= BODY_SIZE else Pt(size.pt + 10)
    fmt.space_before = fmt.space_after = Pt(0)
    if indent and align is None:
        fmt.first_line_indent = Pt(size.pt * 2)  # 首行缩进两字
    if align is not None:
        paragraph.alignment = align
    run = paragraph.add_run(text)
    run.font.size = size
    run.bold = bold
    _east_asian(run, font)


def _widths(headers: list[str], total: float) -> tuple[list[str], list[float]]:
    """The header texts and each column's width in cm (``名称@3.9``; the rest share what is left).

    A column without a width (a name, that wraps) gets at least ``MIN_FREE_CM``: when the given widths leave
    less, they are narrowed in proportion, so that no column is squeezed to nothing and the table keeps to
    the text width."""
    names, given = [], []
    for header in headers:
        name, _, width = header.rpartition("@") if "@" in header else (header, "", "")
        names.append(name)
        given.append(float(width) if width else None)
    free = [w for w in given if w is None]
    fixed = sum(w for w in given if w is not None)
    if free and total - fixed < MIN_FREE_CM * len(free) and fixed > 0:
        scale = max(total - MIN_FREE_CM * len(free), 0.0) / fixed
        given = [None if w is None else w * scale for w in given]
        fixed = sum(w for w in given if w is not None)
    share = max(total - fixed, 0.0) / len(free) if free else 0.0
    return names, [share if w is None else w for w in given]


def _table(document, block: Block, text_width_cm: float) -> None:  # type: ignore[no-untyped-def]
    headers, widths = _widths(block.cells, text_width_cm)
    table = document.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Cm(width)  # the grid LibreOffice lays out by; Word reads the cells' widths below
    for row_cells, texts, bold in [(table.rows[0].cells, headers, True),
                                   *[(table.add_row().cells, row, False) for row in block.rows]]:
        for cell, text, width in zip(row_cells, texts, widths, strict=False):
            cell.width = Cm(width)
            paragraph = cell.paragraphs[0]
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            paragraph.paragraph_format.keep_with_next = bold  # the header row stays with the first row
            run = paragraph.add_run(text)
            run.font.size = SMALL_TABLE_SIZE if block.tag == "smalltable" else TABLE_SIZE
            run.bold = bold
            _east_asian(run, "黑体" if bold else BODY_FONT)


def _field(paragraph, instruction: str) -> None:  # type: ignore[no-untyped-def]
    """A field (PAGE) the word processor fills in: begin, instruction, end, each in a run of its own."""
    for kind in ("begin", None, "end"):
        run = paragraph.add_run()
        run.font.size = Pt(14)
        _east_asian(run, "宋体")
        if kind is None:
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = f" {instruction} "
        else:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        run.element.append(element)


def _page_numbers(section) -> None:  # type: ignore[no-untyped-def]
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for text in ("— ", None, " —"):
        if text is None:
            _field(paragraph, "PAGE")
        else:
            run = paragraph.add_run(text)
            run.font.size = Pt(14)
            _east_asian(run, "宋体")


def build(blocks: list[Block], path: Path) -> Path:
    """Write the blocks as a .docx at `path` (its folder is created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_bytes(blocks))
    return path


def to_bytes(blocks: list[Block]) -> bytes:
    """The blocks as the bytes of a .docx file."""
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    _page_numbers(section)
    for block in blocks:
        if block.tag == "title":
            _paragraph(document, block.text, font=TITLE_FONT, size=TITLE_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER)
        elif block.tag == "docno":
            _paragraph(document, block.text, align=WD_ALIGN_PARAGRAPH.CENTER)
            _rule(document)
        elif block.tag in HEADING_FONTS:
            _paragraph(document, block.text, font=HEADING_FONTS[block.tag], bold=block.tag == "h3", heading=True)
        elif block.tag == "to":
            _paragraph(document, block.text, indent=False)
        elif block.tag == "sign":
            _paragraph(document, block.text, align=WD_ALIGN_PARAGRAPH.RIGHT)
        elif block.tag in TABLES:
            _table(document, block, Emu(section.page_width - section.left_margin - section.right_margin).cm)
        else:
            _paragraph(document, block.text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _rule(document) -> None:  # type: ignore[no-untyped-def]
    """The red line under the 文号 (版头分隔线), drawn as a red rule of characters the width of the text."""
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.space_after = Pt(12)
    run = paragraph.add_run("━" * 24)
    run.font.size = Pt(16)
    run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
    _east_asian(run, BODY_FONT)
