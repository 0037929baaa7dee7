"""The web pages' charts (bot.web.charts) speak as the pages do: the months on the year's trend chart are 1月 …
12月, level, as on a project's chart, not matplotlib's 2026-01."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from bot.domain.trend import TrendPoint
from bot.web.charts import trend_svg


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
