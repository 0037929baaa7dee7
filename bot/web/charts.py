"""The web pages' charts as SVG, drawn on our side with matplotlib (nothing is loaded from elsewhere): the
year's completion against 序时进度 by week, and a project's cumulative done against its plan by month with its
milestones (节点) on a timeline below: ◇ planned, ◆ done, red when overdue or done late. Each marker is an SVG
group with an id saying its state (``node-overdue-2``), for tests and for styling.
Each call builds its own Figure (thread-safe, no pyplot); texts use the bulletin charts' CJK font."""

from __future__ import annotations

import calendar
import io
from collections.abc import Sequence
from datetime import date, timedelta

from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import PercentFormatter

from bot.chart import FALLBACK_FAMILY, chart_font, chart_words, literal_text
from bot.domain.messages import one_line
from bot.domain.node_lists import TimelineNode
from bot.domain.trend import MonthPoint, TrendPoint

BLUE, GREY, ORANGE, RED = "#1f6fb2", "#8a8f98", "#e07b00", "#d62728"


def _font(size: float) -> FontProperties:
    return FontProperties(family=[chart_font().family, FALLBACK_FAMILY], size=size)


def _svg(fig: Figure) -> bytes:
    literal_text(fig)
    buffer = io.BytesIO()
    FigureCanvasSVG(fig).print_svg(buffer)
    return buffer.getvalue()


# A phone's variant of each chart (``narrow``): half as wide, so that on a 390 px screen its words are as big as
# the page's small print rather than a third of it; every other month named.
WIDE, NARROW = 8.0, 4.0


def trend_svg(points: Sequence[TrendPoint], *, title: str, narrow: bool = False) -> bytes:
    """Completion rate and 序时进度 at each week's end."""
    fig = Figure(figsize=(NARROW if narrow else WIDE, 3.2), dpi=100)
    ax = fig.add_subplot()
    days = [p.day for p in points]
    ax.plot(days, [p.schedule for p in points], color=GREY, linestyle="--", label=chart_words("trend_schedule"))
    ax.plot(days, [p.rate if p.rate is not None else float("nan") for p in points], color=BLUE, marker=".",
            label=chart_words("trend_rate"))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title, fontproperties=_font(11))
    ax.legend(prop=_font(9), loc="upper left")
    if days:  # the months by their Chinese names (1月 …), on their first day, level: not 2026-01 slanted
        every = 2 if narrow else 1
        ticks = [date(y, m, 1) for y in range(days[0].year, days[-1].year + 1) for m in range(1, 13, every)
                 if days[0] - timedelta(days=10) <= date(y, m, 1) <= days[-1]]
        ax.set_xticks(ticks, [chart_words("month", t.month) for t in ticks])
    for label in ax.get_xticklabels() + ax.get_yticklabels():
        label.set_fontproperties(_font(8))
    fig.tight_layout()
    return _svg(fig)


def project_svg(points: Sequence[MonthPoint], *, title: str, year: int | None = None,
                nodes: Sequence[TimelineNode] = (), narrow: bool = False) -> bytes:
    """Cumulative done (bars, each an SVG group ``done-<month>``) against the plan as 序时 asks (line), 万元, by
    month, no bar for a month a ledger base blurs (``MonthPoint.blurred``: the page says why); with ``nodes``,
    the nodes of ``year`` on a timeline under the months (◇ planned, ◆ done, red when behind)."""
    shown = [n for n in nodes if year is not None and n.planned_on.year == year]
    fig = Figure(figsize=(NARROW if narrow else WIDE, 4.2 if shown else 3.2), dpi=100)
    if shown:
        ax, strip = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    else:
        ax, strip = fig.add_subplot(), None
    months = [p.month for p in points]
    given = [p for p in points if p.done is not None]  # not the months to come, nor those a ledger base blurs
    bars = ax.bar([p.month for p in given], [float(p.done) for p in given if p.done is not None], color=BLUE,
                  label=chart_words("done"))
    for point, bar in zip(given, bars.patches, strict=True):
        bar.set_gid(f"done-{point.month}")
    if any(p.planned is not None for p in points):
        ax.plot(months, [float(p.planned) if p.planned is not None else float("nan") for p in points],
                color=ORANGE, marker=".", label=chart_words("planned"))
    ax.set_xticks(months, [chart_words("month", m) if not narrow or m % 2 else "" for m in months])
    ax.set_ylabel(chart_words("wan"), fontproperties=_font(9))
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title, fontproperties=_font(11))
    ax.legend(prop=_font(9), loc="upper left")
    if strip is not None:
        _node_strip(strip, shown)
        ax.tick_params(labelbottom=True)
    for axes in fig.axes:
        for label in axes.get_xticklabels() + axes.get_yticklabels():
            label.set_fontproperties(_font(8))
    fig.tight_layout()
    return _svg(fig)


def _month_position(day: date) -> float:
    """Where a day falls on the months' axis (month m's bar is centred on m)."""
    return day.month - 0.5 + (day.day - 0.5) / calendar.monthrange(day.year, day.month)[1]


def _node_strip(ax: Axes, nodes: Sequence[TimelineNode]) -> None:
    """The nodes as diamonds on one line, their names above and below in turn so that neighbours do not
    overlap: hollow ◇ planned, filled ◆ done, red when overdue or done late."""
    ax.axhline(0, color=GREY, linewidth=0.8)
    for index, node in enumerate(nodes):
        colour = RED if node.behind else BLUE
        x = _month_position(node.planned_on)
        done = node.state in ("done", "late")
        (marker,) = ax.plot([x], [0], marker="D", markersize=8, linestyle="none", markeredgecolor=colour,
                            markerfacecolor=colour if done else "white", clip_on=False)
        marker.set_gid(f"node-{node.state}-{index}")
        above = index % 2 == 0
        name = chart_words("node", one_line(node.name), node.state == "overdue")
        ax.annotate(name, (x, 0), xytext=(0, 9 if above else -9), textcoords="offset points", ha="center",
                    va="bottom" if above else "top", color=colour, fontproperties=_font(8))
    ax.set_ylim(-1, 1)
    ax.set_xlim(0.3, 12.7)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_ylabel(chart_words("nodes"), fontproperties=_font(9), rotation=0, labelpad=14, va="center")
