"""The web pages' charts as SVG, drawn on our side with matplotlib (nothing is loaded from elsewhere): the
year's completion against 序时进度 by week, and a project's cumulative done against its plan by month.
Each call builds its own Figure (thread-safe, no pyplot); texts use the bulletin charts' CJK font."""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import PercentFormatter

from bot.chart import FALLBACK_FAMILY, chart_font, literal_text
from bot.domain.trend import MonthPoint, TrendPoint

BLUE, GREY, ORANGE = "#1f6fb2", "#8a8f98", "#e07b00"


def _font(size: float) -> FontProperties:
    return FontProperties(family=[chart_font().family, FALLBACK_FAMILY], size=size)


def _svg(fig: Figure) -> bytes:
    literal_text(fig)
    buffer = io.BytesIO()
    FigureCanvasSVG(fig).print_svg(buffer)
    return buffer.getvalue()


def trend_svg(points: Sequence[TrendPoint], *, title: str) -> bytes:
    """Completion rate and 序时进度 at each week's end."""
    fig = Figure(figsize=(8, 3.2), dpi=100)
    ax = fig.add_subplot()
    days = [p.day for p in points]
    ax.plot(days, [p.schedule for p in points], color=GREY, linestyle="--", label="序时进度")
    ax.plot(days, [p.rate if p.rate is not None else float("nan") for p in points], color=BLUE, marker=".",
            label="年度完成率")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title, fontproperties=_font(11))
    ax.legend(prop=_font(9), loc="upper left")
    for label in ax.get_xticklabels() + ax.get_yticklabels():
        label.set_fontproperties(_font(8))
    fig.autofmt_xdate()
    fig.tight_layout()
    return _svg(fig)


def project_svg(points: Sequence[MonthPoint], *, title: str) -> bytes:
    """Cumulative done (bars) against the plan as 序时 asks (line), 万元, by month."""
    fig = Figure(figsize=(8, 3.2), dpi=100)
    ax = fig.add_subplot()
    months = [p.month for p in points]
    ax.bar(months, [float(p.done) if p.done is not None else 0.0 for p in points], color=BLUE, label="累计完成")
    if any(p.planned is not None for p in points):
        ax.plot(months, [float(p.planned) if p.planned is not None else float("nan") for p in points],
                color=ORANGE, marker=".", label="按序时应完成")
    ax.set_xticks(months, [f"{m}月" for m in months])
    ax.set_ylabel("万元", fontproperties=_font(9))
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title, fontproperties=_font(11))
    ax.legend(prop=_font(9), loc="upper left")
    for label in ax.get_xticklabels() + ax.get_yticklabels():
        label.set_fontproperties(_font(8))
    fig.tight_layout()
    return _svg(fig)
