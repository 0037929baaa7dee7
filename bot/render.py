"""Jinja2 rendering of every user-facing text, escaped, and conversion of the HTML to other formats."""

from __future__ import annotations

import functools
import html
from datetime import date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.clock import to_local
from bot.domain import labels
from bot.domain.amounts import format_wan, has_unit, in_chinese_numerals, plain_wan
from bot.domain.escalation import LEVEL_NAMES
from bot.domain.limits import preview
from bot.domain.messages import one_line
from bot.domain.rounding import one_decimal, percent, tenths
from bot.domain.sentence_end import ends_sentence

ROLE_LABELS = labels.ROLES
LIGHT_LABELS = {"green": "🟢", "yellow": "🟡", "red": "🔴", "none": "⚪"}


def wan_or_dash(value: Decimal | int | None) -> str:
    """万元 with thousands separators and one decimal (12,000.0), or a dash when unknown."""
    return "—" if value is None else format_wan(Decimal(value))


def format_pct(fraction: float | None) -> str:
    """A fraction as a percentage with one decimal, rounded as the Excel ledger shows it
    (bot.domain.rounding): 0.625 → 62.5%"""
    return "—" if fraction is None else f"{percent(fraction):.1f}%"


def format_points(points: float | None) -> str:
    """A gap in percentage points with its sign: +3.2 / -12.0 个百分点 (rounded as the ledger shows it)"""
    return "—" if points is None else f"{one_decimal(points):+.1f}"


def format_delta(points: float | None) -> str:
    """A change with its sign, one decimal, the minus written as such: +4.2 / −1.3 / 0.0 (— when unknown)."""
    if points is None:
        return "—"
    shown = f"{one_decimal(abs(points)):.1f}"
    if shown == "0.0":
        return shown
    return ("+" if points > 0 else "\u2212") + shown


def format_time(value: datetime | None) -> str:
    return "—" if value is None else to_local(value).strftime("%Y-%m-%d %H:%M")


def markup_cell(text: object) -> str:
    """A table cell of the Word documents' line markup (bot.documents.gongwen): one line, and its ``|``
    separator written full-width (a name on one line: :func:`bot.domain.messages.one_line`)."""
    return one_line(str(text)).replace("|", "｜")


def format_date(value: date | None) -> str:
    return "—" if value is None else value.isoformat()


class Renderer:
    """Renders templates from bot/templates with autoescape and strict undefined variables."""

    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("bot", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,  # templates ship with the code: no stat() per render
        )
        self.env.filters.update(
            wan=wan_or_dash, pct=format_pct, points=format_points, delta=format_delta, time=format_time,
            day=format_date,
            role=lambda r: ROLE_LABELS.get(r, r), light=lambda s: LIGHT_LABELS.get(s, ""), has_unit=has_unit,
            chinese_numerals=in_chinese_numerals, plain_wan=plain_wan,
            preview=preview, cell=markup_cell, tenths=tenths, ends_sentence=ends_sentence,
            bulletin_code=lambda code: tuple(str(code).partition(":")[::2]),  # "weekly:2026-W41": (kind, period)
        )

        self.env.globals["code_labels"] = labels  # the Chinese words for code names (audit, histories)
        self.env.globals["level_names"] = LEVEL_NAMES  # 责任单位, 包抓领导, 区长, 区委书记/领导小组: in full

    def render(self, template: str, **context: Any) -> str:
        return self.env.get_template(f"{template}.j2").render(**context).strip()

    def plain(self, template: str, **context: Any) -> str:
        """A template as plain text, for the terminal: the HTML subset stripped, what users typed as typed."""
        return html_to_plain(self.render(template, **context)).strip()

    def phrase(self, template: str, macro: str, /, *args: Any, **kwargs: Any) -> str:
        """One macro of a template (a chart's title, a sheet's header…) as plain text, as ``plain`` gives it."""
        made = getattr(self.env.get_template(f"{template}.j2").module, macro)(*args, **kwargs)
        return html_to_plain(str(made)).strip()

    def words(self, template: str, name: str) -> Any:
        """A table of words a template exports (``{% set headers = {…} %}``): a workbook's sheet names, headers."""
        return getattr(self.env.get_template(f"{template}.j2").module, name)


@functools.cache
def shared_renderer() -> Renderer:
    """The process's renderer for the texts made where none is handed down (what the command line prints, the
    charts' labels, the workbooks' headers): the templates compiled once per process, rendered from any thread."""
    return Renderer()


def label(name: str, /, *args: Any) -> str:
    """The words of a button, by its macro in buttons.j2."""
    return shared_renderer().phrase("buttons", name, *args)


class _PlainText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")


def html_to_plain(text: str) -> str:
    """Strip the Telegram HTML subset to plain text (console)."""
    parser = _PlainText()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


def escape(text: str) -> str:
    return html.escape(text, quote=False)
