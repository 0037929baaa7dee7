"""The web pages' charts (bot.web.charts) speak as the pages do: the months on the year's trend chart are 1月 …
12月, level, as on a project's chart, not matplotlib's 2026-01."""

from __future__ import annotations

import re
import warnings
from datetime import date, timedelta
from decimal import Decimal
from xml.etree import ElementTree

from bot.domain.node_lists import TimelineNode
from bot.domain.trend import MonthPoint, TrendPoint
from bot.web.charts import project_svg, trend_svg


def texts(svg: bytes) -> list[str]:
    """The texts of an SVG matplotlib drew (glyphs as paths, each text named in a comment before them)."""
    return re.findall(r"<!-- (.*?) -->", svg.decode())


def test_the_trend_charts_months_are_named_in_chinese() -> None:
    weeks = [TrendPoint(date(2026, 1, 4) + timedelta(weeks=i), Decimal(i), 0.01 * i, 0.019 * i) for i in range(47)]
    words = texts(trend_svg(weeks, title="2026 年度完成率与序时进度（按周）"))
    assert [w for w in words if w.endswith("月")] == [f"{m}月" for m in range(1, 12)]  # up to the last week's month
    assert not [w for w in words if re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", w)]


def test_a_trend_of_a_few_weeks_names_only_their_months() -> None:
    weeks = [TrendPoint(date(2026, 2, 1) + timedelta(weeks=i), Decimal(i), 0.02 * i, 0.08 + 0.019 * i)
             for i in range(6)]
    words = texts(trend_svg(weeks, title="2026"))
    assert [w for w in words if w.endswith("月")] == ["2月", "3月"]


def test_a_node_name_with_control_characters_is_drawn_on_one_line_without_them() -> None:
    """A node's name as an old import may have stored it: matplotlib warned of the glyph missing for the bell,
    and the SVG would carry a character XML does not allow."""
    node = TimelineNode(name="主体\x07结构\n封顶", planned_on=date(2026, 6, 30), done_on=None, state="planned",
                        mark="◇", days_late=0)
    months = [MonthPoint(m, Decimal(10 * m), Decimal(12 * m)) for m in range(1, 7)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svg = project_svg(months, title="ZD2026-001 2026 年", year=2026, nodes=[node])
    ElementTree.fromstring(svg)  # well-formed XML
    assert any("主体结构 封顶" in word for word in texts(svg)), texts(svg)
