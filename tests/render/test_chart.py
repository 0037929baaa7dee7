"""Bulletin charts: valid PNGs, real Chinese glyphs (no tofu), traffic-light colours, long and empty lists."""

from __future__ import annotations

import io
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font
from matplotlib.text import Text
from PIL import Image

from bot.chart import (
    FONT_FILES,
    LIGHT_COLORS,
    NAME_WIDTH,
    ChartFontMissing,
    chart_font,
    display_width,
    figure_png,
    find_cjk_font,
    group_chart,
    group_figure,
    ranking_chart,
    ranking_figure,
)
from tests.render.factories import make_group, make_projects, make_standing, make_standings

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def decode(png: bytes) -> np.ndarray:
    assert png.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(png)) as image:
        image.verify()
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


def bars(fig: Figure) -> list:
    return [p for p in fig.axes[0].patches if p.get_gid() in ("bar", "gap")]


def texts(fig: Figure) -> list[str]:
    fig.canvas.draw()  # tick labels are only filled in when drawn
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def render_text(text: str, family: str) -> np.ndarray:
    fig = Figure(figsize=(3, 0.6), dpi=100)
    canvas = FigureCanvasAgg(fig)
    fig.text(0.02, 0.5, text, va="center", fontproperties=FontProperties(family=family, size=16))
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def test_ranking_chart_is_a_valid_png() -> None:
    png = ranking_chart(make_standings(make_projects(12)))
    pixels = decode(png)
    height, width, _ = pixels.shape
    assert width > 600 and height > 300
    assert pixels.std() > 10  # not a blank canvas


def test_chinese_label_renders_differently_from_the_latin_fallback() -> None:
    label = "城北高速连接线"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DejaVu Sans warns about every missing glyph
        tofu = render_text(label, "DejaVu Sans")
    cjk = render_text(label, chart_font().family)
    differing = np.any(np.abs(cjk.astype(int) - tofu.astype(int)) > 60, axis=-1).mean()
    assert differing > 0.03
    ink = (cjk.min(axis=-1) < 128).mean()
    assert ink > 0.02  # the CJK rendering actually drew something


def test_font_has_a_glyph_for_every_character_of_the_charts() -> None:
    standings = make_standings(make_projects(200))
    font = FT2Font(chart_font().path)
    groups = standings.units + standings.towns
    labels = texts(ranking_figure(standings)) + texts(group_figure(groups, "乡镇综合得分排名"))
    joined = "".join(labels)
    assert "城关镇" in joined and "重点项目第1号工程" in joined and "序时进度" in joined and "省略" in joined
    missing = sorted({ch for ch in joined if not ch.isspace() and font.get_char_index(ord(ch)) == 0})
    assert missing == []


def test_drawing_warns_about_no_missing_glyph() -> None:
    standings = make_standings(make_projects(60))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ranking_chart(standings)
        group_chart(standings.towns, "乡镇综合得分排名（截至2026-11-15）")


def test_names_with_control_characters_are_drawn_on_one_line_without_them() -> None:
    names = ["滨江\x07四期", "城北高速\n连接线", "名城\x0b二期\r\n三标"]
    projects = [make_standing(code=f"ZD2026-00{n}", name=name, rank=n) for n, name in enumerate(names, start=1)]
    groups = [make_group(name="区住建局\x1b\n二科")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns of the glyph a control character has not
        ranking_chart(make_standings(projects))
        group_chart(groups, "单位综合得分排名")
    labels = texts(ranking_figure(make_standings(projects))) + texts(group_figure(groups, "单位综合得分排名"))
    joined = "\n".join(labels)
    assert "ZD2026-001 滨江四期" in joined and "城北高速 连接线" in joined and "名城 二期 三标" in joined
    assert "区住建局 二科" in joined


def test_bars_take_the_colour_of_their_traffic_light() -> None:
    projects = [
        make_standing(code="ZD2026-001", rate=0.95, light="green", rank=1),
        make_standing(code="ZD2026-002", rate=0.70, light="yellow", rank=2),
        make_standing(code="ZD2026-003", rate=0.20, light="red", rank=3),
        make_standing(code="ZD2026-004", rate=None, gap=None, light="none", rank=None),
    ]
    fig = ranking_figure(make_standings(projects))
    drawn = bars(fig)
    assert [to_hex(b.get_facecolor()) for b in drawn] == [
        LIGHT_COLORS["green"], LIGHT_COLORS["yellow"], LIGHT_COLORS["red"], LIGHT_COLORS["none"]]
    assert [b.get_width() for b in drawn] == pytest.approx([0.95, 0.70, 0.20, 0.0])

    # and the PNG really shows them: sample the middle of each drawn bar
    pixels = decode(figure_png(fig))
    height = pixels.shape[0]
    for bar, light in zip(drawn[:3], ["green", "yellow", "red"], strict=True):
        box = bar.get_window_extent()
        x, y = int((box.x0 + box.x1) / 2), int(height - (box.y0 + box.y1) / 2)
        expected = np.array(to_rgb(LIGHT_COLORS[light])) * 255
        assert np.abs(pixels[y, x].astype(float) - expected).max() < 3, light


def test_projects_sharing_a_place_come_in_the_standings_order_as_in_the_text() -> None:
    # both read 99.3 % and share 13th place; the standings put the higher exact gap first, whatever the codes
    projects = [make_standing(code="ZD2026-016", name="片区路网", rate=0.99334, gap=10.03, rank=13),
                make_standing(code="ZD2026-005", name="精密机床", rate=0.99326, gap=10.02, rank=13)]
    assert [b.get_label() for b in bars(ranking_figure(make_standings(projects)))] == [
        "13. ZD2026-016 片区路网", "13. ZD2026-005 精密机床"]


def test_bars_are_in_rank_order_with_the_schedule_line_and_titles() -> None:
    projects = [
        make_standing(code="ZD2026-003", name="南环路", rate=0.30, light="red", rank=3),
        make_standing(code="ZD2026-001", rate=0.95, rank=1),
        make_standing(code="ZD2026-009", name="无计划项目", rate=None, gap=None, light="none", rank=None),
        make_standing(code="ZD2026-002", name="产业园标准厂房", rate=0.80, light="yellow", rank=2),
    ]
    standings = make_standings(projects)
    fig = ranking_figure(standings)
    labels = [b.get_label() for b in bars(fig)]
    assert labels == ["1. ZD2026-001 城北高速连接线", "2. ZD2026-002 产业园标准厂房", "3. ZD2026-003 南环路",
                      "ZD2026-009 无计划项目"]
    shown = texts(fig)
    assert "重点项目投资完成率排名（截至2026-11-15）" in shown
    assert "序时进度 87.4%" in shown
    assert {"95.0%", "80.0%", "30.0%", "无年度计划"} <= set(shown)
    (line,) = [ln for ln in fig.axes[0].lines if ln.get_gid() == "schedule"]
    assert line.get_xdata()[0] == pytest.approx(standings.schedule)


def test_long_names_are_truncated() -> None:
    name = "城北片区综合开发暨老旧小区改造及配套市政道路管网提升工程一期"
    fig = ranking_figure(make_standings([make_standing(name=name)]))
    (label,) = [b.get_label() for b in bars(fig)]
    shown_name = label.split(" ", 2)[2]
    assert shown_name.endswith("…")
    assert name.startswith(shown_name[:-1])
    assert display_width(shown_name) <= NAME_WIDTH


def test_an_overshooting_rate_is_capped_on_the_axis_but_labelled_truly() -> None:
    projects = [make_standing(rate=5.2), make_standing(code="ZD2026-002", rate=0.5, rank=2)]
    fig = ranking_figure(make_standings(projects))
    (first, second) = bars(fig)
    xmax = fig.axes[0].get_xlim()[1]
    assert first.get_width() == pytest.approx(xmax) and xmax < 2
    assert "520.0%" in texts(fig)


def test_zero_projects_render_an_empty_chart() -> None:
    standings = make_standings([])
    fig = ranking_figure(standings)
    assert bars(fig) == []
    assert "暂无项目数据" in texts(fig)
    decode(ranking_chart(standings))


def test_two_hundred_projects_show_the_head_and_tail_with_a_gap() -> None:
    standings = make_standings(make_projects(200))  # 198 ranked, 2 without a plan
    fig = ranking_figure(standings, top=30)
    drawn = bars(fig)
    assert len(drawn) == 31
    labels = [b.get_label() for b in drawn]
    assert labels[0].startswith("1. ZD2026-001 ")
    assert labels[14].startswith("15. ZD2026-015 ")
    assert drawn[15].get_gid() == "gap" and "省略168个项目" in labels[15]
    assert labels[16].startswith("184. ZD2026-184 ")
    assert labels[-1].startswith("198. ZD2026-198 ")
    assert any("另有2个无年度计划的项目未列出" in t for t in texts(fig))
    pixels = decode(ranking_chart(standings))
    assert pixels.shape[0] < 2000  # the height follows the rows shown, not the 200 projects


def test_projects_without_a_plan_fill_up_to_top() -> None:
    standings = make_standings(make_projects(12))  # 10 ranked, 2 without a plan
    labels = [b.get_label() for b in bars(ranking_figure(standings, top=11))]
    assert len(labels) == 11 and labels[-1] == "ZD2026-011 重点项目第11号工程"
    assert any("另有1个无年度计划的项目未列出" in t for t in texts(ranking_figure(standings, top=11)))
    assert len(bars(ranking_figure(standings, top=30))) == 12


def test_top_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ranking_chart(make_standings(), top=0)


def test_groups_sharing_a_place_come_in_the_standings_order_as_in_the_text() -> None:
    # 46.54 and 46.51 both read 46.5 and share 9th place; the higher exact score first, whatever the names' order
    groups = [make_group(name="区房管局", score=46.54, rank=9), make_group(name="区发改局", score=46.51, rank=9)]
    assert [b.get_label() for b in bars(group_figure(groups, "牵头单位综合得分"))] == [
        "9. 区房管局（5个项目）", "9. 区发改局（5个项目）"]


def test_group_chart_ranks_scores_and_puts_unscored_last() -> None:
    groups = [
        make_group(name="北塬镇", score=None, rank=None, projects=2),
        make_group(name="区住建局", score=72.5, rank=2),
        make_group(name="区交通运输局", score=86.0, rank=1),
    ]
    fig = group_figure(groups, "牵头单位综合得分排名（截至2026-11-15）")
    drawn = bars(fig)
    assert [b.get_label() for b in drawn] == [
        "1. 区交通运输局（5个项目）", "2. 区住建局（5个项目）", "北塬镇（2个项目）"]
    assert [b.get_width() for b in drawn] == pytest.approx([86.0, 72.5, 0.0])
    assert {"86.0", "72.5", "无得分", "牵头单位综合得分排名（截至2026-11-15）"} <= set(texts(fig))
    decode(group_chart(groups, "牵头单位综合得分排名"))
    decode(group_chart([], "乡镇综合得分排名"))


def test_charts_render_the_same_from_several_threads() -> None:
    standings = [make_standings(make_projects(n)) for n in (3, 8, 20, 0)]
    serial = [ranking_chart(s) for s in standings]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(ranking_chart, standings))
    assert parallel == serial
    assert len(set(serial)) == len(serial)


def test_a_missing_cjk_font_is_a_clear_error(tmp_path) -> None:
    latin_only = font_manager.findfont(FontProperties(family="DejaVu Sans"))
    with pytest.raises(ChartFontMissing, match="fonts-wqy-microhei"):
        find_cjk_font([str(tmp_path / "absent.ttc"), latin_only], ["DejaVu Sans"], scan=False)


def test_the_debian_package_font_is_found_first() -> None:
    font = find_cjk_font()
    assert font.path == next(p for p in FONT_FILES if Path(p).is_file())
    assert font.family == chart_font().family


@pytest.mark.parametrize("name", ["$x^{2$ 项目", "造价$5 万$工程", "$\\frac{1}{0}$", "单个$符号"])
def test_dollar_signs_in_names_are_drawn_as_literal_text(name: str) -> None:
    fig = ranking_figure(make_standings([make_standing(name=name)]))
    decode(figure_png(fig))  # an unbalanced or odd "$…$" would fail as mathtext
    assert all(not t.get_parse_math() for t in fig.findobj(Text))
    assert any("$" in t.get_text() for t in fig.findobj(Text))


def test_group_chart_with_a_dollar_in_a_unit_name() -> None:
    decode(group_chart([make_group(name="$区住建局$"), make_group(name="区$交通局", rank=2)], "单位$排名"))
