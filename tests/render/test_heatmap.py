"""The 填报率 heat map (bot.heatmap): a valid PNG of a sensible size, a cell per unit and week coloured by its
share (grey where nothing was due), the labels drawn, long lists cut to MAX_ROWS, an empty one still drawn."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.text import Text
from PIL import Image

from bot.domain.participation import Row, Tally, last_weeks
from bot.heatmap import BEFORE_COLOR, BEFORE_HATCH, MAX_ROWS, NONE_COLOR, RATES, heatmap_chart, heatmap_figure

WEEKS = last_weeks(date(2026, 11, 22))
ROWS = [Row("区住建局", (Tally(15, 15), Tally(15, 12), Tally(15, 3), Tally(0, 0))),
        Row("区第12局（牵头单位名称较长）", (Tally(5, 5), Tally(5, 4), Tally(5, 2), Tally(5, 0)))]


def cells(fig) -> list:  # type: ignore[no-untyped-def]
    return [p for p in fig.axes[0].patches if p.get_gid() == "cell"]


def test_the_heat_map_is_a_png_with_a_coloured_cell_per_unit_and_week() -> None:
    png = heatmap_chart(ROWS, WEEKS, title="牵头单位近四周填报率", what="牵头单位")

    assert png.startswith(b"\x89PNG\r\n\x1a\n") and 5_000 < len(png) < 500_000
    with Image.open(io.BytesIO(png)) as image:
        width, height = image.size
        pixels = np.asarray(image.convert("RGB"))
    assert 600 <= width <= 1200 and 200 <= height <= 1200
    assert len({tuple(p) for p in pixels.reshape(-1, 3)[::97]}) > 20  # drawn, not blank

    fig = heatmap_figure(ROWS, WEEKS, title="牵头单位近四周填报率", what="牵头单位")
    colours = [tuple(round(c, 3) for c in to_rgb(p.get_facecolor())) for p in cells(fig)]
    assert len(colours) == 8
    assert colours[0] == tuple(round(c, 3) for c in to_rgb(RATES(1.0)))  # 100 %: green
    assert colours[3] == tuple(round(c, 3) for c in to_rgb(NONE_COLOR))  # nothing due
    assert colours[7] == tuple(round(c, 3) for c in to_rgb(RATES(0.0)))  # 0 %: red
    fig.canvas.draw()
    words = [t.get_text() for t in fig.findobj(Text) if t.get_text()]
    assert {"100.0%", "80.0%", "20.0%", "—", "0.0%", "区住建局", "11-16至11-22"} <= set(words)


def test_a_share_reads_as_the_text_gives_it() -> None:
    # one decimal, as the weekly bulletin's 填报率 line and /rank 填报 give it: 2 of 3 is 66.7%, not 67%
    fig = heatmap_figure([Row("区水务局", (Tally(3, 2), Tally(3, 1), Tally(0, 0), Tally(6, 5)))], WEEKS,
                         title="t", what="牵头单位")
    fig.canvas.draw()
    words = [t.get_text() for t in fig.findobj(Text) if t.get_text()]
    assert {"66.7%", "33.3%", "83.3%"} <= set(words)


def test_a_long_list_is_cut_and_an_empty_one_still_drawn() -> None:
    many = [Row(f"单位{n}", (Tally(5, n % 6),) * 4) for n in range(MAX_ROWS + 15)]
    fig = heatmap_figure(many, WEEKS, title="t", what="牵头单位")
    assert len(cells(fig)) == MAX_ROWS * 4
    assert f"共{MAX_ROWS + 15}个牵头单位，列出{MAX_ROWS}个" in fig.axes[0].get_title(loc="left")
    empty = heatmap_chart([], WEEKS, title="联络员近四周填报率", what="联络员")
    assert empty.startswith(b"\x89PNG") and len(empty) > 2_000


def test_weeks_before_the_projects_were_entered_are_marked_as_the_web_marks_them() -> None:
    """A week with nothing due because the unit's projects were not in the ledger yet is not a week off: a
    hatched pale cell reading 录入前, and a legend names both (the web page's 录入台账前 words)."""
    rows = [Row("区新录入局", (Tally(0, 0, True), Tally(0, 0), Tally(5, 3, True), Tally(5, 5)))]
    fig = heatmap_figure(rows, WEEKS, title="t", what="牵头单位")
    drawn = cells(fig)
    before, off = drawn[0], drawn[1]
    assert before.get_hatch() == BEFORE_HATCH and off.get_hatch() is None
    assert to_rgb(before.get_facecolor()) == to_rgb(BEFORE_COLOR) != to_rgb(off.get_facecolor())
    assert to_rgb(off.get_facecolor()) == to_rgb(NONE_COLOR)
    assert drawn[2].get_hatch() is None  # counted (due days), whatever its first days
    fig.canvas.draw()
    words = [t.get_text() for t in fig.findobj(Text) if t.get_text()]
    assert words.count("录入前") == 1 and words.count("—") == 1
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["无需填报（节假日、请假、已竣工）", "录入台账前（尚未在本系统跟踪，无需填报）"]
