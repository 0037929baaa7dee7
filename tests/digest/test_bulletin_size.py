"""Group bulletins fit one Telegram message on a phone, whatever the district's size: the sample ledger's 42
projects and a district of 5,000, where every list is long (units, towns, ties, red projects, long names).

The texts come from the same heavy half the bulletin job runs (bot.services.bulletin_work), on figures built
here instead of read from a database; the lists they leave out are in the attached Excel ledger.
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest

from bot.clock import SHANGHAI
from bot.domain.digest_settings import DigestSettings
from bot.domain.node_lists import BulletinNodes, NodeItem, bulletin_nodes
from bot.domain.participation import Duty, Participation, last_weeks, participation
from bot.domain.periods import parse_period, previous_period
from bot.domain.problem_history import UnitProblemFigures
from bot.domain.workdays import WorkCalendar
from bot.render import Renderer
from bot.services.bulletin_work import BulletinJob, BulletinWork, EarlierFigures, render_files_and_texts
from storage.project_figures import ProjectFigures, ProjectRow
from storage.report_figures import ReportFigures
from tests.fakes.bot_api import utf16_len

RENDERER = Renderer()
W47 = parse_period("weekly", "2026-W47")
NOVEMBER = parse_period("monthly", "2026-11")
LIMIT = 4096  # Telegram's limit for a message, in UTF-16 units of the text (HTML tags counted too: stricter)
LONG = "及配套道路、综合管网、景观绿化和智慧停车一体化建设工程"


def district(count: int, *, tied: bool = False, units: int = 60, towns: int = 30, seed: int = 7) -> ProjectFigures:
    """``count`` projects over ``units`` lead units and ``towns`` towns, every fifth with a long name; their
    completion spread from 0 to 120 % (``tied``: nobody reported anything, so all are tied at 0 %)."""
    rng = random.Random(seed)
    rows: list[ProjectRow] = []
    reports: dict[int, ReportFigures] = {}
    for n in range(1, count + 1):
        name = f"城区更新改造项目{n}" + (LONG if n % 5 == 0 else "")
        rows.append(ProjectRow(
            id=n, code=f"ZD2026-{n:04d}", name=name, category="城建", stage="在建",
            location=f"第{n % towns + 1}街道办事处", lead_unit=f"区第{n % units + 1}局（牵头单位名称较长）",
            lead_official=f"领导{n % 40}", lead_official_id=10_000 + n % 40, liaison=f"联络员{n}", liaison_id=n,
            annual_plan=Decimal(10000), done_before=Decimal(0), baseline_year=2026,
            planned_start=date(2026, 3, 1), planned_finish=date(2027, 12, 31)))
        if not tied:
            done = Decimal(rng.randrange(0, 12000))
            reports[n] = ReportFigures(done, datetime(2026, 11, 20, 10, tzinfo=SHANGHAI), rng.randrange(0, 6))
    return ProjectFigures(projects=rows, reports=reports, open_problems={}, due_days={"在建": 5}, stage_days={})


def milestones(figures: ProjectFigures) -> BulletinNodes:
    """Every project with a node overdue, one done late and two due in the week ahead, long names included."""
    as_of = date(2026, 11, 23)
    items = []
    for row in figures.projects:
        def node(name: str, planned: date, done: date | None = None, row=row) -> NodeItem:
            return NodeItem(row.code, row.name, row.lead_unit, row.lead_official_id, name + LONG[:10], planned, done)
        items += [node("桩基完成", date(2026, 11, 2)), node("开工", date(2026, 11, 1), date(2026, 11, 18)),
                  node("主体封顶", date(2026, 11, 25)), node("竣工验收", date(2026, 11, 27))]
    return bulletin_nodes(items, as_of=as_of, ahead_to=date(2026, 11, 29), week_start=W47.start)



def participation_of(figures: ProjectFigures, cutoff: date) -> Participation:
    """Every unit's and liaison's 填报率, each project reporting on some of its due days."""
    weeks = last_weeks(cutoff)
    duties = [Duty(row.id, row.code, row.stage, row.lead_unit, row.liaison_id, row.liaison) for row in figures.projects]
    days = [d for week in weeks for d in week.days]
    reported = {row.id: set(days[row.id % 7::2]) for row in figures.projects}
    return participation(duties, weeks, WorkCalendar(), reported)


def render(figures: ProjectFigures, out_dir: Path, *, period=W47, settings: DigestSettings | None = None,
           ledger: bool = False, nodes: BulletinNodes | None = None,
           earlier: ProjectFigures | None = None) -> BulletinWork:
    """The bulletin's texts (and chart; with ``ledger``, the Excel ledger too: seconds for 5,000 projects); with
    ``earlier``, every line's change since the previous period, and the units' 填报率 (weekly)."""
    unit_problems = [UnitProblemFigures(f"区第{u}局（牵头单位名称较长）", u % 7, u % 5, u % 3) for u in range(1, 61)]
    before = previous_period(period)
    job = BulletinJob(
        period=period, cutoff=period.end, settings=settings or DigestSettings(), figures=figures,
        problem_shares={}, problems=[] if ledger else None,
        unit_problems=unit_problems if period.kind != "weekly" else [],
        open_problems={}, out_dir=out_dir, nodes=nodes,
        earlier=EarlierFigures(before, before.end, earlier, {}) if earlier is not None else None,
        participation=participation_of(figures, period.end) if earlier is not None and period.kind == "weekly"
        else None)
    return render_files_and_texts(job, RENDERER)


@pytest.fixture(scope="module")
def five_thousand() -> ProjectFigures:
    return district(5000)


@pytest.fixture(scope="module")
def last_week() -> ProjectFigures:
    return district(5000, seed=8)  # other rates: most lines moved


@pytest.fixture(scope="module")
def weekly(five_thousand: ProjectFigures, last_week: ProjectFigures,
           tmp_path_factory: pytest.TempPathFactory) -> BulletinWork:
    return render(five_thousand, tmp_path_factory.mktemp("weekly"), ledger=True, earlier=last_week)


def test_the_weekly_group_text_for_5000_projects_is_one_message(weekly: BulletinWork) -> None:
    """One message with room to spare for the late notice (「本期周通报因系统停机补发」) in front."""
    assert len(weekly.parts) == 1 and utf16_len(weekly.text) <= LIMIT - 100, utf16_len(weekly.text)
    text = weekly.text
    assert "共 5000 个，列前、后各 5 个" in text and "……（中间 4990 个略）" in text
    # the units' scores say their window: the week so far, not the month a monthly bulletin of the day counts
    assert re.search(r"<b>牵头单位排名</b>（按时填报、问题办结按本周 \d{4}-\d\d-\d\d 至 \d{4}-\d\d-\d\d 计，"
                     "共 60 个，列前、后各 5 个）", text), text
    assert "<b>乡镇（街道）排名</b>（共 30 个，列前、后各 5 个）" in text
    warn = text.split("🚨 <b>预警</b>", 1)[1].split("\n", 1)[0]
    assert "列落后最多的 10 个" in warn and warn.count("ZD2026-") == 10
    assert "见排名图和附件 Excel 台账" in text
    # every line with its change since W46, and the units' 填报率 (the lowest five)
    assert "名次变化及其后的完成率变化（个百分点）均较上期（截至 2026-11-15）。" in text
    ranked = re.findall(r"^\d+\. \S+ ZD2026-\d{4} .*$", text, re.M)
    assert len(ranked) == 10 and all(re.search(r"（[-+]\d+\.\d）( (↑\d+|↓\d+|持平) \S+)?$", line) for line in ranked)
    assert sum(1 for line in ranked if re.search(r" (↑|↓)\d+ [+\u2212]\d+\.\d$", line)) >= 8
    units = text.split("<b>牵头单位排名</b>", 1)[1].split("<b>乡镇", 1)[0]
    assert len(re.findall(r"^\d+\. 区第\d+局.* 分 (↑\d+|↓\d+|持平)$", units, re.M)) == 10
    part = text.split("<b>牵头单位填报率</b>", 1)[1].split("\n", 1)[0]
    assert part.startswith("（近四周，2026-10-26 至 2026-11-22）：全区 ") and part.count("区第") == 5
    assert "participation" in weekly.files


def test_the_rest_is_in_the_attached_workbook(weekly: BulletinWork) -> None:
    from openpyxl import load_workbook

    book = load_workbook(BytesIO(weekly.files["ledger"].read_bytes()), read_only=True)
    assert book["项目台账"].max_row == 5001 and book["单位排名"].max_row == 61 and book["乡镇排名"].max_row == 31


def test_a_leaders_digest_lists_his_projects_only(five_thousand: ProjectFigures, weekly: BulletinWork) -> None:
    assert len(weekly.leader_parts) == 40
    codes = re.compile(r"ZD2026-\d{4}")
    for leader, parts in weekly.leader_parts.items():
        mine = {p.code for p in five_thousand.projects if p.lead_official_id == leader}
        assert set(codes.findall("\n".join(parts))) == mine
        assert all(utf16_len(part) <= LIMIT for part in parts)


def test_the_weekly_text_with_20000_nodes_missed_and_due_still_fits(five_thousand: ProjectFigures,
                                                                   tmp_path: Path) -> None:
    """Every one of 5,000 projects missed a node, finished one late and has two due: the bulletin lists the
    first of each list, grouped by unit, and counts the rest (in full in the workbook's 节点清单)."""
    work = render(five_thousand, tmp_path, nodes=milestones(five_thousand), ledger=True)

    assert len(work.parts) == 1 and utf16_len(work.text) <= LIMIT - 100, utf16_len(work.text)
    assert "⚠️ 逾期未完成 5000 个（列逾期最久的 5 个）" in work.text
    assert "本周逾期完成 5000 个（列最早完成的 5 个）" in work.text
    assert "到期 10000 个（列最早到期的 5 个）" in work.text
    assert "ZD2026-0005 城区更新改造项目5及配套道…「" in work.text  # long names are cut
    assert "其余节点见附件 Excel 台账“节点清单”。" in work.text
    for parts in work.leader_parts.values():
        assert all(utf16_len(part) <= LIMIT for part in parts)
    some_leader = next(iter(work.leader_parts.values()))
    assert "逾期完成（逾期 17 天）" in "\n".join(some_leader)
    from openpyxl import load_workbook

    book = load_workbook(BytesIO(work.files["ledger"].read_bytes()), read_only=True)
    assert book["节点清单"].max_row == 20001


def test_a_district_where_everyone_is_tied_at_zero_still_fits(tmp_path: Path) -> None:
    """Nobody reported: 5,000 projects tied at 0 %, all red. The warning names ten and counts the rest."""
    work = render(district(5000, tied=True), tmp_path)

    assert len(work.parts) == 1 and utf16_len(work.text) <= LIMIT - 100, utf16_len(work.text)
    assert "🚨 <b>预警</b>（红灯 5000 个，列落后最多的 10 个）" in work.text
    assert len(work.top_parts) == 1 and "预警 5000 个" in work.top_parts[0]


def test_the_monthly_group_text_and_the_top_summary_for_5000_projects_fit(five_thousand: ProjectFigures,
                                                                          last_week: ProjectFigures,
                                                                          tmp_path: Path) -> None:
    work = render(five_thousand, tmp_path, period=NOVEMBER, earlier=last_week)

    assert len(work.parts) == 1 and utf16_len(work.text) <= LIMIT - 100, utf16_len(work.text)
    assert "全区：" in work.text and "另有 55 个单位，见附件。" in work.text
    assert "名次变化均较上期（截至 2026-10-31）。" in work.text
    assert len(work.top_parts) == 1 and utf16_len(work.top_parts[0]) <= LIMIT


def test_the_most_the_settings_allow_still_fits(five_thousand: ProjectFigures, last_week: ProjectFigures,
                                               tmp_path: Path) -> None:
    """/schedule top 10 and /schedule red 20, every line with its change: ten at each end would not fit one
    message any more, so the bulletin lists fewer, and says so."""
    work = render(five_thousand, tmp_path, settings=DigestSettings(bulletin_top_n=10, bulletin_red_max=20),
                  earlier=last_week)
    assert len(work.parts) == 1 and utf16_len(work.text) <= LIMIT - 100, utf16_len(work.text)
    shown = {int(n) for n in re.findall(r"列前、后各 (\d+) 个", work.text)}
    assert len(shown) == 1 and 7 <= shown.pop() < 10
    assert "列落后最多的 20 个" in work.text


def test_fewer_lines_when_the_settings_ask_for_fewer(tmp_path: Path) -> None:
    """/schedule top 3 and /schedule red 0: three at each end, the red projects counted and not named."""
    work = render(district(500), tmp_path, settings=DigestSettings(bulletin_top_n=3, bulletin_red_max=0))

    assert "共 500 个，列前、后各 3 个" in work.text and "……（中间 494 个略）" in work.text
    warn = work.text.split("🚨 <b>预警</b>", 1)[1].split("\n", 1)[0]
    assert warn.startswith("（红灯 ") and "ZD2026" not in warn


def test_short_lists_are_listed_whole(tmp_path: Path) -> None:
    """42 projects over 12 units and 6 towns: the towns are all listed (no 「中间…略」 line among them)."""
    work = render(district(42, units=12, towns=6), tmp_path)

    assert len(work.parts) == 1
    towns = work.text.split("<b>乡镇（街道）排名</b>", 1)[1].split("（综合得分", 1)[0]
    assert towns.startswith("\n") and towns.count("街道办事处") == 6 and "略" not in towns
