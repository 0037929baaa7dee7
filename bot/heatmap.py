"""The 填报率 heat map as PNG bytes: weeks across, lead units (or liaisons) down, each cell the share of the
days a report was due that have one (``bot.domain.participation``), red to green, grey where nothing was due,
hatched and marked 录入前 where nothing was due because the projects were not entered in the bot yet
(``Tally.before_entry``, the rule of the web page's 录入台账前 days); a legend under it names both.

Drawn like the bulletin charts (``bot.chart``): its own Figure on an Agg canvas, the CJK font given to every
text, every text literal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Rectangle

from bot.chart import DPI, FALLBACK_FAMILY, chart_font, chart_words, figure_png, truncate
from bot.domain.participation import Row, Week
from bot.domain.rounding import percent

MAX_ROWS = 60  # rows drawn; the others are counted in the subtitle
NONE_COLOR = "#d9d9d9"
BEFORE_COLOR = "#f4f4f4"  # 录入台账前: paler, hatched
BEFORE_HATCH = "///"
BEFORE_EDGE = "#9a9a9a"
RATES = LinearSegmentedColormap.from_list("rates", ["#d93025", "#f2b705", "#2e9d4a"])


def _props(size: float) -> FontProperties:
    return FontProperties(family=[chart_font().family, FALLBACK_FAMILY], size=size)


def heatmap_figure(rows: Sequence[Row], weeks: Sequence[Week], *, title: str, what: str) -> Figure:
    """``rows`` (drawn in the order given, at most ``MAX_ROWS``) × ``weeks``; ``what`` names the rows
    (牵头单位, 联络员) in the subtitle."""
    shown = list(rows[:MAX_ROWS])
    height = 2.1 + 0.34 * max(len(shown), 3)
    fig = Figure(figsize=(7.5, height), dpi=DPI, layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    fig.suptitle(title, fontproperties=_props(14))
    ax.set_title(chart_words("heatmap_note", len(rows), what, len(shown)), fontproperties=_props(9),
                 color="#555555", loc="left")
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    ax.set_xlim(-0.5, len(weeks) - 0.5)
    ax.set_ylim(max(len(shown), 1) - 0.5, -0.5)  # first row on top
    ax.set_xticks(range(len(weeks)), [chart_words("week", w.start, w.end) for w in weeks], fontproperties=_props(9))
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    ax.set_yticks(range(len(shown)), [truncate(r.name, 24) for r in shown], fontproperties=_props(9))
    if not shown:
        ax.text(0.5, 0.5, chart_words("nothing_due"), transform=ax.transAxes, ha="center", va="center",
                fontproperties=_props(12), color="#777777")
    for y, row in enumerate(shown):
        for x, tally in enumerate(row.weeks):
            rate = tally.rate
            if tally.before_entry:
                ax.add_patch(_before_cell(x, y))
                label = chart_words("heatmap_before_cell")
            else:
                ax.add_patch(_cell(x, y, NONE_COLOR if rate is None else RATES(rate)))
                label = "—" if rate is None else f"{percent(rate)}%"  # as the text gives it: 66.7%, not 67%
            ax.text(x, y, label, ha="center", va="center", fontproperties=_props(8),
                    color="#333333" if rate is None or rate >= 0.35 else "white")
    fig.legend(handles=[_cell(0, 0, NONE_COLOR), _before_cell(0, 0)],
               labels=[chart_words("heatmap_none"), chart_words("heatmap_before")], loc="outside lower left",
               ncols=2, frameon=False, prop=_props(8), handlelength=2.2, handleheight=1.2)
    return fig


def _cell(x: int, y: int, color: object) -> Rectangle:
    return Rectangle((x - 0.48, y - 0.45), 0.96, 0.9, color=color, linewidth=0, gid="cell")


def _before_cell(x: int, y: int) -> Rectangle:
    """A week 录入台账前: a pale hatched cell, unlike a week off's grey."""
    return Rectangle((x - 0.48, y - 0.45), 0.96, 0.9, facecolor=BEFORE_COLOR, edgecolor=BEFORE_EDGE,
                     hatch=BEFORE_HATCH, linewidth=0, gid="cell")


def heatmap_title(what: str, cutoff: date) -> str:
    """The heat map's title, the same in /rank 填报 and the bulletin: whose 填报率, as of which day."""
    return chart_words("heatmap_title", what, cutoff)


def heatmap_chart(rows: Sequence[Row], weeks: Sequence[Week], *, title: str, what: str) -> bytes:
    """PNG of ``heatmap_figure``."""
    return figure_png(heatmap_figure(rows, weeks, title=title, what=what))
