"""Bulletin charts as PNG bytes: the project completion ranking and the unit/town score ranking.

Rendering is headless and thread-safe: each call builds its own ``matplotlib.figure.Figure`` on an
Agg canvas and never touches pyplot or the global rcParams. Every text artist is given the CJK font
explicitly (with DejaVu Sans as per-glyph fallback for the odd symbol).

The CJK font comes from the machine's installed font packages (the project's install steps put
Debian's fonts-wqy-microhei there); nothing is downloaded at run time. When no CJK font can be found,
``ChartFontMissing`` is raised instead of drawing labels as empty boxes.

Long ranking: with more projects than ``top``, the chart shows the best ``ceil(top/2)`` and the worst
``floor(top/2)`` ranked projects with a marked gap row between them, since a bulletin praises the
head and urges the tail. Projects without an annual plan (no rank, no rate) come after the ranked
ones, drawn as an empty grey row marked 无年度计划 when they fit within ``top``; otherwise they are
only counted in the subtitle.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from matplotlib import font_manager, ft2font
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import PercentFormatter

from bot.domain.messages import one_line
from bot.domain.rounding import tenths
from bot.domain.standings import GroupStanding, ProjectStanding, Standings
from bot.domain.text_width import display_width
from bot.render import format_pct, shared_renderer

# Files of Debian's CJK font packages, in order of preference:
# fonts-wqy-microhei, fonts-wqy-zenhei, fonts-noto-cjk, fonts-arphic-ukai/uming, fonts-droid-fallback.
FONT_FILES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
# Family names looked up in matplotlib's font list when none of the files above exists.
FONT_FAMILIES: tuple[str, ...] = (
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
    "Droid Sans Fallback",
)
FALLBACK_FAMILY = "DejaVu Sans"
# A font is only taken if it has a glyph for each of these.
PROBE_TEXT = "重点项目投资完成率排名截至序时进度城北乡镇单位"

LIGHT_COLORS: dict[str, str] = {"green": "#2e9d4a", "yellow": "#f2b705", "red": "#d93025", "none": "#9e9e9e"}
GROUP_COLOR = "#3b78c2"
SCHEDULE_COLOR = "#1f3a5f"
GAP_COLOR = "#777777"

NAME_WIDTH = 28  # display columns (a CJK character counts two) kept of a project or group name
RATE_CAP = 1.5  # bars stop at 150%; the value label still shows the true rate
DPI = 110
WIDTH_IN = 10.0


class ChartFontMissing(RuntimeError):
    """No font with Chinese glyphs is installed, so a chart would show boxes instead of text."""


class CjkFont(NamedTuple):
    family: str
    path: str


def _covers(path: str, text: str = PROBE_TEXT) -> bool:
    try:
        font = ft2font.FT2Font(path)
    except (OSError, RuntimeError, ValueError):
        return False
    return all(font.get_char_index(ord(ch)) != 0 for ch in text)


def find_cjk_font(
    files: Iterable[str] = FONT_FILES, families: Iterable[str] = FONT_FAMILIES, *, scan: bool = True
) -> CjkFont:
    """The first usable CJK font: a known package file, a known family, or (``scan``) any font
    matplotlib knows that covers ``PROBE_TEXT``. Registers a file found by path with matplotlib.
    Raises ``ChartFontMissing`` when there is none."""
    for path in files:
        if Path(path).is_file() and _covers(path):
            font_manager.fontManager.addfont(path)
            return CjkFont(FontProperties(fname=path).get_name(), path)
    entries = font_manager.fontManager.ttflist
    for family in families:
        for entry in entries:
            if entry.name == family and _covers(entry.fname):
                return CjkFont(entry.name, entry.fname)
    if scan:
        for entry in entries:
            if entry.name != FALLBACK_FAMILY and _covers(entry.fname):
                return CjkFont(entry.name, entry.fname)
    raise ChartFontMissing(
        "No font with Chinese glyphs is installed, so charts cannot be drawn. "
        "Install the Debian package fonts-wqy-microhei (run `make fonts`)."
    )


_font_lock = threading.Lock()
_font: CjkFont | None = None


def chart_font() -> CjkFont:
    """The CJK font charts use, found and registered once per process."""
    global _font
    with _font_lock:
        if _font is None:
            _font = find_cjk_font()
        return _font


def _props(size: float, *, weight: str = "normal") -> FontProperties:
    return FontProperties(family=[chart_font().family, FALLBACK_FAMILY], size=size, weight=weight)


def chart_words(macro: str, /, *args: object, **kwargs: object) -> str:
    """One title, label or note of the charts, in the words of bot/templates/chart.j2."""
    return shared_renderer().phrase("chart", macro, *args, **kwargs)


def truncate(text: str, width: int = NAME_WIDTH) -> str:
    """A name as a chart's label: on one line without control characters (:func:`one_line`, which the fonts
    have no glyph for), cut to at most ``width`` display columns, ending in … when cut."""
    text = one_line(text)
    if display_width(text) <= width:
        return text
    kept, used = [], 0
    for ch in text:
        w = display_width(ch)
        if used + w > width - 1:
            break
        kept.append(ch)
        used += w
    return "".join(kept) + "…"


def _pct(fraction: float) -> str:
    return format_pct(fraction)  # rounded as the texts and the Excel ledger (bot.domain.rounding)


def literal_text(fig: Figure) -> None:
    """Make every text of the figure literal: matplotlib would read "$…$" in a ledger's name as a formula
    (and fail the whole chart on an odd one)."""
    for text in fig.findobj(Text):
        text.set_parse_math(False)
        text.set_usetex(False)


def figure_png(fig: Figure) -> bytes:
    """A figure rendered to PNG bytes on its own Agg canvas, every text literal (:func:`literal_text`)."""
    literal_text(fig)
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    canvas.print_png(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class _Row:
    label: str
    value: float | None  # fraction for projects, 0..100 score for groups; None: no bar
    text: str  # value label
    color: str
    gap: bool = False


def _project_order(
    projects: Sequence[ProjectStanding],
) -> tuple[list[ProjectStanding], list[ProjectStanding]]:
    # those sharing a place keep the standings' order (by the exact gap, then code), as the text and ledger list them
    ranked = sorted((p for p in projects if p.rank is not None), key=lambda p: p.rank)
    unranked = sorted((p for p in projects if p.rank is None), key=lambda p: p.code)
    return ranked, unranked


def _project_row(p: ProjectStanding) -> _Row:
    prefix = f"{p.rank}. " if p.rank is not None else ""
    label = f"{prefix}{p.code} {truncate(p.name)}"
    if p.rate is None:
        return _Row(label, None, chart_words("light", "none"), LIGHT_COLORS["none"])
    return _Row(label, p.rate, _pct(p.rate), LIGHT_COLORS.get(p.light, LIGHT_COLORS["none"]))


def _select(projects: Sequence[ProjectStanding], top: int) -> tuple[list[_Row], str]:
    """Rows to draw and a note on what was left out."""
    ranked, unranked = _project_order(projects)
    total = len(ranked) + len(unranked)
    if total <= top:
        return [_project_row(p) for p in ranked + unranked], chart_words("shown", total, None, None, 0)
    if len(ranked) <= top:
        shown = ranked + unranked[: top - len(ranked)]
        return [_project_row(p) for p in shown], chart_words("shown", total, None, None, total - len(shown))
    head, tail = math.ceil(top / 2), top // 2
    omitted = len(ranked) - head - tail
    rows = [_project_row(p) for p in ranked[:head]]
    rows.append(_Row(chart_words("omitted", omitted), None, "", GAP_COLOR, gap=True))
    rows += [_project_row(p) for p in ranked[len(ranked) - tail:]] if tail else []
    return rows, chart_words("shown", total, head, tail, len(unranked))


def _bar_figure(
    rows: Sequence[_Row], *, title: str, subtitle: str, xlabel: str, xmax: float, percent: bool,
    legend: Sequence[tuple[str, object]] = (), empty_text: str | None = None,
) -> tuple[Figure, object]:
    height = 1.9 + 0.32 * max(len(rows), 3)
    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    family = chart_font().family
    fig.suptitle(title, fontproperties=_props(15))
    ax.set_title(subtitle, fontproperties=_props(10), color="#555555", loc="left")
    ax.set_xlabel(xlabel, fontproperties=_props(10))
    ax.tick_params(labelfontfamily=family)
    ax.set_xlim(0, xmax)
    if percent:
        ax.xaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="x", color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)

    if not rows:
        ax.set_yticks([])
        ax.set_ylim(0, 1)
        ax.text(0.5, 0.5, empty_text or chart_words("no_data"), transform=ax.transAxes, ha="center", va="center",
                fontproperties=_props(13), color=GAP_COLOR)
    else:
        ys = list(range(len(rows)))
        widths = [0.0 if r.value is None else min(max(r.value, 0.0), xmax) for r in rows]
        bars = ax.barh(ys, widths, height=0.66, color=[r.color for r in rows])
        for bar, row in zip(bars, rows, strict=True):
            bar.set_label(row.label)
            bar.set_gid("gap" if row.gap else "bar")
        ax.set_yticks(ys, [r.label for r in rows], fontproperties=_props(9))
        for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
            if row.gap:
                tick.set_color(GAP_COLOR)
        ax.set_ylim(len(rows) - 0.5, -0.5)  # first row on top
        pad = xmax * 0.006
        for y, width, row in zip(ys, widths, rows, strict=True):
            if row.text:
                ax.text(width + pad, y, row.text, va="center", ha="left", fontproperties=_props(8),
                        color="#333333" if row.value is not None else GAP_COLOR)
    if legend:
        handles = [h for _, h in legend]
        fig.legend(handles, [name for name, _ in legend], loc="outside lower center", ncols=len(legend),
                   prop=_props(9), frameon=False)
    return fig, ax


def ranking_figure(standings: Standings, *, top: int = 30) -> Figure:
    """The project completion ranking as a Figure (see module docstring for ``top``)."""
    if top < 1:
        raise ValueError("top must be at least 1")
    rows, note = _select(standings.projects, top)
    rates = [r.value for r in rows if r.value is not None]
    xmax = min(max([1.0, standings.schedule, *rates]) * 1.12, RATE_CAP * 1.12)
    schedule_label = chart_words("schedule", standings.schedule)
    present = {p.light for p in standings.projects}
    legend: list[tuple[str, object]] = [
        (chart_words("light", light), Patch(color=LIGHT_COLORS[light])) for light in LIGHT_COLORS if light in present
    ]
    legend.append((schedule_label, Line2D([], [], color=SCHEDULE_COLOR, linestyle="--", linewidth=1.4)))
    fig, ax = _bar_figure(
        rows,
        title=chart_words("ranking_title", standings.cutoff),
        subtitle=f"{standings.period}  {note}" if standings.projects else standings.period,
        xlabel=chart_words("ranking_axis"),
        xmax=xmax,
        percent=True,
        legend=legend,
        empty_text=chart_words("no_projects"),
    )
    ax.axvline(standings.schedule, color=SCHEDULE_COLOR, linestyle="--", linewidth=1.4, gid="schedule")
    ax.set_title(schedule_label, loc="right", fontproperties=_props(10), color=SCHEDULE_COLOR)
    return fig


def ranking_chart(standings: Standings, *, top: int = 30) -> bytes:
    """PNG of the projects' completion rates by rank, coloured by traffic light."""
    return figure_png(ranking_figure(standings, top=top))


def group_figure(groups: Sequence[GroupStanding], title: str) -> Figure:
    """Lead units' or towns' composite scores (0..100) by rank as a Figure; unscored groups last. Groups sharing a
    place keep the standings' order (by the exact score: bot.domain.ranking), as the text and the ledger list them."""
    ordered = sorted((g for g in groups if g.rank is not None), key=lambda g: g.rank)  # stable
    ordered += sorted((g for g in groups if g.rank is None), key=lambda g: g.name)
    rows = []
    for g in ordered:
        prefix = f"{g.rank}. " if g.rank is not None else ""
        label = chart_words("group_label", prefix, truncate(g.name), g.projects)
        if g.score is None:
            rows.append(_Row(label, None, chart_words("no_score"), LIGHT_COLORS["none"]))
        else:
            rows.append(_Row(label, g.score, tenths(g.score), GROUP_COLOR))
    fig, ax = _bar_figure(
        rows, title=title, subtitle=chart_words("groups_shown", len(groups)),
        xlabel=chart_words("score_axis"), xmax=110.0, percent=False,
    )
    ax.set_xticks(range(0, 101, 20))
    return fig


def group_chart(groups: list[GroupStanding], title: str) -> bytes:
    """PNG of lead units' or towns' composite scores by rank."""
    return figure_png(group_figure(groups, title))
