"""A past period's bulletin made again shows that period's truth: a correction of a figure inside the period
changes it (it was wrong), an event after the period's end does not (a later report, a milestone done since, an
extension approved since, a problem moved to another unit or solved since, a promise given or dropped since,
a project renamed or handed to another unit, 包抓领导 or liaison since: README, "A past period's bulletin")."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select, update

from bot.domain.halfmonth import containing as half_containing
from bot.domain.period_problems import every_problem_at
from bot.domain.periods import parse_period
from bot.domain.workdays import WorkCalendar
from bot.render import Renderer, html_to_plain
from bot.services.halfmonth import compile_document
from bot.services.participation import load_participation
from jobs.bulletin_render import Rendered
from storage import audit, halfmonth
from storage.audit import Actor
from storage.db import Database
from storage.models import Person, Problem, ProblemEvent, ProjectNode, Report
from storage.problem_history import period_problems
from storage.problem_ledger import problem_ledger
from storage.reports import add_report

from .conftest import District, local
from .test_figures_agree import bulletin, sheet_rows

OCTOBER = parse_period("monthly", "2026-10")  # cut-off Saturday 31 October; goes out Monday 2 November
AFTER = local(date(2026, 11, 3), 9)  # a Tuesday after the bulletin went out
HOUSING, ROADS = "区住建局", "区交通局"


async def _answer(db: Database, problem_id: int, at, promised: date | None) -> None:
    """The unit's 答复, with the day it promised, as ``bot.services.problems`` records it."""
    async with db.session() as session:
        problem = await session.get(Problem, problem_id)
        assert problem is not None
        problem.status, problem.promised_date = "answered", promised
        session.add(ProblemEvent(problem_id=problem_id, at=at, kind="answered", level=problem.level, text="",
                                 detail={"promised": promised.isoformat() if promised else None},
                                 resolution_due_at=problem.resolution_due_at))


async def _october(district: District) -> dict[str, int]:
    """Two projects reporting in October, a milestone missed, two problems: one past the day its unit promised
    (its 办结 deadline still ahead), one past its deadline."""
    await district.project("ZD2026-001", unit=HOUSING, lead="刘文华", liaison="甲")
    await district.project("ZD2026-002", unit=ROADS, lead="王建国", liaison="乙")
    days = [date(2026, 10, 12) + timedelta(days=n) for n in range(5)]
    await district.reports("ZD2026-001", *((day, "100") for day in days))
    await district.reports("ZD2026-002", *((day, "20") for day in days))
    await district.node("ZD2026-001", "主体封顶", date(2026, 10, 20))
    promised = await district.problem("ZD2026-001", unit=HOUSING, raised=local(date(2026, 10, 12), 9),
                                      due=local(date(2026, 11, 10), 17, 30), text="施工用电未接入")
    await _answer(district.db, promised, local(date(2026, 10, 14)), date(2026, 10, 20))
    late = await district.problem("ZD2026-002", unit=ROADS, raised=local(date(2026, 10, 12), 9),
                                  due=local(date(2026, 10, 26), 17, 30), text="征地未完成")
    async with district.db.session() as session:  # each event keeps the deadline it leaves, as the bot's do
        for problem_id in (promised, late):
            due = await session.scalar(select(Problem.resolution_due_at).where(Problem.id == problem_id))
            await session.execute(update(ProblemEvent).where(ProblemEvent.problem_id == problem_id,
                                                             ProblemEvent.kind == "raised")
                                  .values(resolution_due_at=due))
    return {"promised": promised, "late": late}


async def _later(district: District, ids: dict[str, int]) -> None:
    """What happened after October: a report of 14 October corrected (120 for 20), a report of November, the
    milestone done, W0001's extension approved (its deadline and promise 20 November), W0002 moved to 区住建局
    and solved there."""
    db = district.db
    async with db.session() as session:
        old = await session.scalar(select(Report).where(Report.project_id == district.projects["ZD2026-002"],
                                                        Report.local_day == date(2026, 10, 14)))
        assert old is not None
        old.withdrawn_at = AFTER
        session.add(Report(project_id=old.project_id, person_id=old.person_id, local_day=old.local_day,
                           amount=Decimal(120), progress_text="", channel="telegram", created_at=AFTER,
                           replaces_id=old.id))
    await district.reports("ZD2026-001", (date(2026, 11, 2), "300"))
    async with db.session() as session:
        await session.execute(update(ProjectNode).values(done_on=AFTER.date(), done_at=AFTER))
        extended = local(date(2026, 11, 20), 17, 30)
        session.add(ProblemEvent(problem_id=ids["promised"], at=AFTER, kind="extension_requested", level=0,
                                 text="", detail={"day": "2026-11-20", "due_at": local(date(2026, 11, 10), 17, 30)
                                                  .isoformat()}, resolution_due_at=local(date(2026, 11, 10), 17, 30)))
        session.add(ProblemEvent(problem_id=ids["promised"], at=AFTER + timedelta(hours=2),
                                 kind="extension_approved", level=0, text="", detail={"day": "2026-11-20"},
                                 resolution_due_at=extended))
        await session.execute(update(Problem).where(Problem.id == ids["promised"]).values(
            resolution_due_at=extended, promised_date=date(2026, 11, 20)))
        housing = district.units[HOUSING]
        moved_due = local(date(2026, 11, 17), 17, 30)
        session.add(ProblemEvent(problem_id=ids["late"], at=AFTER, kind="reassigned", level=0, text="",
                                 detail={"from": ROADS, "to": HOUSING, "from_level": 0},
                                 resolution_due_at=moved_due))
        session.add(ProblemEvent(problem_id=ids["late"], at=AFTER + timedelta(days=1), kind="resolved", level=0,
                                 text="", detail={}, resolution_due_at=moved_due))
        await session.execute(update(Problem).where(Problem.id == ids["late"]).values(
            unit_id=housing, status="resolved", resolution_due_at=moved_due))


def _lines(rendered: Rendered) -> list[str]:
    return html_to_plain(rendered.text).splitlines()


def _digest(rendered: Rendered, district: District, lead: str) -> str:
    return html_to_plain("\n".join(rendered.leaders[district.people[lead]]))


async def test_a_past_month_made_again_keeps_its_truth(db: Database, district: District, tmp_path: Path) -> None:
    ids = await _october(district)
    first = await bulletin(db, OCTOBER, tmp_path / "first")

    await _later(district, ids)
    again = await bulletin(db, OCTOBER, tmp_path / "again")

    # the correction of a day inside October changes its figures: 20 became 120 on 14 October
    assert "2 个重点项目，本期完成投资 600.0 万元；年度累计完成 600.0 万元" in first.text
    assert "2 个重点项目，本期完成投资 700.0 万元；年度累计完成 700.0 万元" in again.text
    assert "ZD2026-002 项目ZD2026-002 完成率 10.0%（落后序时 73.3 个百分点），牵头单位 区交通局" in _lines(first)
    assert "ZD2026-002 项目ZD2026-002 完成率 20.0%（落后序时 63.3 个百分点），牵头单位 区交通局" in _lines(again)
    # nothing that happened after October does: the report of 2 November, the milestone done on 3 November,
    # the problems' later extension, move and solution
    for line in ("ZD2026-001 项目ZD2026-001 完成率 50.0%（落后序时 33.3 个百分点），牵头单位 区住建局",
                 "⚠️ 逾期未完成 1 个：",
                 "· 区住建局：ZD2026-001 项目ZD2026-001「主体封顶」计划 2026-10-20，已逾期 13 天",
                 "全区：2 / 0 / 1", "区交通局：1 / 0 / 1", "区住建局：1 / 0 / 0", "1. 区住建局 36.0 分 持平"):
        assert line in _lines(first), line
        assert line in _lines(again), (line, html_to_plain(again.text))
    promised = "W0001 用地：施工用电未接入（办结时限 2026-11-10 17:30，承诺 2026-10-20 前完成，⚠️已超期）"
    late = "W0002 用地：征地未完成（办结时限 2026-10-26 17:30，⚠️已超期）"
    for rendered in (first, again):
        assert promised in _digest(rendered, district, "刘文华")
        assert late in _digest(rendered, district, "王建国")
        ledger = rendered.files["ledger"].read_bytes()
        problems = {row["编号"]: row for row in sheet_rows(ledger, "问题清单")}
        assert problems["W0002"]["责任单位"] == ROADS
        assert [(row["完成率"], row["节点按期率"]) for row in sheet_rows(ledger, "项目台账")][0] == (0.5, 0)
        assert [row["节点"] for row in sheet_rows(ledger, "节点清单")] == ["主体封顶"]
    # the ledger's Excel lists the corrected month too
    assert [row["累计完成(万元)"] for row in sheet_rows(again.files["ledger"].read_bytes(), "项目台账")] == [500, 200]


async def test_a_project_handed_over_since_counts_for_the_unit_and_lead_that_held_it(
        db: Database, district: District, tmp_path: Path) -> None:
    """Renamed, moved to another town and handed to another unit, 包抓领导 and liaison after October (/project_set,
    /handover): October made again names, ranks and counts each project as the ledger had it at October's end,
    and its digest goes to the 包抓领导 who held it then; November, in which the handover came, reads them new."""
    await _october(district)
    first = await bulletin(db, OCTOBER, tmp_path / "first")

    await district.hand_over("ZD2026-001", AFTER, name="城北污水处理厂", location="新城镇")
    await district.hand_over("ZD2026-002", AFTER, unit=HOUSING, lead="刘文华", liaison="甲")
    again = await bulletin(db, OCTOBER, tmp_path / "again")

    lines = _lines(again)
    assert "ZD2026-001 项目ZD2026-001 完成率 50.0%（落后序时 33.3 个百分点），牵头单位 区住建局" in lines
    assert "ZD2026-002 项目ZD2026-002 完成率 10.0%（落后序时 73.3 个百分点），牵头单位 区交通局" in lines
    assert "区交通局：1 / 0 / 1" in lines  # W0002 was 区交通局's at October's end
    assert "W0002 用地：征地未完成" in _digest(again, district, "王建国")
    assert "ZD2026-002" not in _digest(again, district, "刘文华")
    # every figure, text, digest and ledger row as the bulletin said it on time
    assert again.text == first.text
    assert again.leaders == first.leaders
    for sheet in ("项目台账", "单位排名", "乡镇排名", "问题清单", "节点清单"):
        assert sheet_rows(again.files["ledger"].read_bytes(), sheet) == sheet_rows(
            first.files["ledger"].read_bytes(), sheet), sheet
    assert [(row["名称"], row["乡镇"], row["牵头单位"], row["包抓领导"], row["联络员"]) for row in sheet_rows(
        again.files["ledger"].read_bytes(), "项目台账")] == [("项目ZD2026-001", "河西镇", HOUSING, "刘文华", "甲"),
                                                          ("项目ZD2026-002", "河西镇", ROADS, "王建国", "乙")]

    november = await bulletin(db, parse_period("monthly", "2026-11"), tmp_path / "november")
    assert any(line.startswith("ZD2026-002 项目ZD2026-002 ") and line.endswith("牵头单位 区住建局")
               for line in _lines(november)), html_to_plain(november.text)
    assert any(line.startswith("ZD2026-001 城北污水处理厂 ") for line in _lines(november))
    assert district.people["王建国"] not in november.leaders


async def test_a_promise_dropped_since_is_read_back_at_the_problems_end_of_day(db: Database,
                                                                             district: District) -> None:
    """Promised for 20 October, sent back (未解决) in November, which drops the promise: October's figures read
    the promise back from the 答复, ending when the problem's working day ends (its policy's 18:00)."""
    await district.project("ZD2026-001", unit=HOUSING)
    problem_id = await district.problem("ZD2026-001", unit=HOUSING, raised=local(date(2026, 10, 12), 9),
                                        due=local(date(2026, 11, 10), 18), text="施工用电未接入")
    await _answer(db, problem_id, local(date(2026, 10, 14)), date(2026, 10, 20))
    async with db.session() as session:
        session.add(ProblemEvent(problem_id=problem_id, at=AFTER, kind="reopened", level=0, text="", detail={},
                                 resolution_due_at=local(date(2026, 11, 24), 18)))
        await session.execute(update(Problem).where(Problem.id == problem_id).values(
            status="accepted", promised_date=None, policy={"end_of_day": "18:00"},
            resolution_due_at=local(date(2026, 11, 24), 18)))

    end = local(date(2026, 11, 1), 0)
    async with db.session() as session:
        october = await period_problems(session, since=local(date(2026, 10, 1), 0), end=end)
        ledger = await problem_ledger(session)
    [then] = october.counted(since=end)
    assert then.promised_due_at == local(date(2026, 10, 20), 18)
    assert [h.now.end_of_day for h in ledger.histories] == [time(18, 0)]
    assert every_problem_at(ledger.histories, end=end).replayed[0][1].promised_due_at == local(date(2026, 10, 20), 18)


async def test_a_milestone_marked_done_since_on_a_day_of_the_period_is_done_then(db: Database, district: District,
                                                                               tmp_path: Path) -> None:
    """主体封顶, planned on 20 October, marked done on 3 November as done on 28 October: October made again lists
    it done late in the month, no longer overdue (the day is a fact of October, told late)."""
    await _october(district)
    first = await bulletin(db, OCTOBER, tmp_path / "first")
    async with db.session() as session:
        await session.execute(update(ProjectNode).values(done_on=date(2026, 10, 28), done_at=AFTER))

    again = await bulletin(db, OCTOBER, tmp_path / "again")

    assert "⚠️ 逾期未完成 1 个：" in _lines(first)
    assert "⚠️ 逾期未完成 1 个：" not in _lines(again)
    assert any("主体封顶" in line and "2026-10-28" in line for line in _lines(again)), html_to_plain(again.text)


async def _deactivate(db: Database, person_id: int, at) -> None:
    """The person deactivated at ``at``, as /deactivate records it."""
    async with db.session() as session:
        person = await session.get(Person, person_id)
        assert person is not None
        person.active = False
        await audit.record(session, actor=Actor(label="管理员", channel="console"), at=at, action="person.deactivate",
                           object_type="person", object_key=str(person_id), detail={"name": person.name})


async def test_a_past_half_month_is_owed_by_the_liaisons_of_its_end(db: Database, district: District,
                                                                    tmp_path: Path) -> None:
    """The first half of October's document, made in November: ZD2026-001 handed to another liaison since and
    ZD2026-002's liaison deactivated since are still owed by the liaisons of 15 October; ZD2026-003's liaison,
    deactivated on 10 October, owed nothing for it."""
    await _october(district)
    await district.project("ZD2026-003", unit=ROADS, liaison="丁")
    await _deactivate(db, district.people["丁"], local(date(2026, 10, 10), 9))
    half = half_containing(date(2026, 10, 1))

    await district.hand_over("ZD2026-001", AFTER, liaison="丙", unit=ROADS, name="城北污水处理厂")
    await _deactivate(db, district.people["乙"], AFTER)

    async with db.session() as session:
        owed = await halfmonth.owed(session, half=half)
        compiled = await compile_document(session, Renderer(), half=half, calendar=WorkCalendar(),
                                          out_dir=tmp_path, issued=date(2026, 11, 3))
        current = await halfmonth.owed(session, half=half_containing(AFTER.date()))
    assert [(item.code, item.name, item.liaison, item.lead_unit) for item in owed] == [
        ("ZD2026-001", "项目ZD2026-001", "甲", HOUSING), ("ZD2026-002", "项目ZD2026-002", "乙", ROADS)]
    assert compiled.owed == 2 and compiled.missing == ["ZD2026-001", "ZD2026-002"]
    # the half-month under way is owed by the liaisons of now
    assert [(item.code, item.liaison) for item in current] == [("ZD2026-001", "丙")]


async def test_a_past_weeks_reporting_counts_each_project_for_its_unit_and_liaison_then(
        db: Database, district: District) -> None:
    """填报率 of the week to 18 October, read after ZD2026-002 went to 区住建局 and 甲: each project counts for
    the unit and liaison that held it that week; the week under way reads them as they are now."""
    await _october(district)
    await district.hand_over("ZD2026-002", AFTER, unit=HOUSING, liaison="甲")

    async with db.session() as session:
        then = await load_participation(session, cutoff=date(2026, 10, 18), calendar=WorkCalendar())
        now = await load_participation(session, cutoff=date(2026, 11, 8), calendar=WorkCalendar())

    assert sorted(row.name for row in then.units) == sorted([HOUSING, ROADS])
    assert sorted(row.name for row in then.liaisons) == ["乙", "甲"]
    assert [row.name for row in now.units] == [HOUSING] and [row.name for row in now.liaisons] == ["甲"]


async def _reassign(db: Database, district: District, problem_id: int, at) -> None:
    """The problem moved from 区住建局 to 区交通局 (改派), as ``bot.services.reassignment`` records it: the old
    unit's promise no longer holds."""
    roads = await district.unit(ROADS)
    async with db.session() as session:
        session.add(ProblemEvent(problem_id=problem_id, at=at, kind="reassigned", level=0, text="",
                                 detail={"from": HOUSING, "to": ROADS, "from_level": 0},
                                 resolution_due_at=local(date(2026, 11, 10), 17, 30)))
        await session.execute(update(Problem).where(Problem.id == problem_id).values(
            unit_id=roads, status="open", promised_date=None))


async def test_a_move_to_another_unit_drops_the_promise_when_it_came(db: Database, district: District,
                                                                   tmp_path: Path) -> None:
    """W0001, promised for 20 October, is moved to 区交通局 on 16 October, which answers in November: October's
    digest, made again, shows no promise (not the old unit's, passed). W0002, promised for 20 October too, is
    moved in November: October's digest, made again, still shows the promise it broke then."""
    await district.project("ZD2026-001", unit=HOUSING, lead="刘文华", liaison="甲")
    due = local(date(2026, 11, 10), 17, 30)
    moved = await district.problem("ZD2026-001", unit=HOUSING, raised=local(date(2026, 10, 12), 9), due=due,
                                   text="施工用电未接入")
    broken = await district.problem("ZD2026-001", unit=HOUSING, raised=local(date(2026, 10, 12), 10), due=due,
                                    text="临时道路未通")
    for problem_id in (moved, broken):
        await _answer(db, problem_id, local(date(2026, 10, 14)), date(2026, 10, 20))
    await _reassign(db, district, moved, local(date(2026, 10, 16), 9))
    first = await bulletin(db, OCTOBER, tmp_path / "first")

    await _answer(db, moved, AFTER, date(2026, 11, 20))  # 区交通局 answers in November
    await _reassign(db, district, broken, AFTER)
    again = await bulletin(db, OCTOBER, tmp_path / "again")

    for rendered in (first, again):
        digest = _digest(rendered, district, "刘文华")
        assert "W0001 用地：施工用电未接入（办结时限 2026-11-10 17:30）" in digest, digest
        assert ("W0002 用地：临时道路未通（办结时限 2026-11-10 17:30，承诺 2026-10-20 前完成，⚠️已超期）"
                in digest), digest


async def test_people_renamed_since_are_named_as_they_were_then(db: Database, district: District,
                                                                tmp_path: Path) -> None:
    """After October, 刘文华 (包抓领导 of ZD2026-001, which stays his), 乙 (liaison of ZD2026-002) and the liaison
    who raised the problems are renamed, and ZD2026-002 is handed to 区住建局 and 刘文华 before 王建国, who held
    it, is renamed too: October made again names every one of them as they were named at October's end, in its
    text, digests and Excel ledger; November names them as they are now."""
    await _october(district)
    first = await bulletin(db, OCTOBER, tmp_path / "first")

    await district.rename("刘文华", "刘文骅", AFTER)
    await district.rename("乙", "乙某", AFTER)
    await district.rename("联络员", "联络员甲", AFTER)
    await district.hand_over("ZD2026-002", AFTER + timedelta(hours=1), unit=HOUSING, lead="刘文华")
    await district.rename("王建国", "王建军", AFTER + timedelta(hours=2))
    again = await bulletin(db, OCTOBER, tmp_path / "again")

    assert again.text == first.text
    assert again.leaders == first.leaders
    for sheet in ("项目台账", "单位排名", "乡镇排名", "问题清单", "节点清单"):
        assert sheet_rows(again.files["ledger"].read_bytes(), sheet) == sheet_rows(
            first.files["ledger"].read_bytes(), sheet), sheet
    assert [(row["包抓领导"], row["联络员"]) for row in sheet_rows(again.files["ledger"].read_bytes(), "项目台账")] == [
        ("刘文华", "甲"), ("王建国", "乙")]
    assert "联络员 " in " ".join(str(row["办理记录"]) for row in sheet_rows(
        again.files["ledger"].read_bytes(), "问题清单"))

    november = await bulletin(db, parse_period("monthly", "2026-11"), tmp_path / "november")
    assert [(row["包抓领导"], row["联络员"]) for row in sheet_rows(
        november.files["ledger"].read_bytes(), "项目台账")] == [("刘文骅", "甲"), ("刘文骅", "乙某")]
    assert "联络员甲 " in " ".join(str(row["办理记录"]) for row in sheet_rows(
        november.files["ledger"].read_bytes(), "问题清单"))


async def test_a_past_week_and_half_month_name_the_liaisons_as_they_were_then(db: Database, district: District,
                                                                             tmp_path: Path) -> None:
    """填报率 of the week to 18 October and the first half of October's document, read after 乙 was renamed 乙某:
    both name him 乙; the week under way names him 乙某."""
    await _october(district)
    await district.rename("乙", "乙某", AFTER)

    async with db.session() as session:
        then = await load_participation(session, cutoff=date(2026, 10, 18), calendar=WorkCalendar())
        now = await load_participation(session, cutoff=date(2026, 11, 8), calendar=WorkCalendar())
        owed = await halfmonth.owed(session, half=half_containing(date(2026, 10, 1)))

    assert sorted(row.name for row in then.liaisons) == ["乙", "甲"]
    assert sorted(row.name for row in now.liaisons) == ["乙某", "甲"]
    assert [(item.code, item.liaison) for item in owed] == [("ZD2026-001", "甲"), ("ZD2026-002", "乙")]


async def test_a_past_months_latest_report_is_the_last_made_within_it(db: Database, district: District,
                                                                      tmp_path: Path) -> None:
    """A 补报 the 项目办 enters on 3 November for 20 October: October made again counts its money (a fact of a
    day of October, told late) but its 最近填报 stays the last report made in October (16 October, 10:00), in
    the Excel ledger and the 包抓领导's digest alike; November's too, a 补报 being never the liaison's report."""
    await _october(district)
    first = await bulletin(db, OCTOBER, tmp_path / "first")
    admin = await district.person("管理员")
    async with db.session() as session:
        await add_report(session, project_id=district.projects["ZD2026-001"], person_id=admin,
                         local_day=date(2026, 10, 20), amount=Decimal(50), progress_text="", photos=[],
                         channel="console", now=AFTER, actor=Actor(label="管理员", channel="console"),
                         project_code="ZD2026-001", backfill_reason="漏报")

    again = await bulletin(db, OCTOBER, tmp_path / "again")

    def row(rendered: Rendered) -> dict[str, object]:
        return sheet_rows(rendered.files["ledger"].read_bytes(), "项目台账")[0]

    assert (row(first)["累计完成(万元)"], row(again)["累计完成(万元)"]) == (500, 550)
    assert row(first)["最近填报"] == row(again)["最近填报"] == local(date(2026, 10, 16)).replace(tzinfo=None)
    assert "最近填报 2026-10-16 10:00" in _digest(again, district, "刘文华")
    november = await bulletin(db, parse_period("monthly", "2026-11"), tmp_path / "november")
    assert row(november)["最近填报"] == local(date(2026, 10, 16)).replace(tzinfo=None)
