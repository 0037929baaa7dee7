"""Finished projects (竣工/投产) end to end through the real Application and the fake Bot API: their nodes not
marked done are closed, not overdue, wherever nodes are shown or acted on (/project, the admins' node card, the
liaison's /node, the overdue-node tick, the escalation to the 包抓领导, the weekly bulletin's node section), and a
node problem still open when its project is confirmed finished is closed, everyone on it told.

The ledger is the sample's with ZD2026-023 (20万吨玉米秸秆饲草加工, 竣工, liaison 杜敏) left without the done
days of its last two nodes (设备安装完成 planned 2026-08-10, 竣工投产 2026-09-30), as a ledger often is.
ZD2026-001 (在建, liaison 郝芳, lead unit 区住建局 with handler 赵芳, 包抓领导 刘文华) gets a node that is missed
and escalated, and then the project is finished.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import date, time
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select

from bot.clock import FrozenClock, local_today
from bot.config import Settings
from bot.domain.digest_settings import DigestSettings
from bot.domain.periods import parse_period
from bot.domain.workdays import WorkCalendar
from bot.services.ledger_import import import_ledger_files
from bot.services.standings import compute_standings
from jobs import escalation
from jobs import nodes as node_job
from jobs.bulletin_render import Rendered, render_bulletin
from storage import stage_events
from storage.models import Problem, ProblemEvent, Project
from tests.e2e.harness import SAMPLE_LEDGER, TEST_ACTOR, TelegramHarness, build_core
from tests.e2e.test_digests import GROUP, Office, _harness, at, data_dir, settings, texts, to  # noqa: F401
from tests.fakes.bot_api import FakeBotAPI

HAO, ZHAO, LIU, DU, WANG_GANG, SUN, ADMIN = 1001, 3003, 4001, 1023, 3051, 4003, 9001
FINISHED = "ZD2026-023"


def ledger_without_done_days(path: Path) -> Path:
    """The sample workbook with ZD2026-023's 设备安装完成 and 竣工投产 not marked done, and 1,000 of its 2,280 万元
    plan done (the rest is paid on settlement): red against 序时进度 from the import on."""
    workbook = openpyxl.load_workbook(SAMPLE_LEDGER)
    projects = workbook["重点项目包抓责任分解表"]
    [row] = [r for r in projects.iter_rows(min_row=3) if r[0].value == FINISHED]
    assert projects["I2"].value == "截至上月累计完成(万元)" and row[9].value == "竣工"
    row[8].value = 1000
    sheet = workbook["项目节点计划"]
    blanked = 0
    for row in sheet.iter_rows(min_row=2):
        if row[0].value == FINISHED and row[1].value in ("设备安装完成", "竣工投产"):
            row[3].value = None
            blanked += 1
    assert blanked == 2
    out = io.BytesIO()
    workbook.save(out)
    path.write_bytes(out.getvalue())
    return path


@pytest.fixture
async def finished_ledger(
    fake_api: FakeBotAPI,
    settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> AsyncIterator[TelegramHarness]:
    """That ledger imported on Friday 2026-11-20 at 08:00."""
    ledger = ledger_without_done_days(tmp_path / "台账.xlsx")
    core = await build_core(settings, FrozenClock(at(11, 20, 8)), ledger=ledger)
    async for harness in _harness(fake_api, core, settings):
        yield harness


async def _node_problems(tg: TelegramHarness, code: str) -> list[Problem]:
    async with tg.session() as session:
        found = await session.scalars(
            select(Problem)
            .join(Project, Project.id == Problem.project_id)
            .where(Problem.kind == "node", Project.code == code)
            .order_by(Problem.id)
        )
        return list(found.unique().all())


def node_section(text: str) -> str:
    return text.split("项目节点", 1)[1] if "项目节点" in text else ""


async def test_a_finished_projects_nodes_are_closed_everywhere(
    finished_ledger: TelegramHarness,
    settings: Settings,  # noqa: F811
) -> None:
    tg = finished_ledger
    office = Office(tg, settings)
    await office.setup(
        (HAO, "郝芳", "liaison"),
        (ZHAO, "赵芳", "unit"),
        (LIU, "刘文华", "lead"),
        (DU, "杜敏", "liaison"),
        monthly=False,
    )
    await tg.bind(ADMIN, "管理员(区重大项目办)", "admin")
    renderer = tg.core.deps.renderer

    # Friday: the office plans a node of ZD2026-001 for Tuesday
    office.travel(at(11, 20, 10))
    card = await tg.send(ADMIN, "/node ZD2026-001 新增 桥梁桩基 2026-11-24")
    assert "已新增节点：「桥梁桩基」，计划 2026-11-24" in card.text

    # the finished project's nodes, on the day of the import and after: closed, not overdue
    page = await tg.send(DU, f"/project {FINISHED}")
    nodes = page.text.split("节点计划", 1)[1]
    assert "竣工投产：项目已竣工，未登记完成日期" in nodes and "设备安装完成：项目已竣工，未登记完成日期" in nodes
    assert "逾期" not in nodes.replace("逾期 8 天", ""), nodes  # 厂房主体完工 was done 8 days late: still said
    assert "按期完成 1 个" in nodes and "到期 2 个" in nodes  # the closed ones are not counted
    admin_card = await tg.send(ADMIN, f"/node {FINISHED}")
    assert "未完成的节点不再跟踪、不计逾期" in admin_card.text
    assert "竣工投产：计划 2026-09-30（项目已竣工，不再跟踪）" in admin_card.text, admin_card.text
    assert "（逾期未完成）" not in admin_card.text
    assert "补记完成：竣工投产" in admin_card.buttons and "补记完成：设备安装完成" in admin_card.buttons
    # the liaison's plain /node has no open node, but says which finished project has nodes to record
    mine = await tg.send(DU, "/node")
    assert "没有未完成的节点" in mine.text and "以下项目已竣工，还有节点未登记完成日期" in mine.text, mine.text
    assert f"◇ {FINISHED} 20万吨玉米秸秆饲草加工（已竣工）：2 个" in mine.text
    assert mine.buttons == [f"补记节点：{FINISHED}"], mine.buttons
    for closed in (await tg.press(DU, f"补记节点：{FINISHED}"), await tg.send(DU, f"/node {FINISHED}")):
        assert "已竣工，其节点不再跟踪" in closed.text and "补记完成日期" in closed.text
        assert closed.buttons == ["补记完成：设备安装完成", "补记完成：竣工投产"], closed.buttons

    # its real day comes in the chat too: the admin records 设备安装完成 done on 20 August (the project is finished
    # from the day of the import whose ledger said 竣工: today, so today is offered too); a photo is no day here
    asked = await tg.press(ADMIN, "补记完成：设备安装完成")
    assert "请发送该节点实际完成的日期（不晚于竣工日期 2026-11-20）" in asked.text, asked
    assert asked.buttons == ["今天完成（2026-11-20）", "取消"], asked
    photo = await tg.photo(ADMIN, file_id="install-photo")
    assert "请发送该节点实际完成的日期" in photo.text and "已收到照片 1 张" in photo.text, photo.text
    assert "完成日期：2026-08-20" in (await tg.send(ADMIN, "2026-08-20")).text
    done = await tg.press(ADMIN, "完成")
    assert "逾期 10 天完成" in done.text and "项目竣工后补记" in done.text and "照片 1 张" in done.text, done.text
    page = await tg.send(DU, f"/project {FINISHED}")
    assert "设备安装完成：项目已竣工" not in page.text and "竣工投产：项目已竣工，未登记完成日期" in page.text

    # Wednesday 09:00, the first working day after the new node's day: only it is told, only its problem raised
    office.travel(at(11, 25, 9))
    told = (await node_job.run(tg.core.db, tg.clock, renderer)).told
    assert "ZD2026-001:桥梁桩基" in told and not [t for t in told if t.startswith(FINISHED)]
    assert await _node_problems(tg, FINISHED) == []
    sent = await office.deliver()
    assert any("桥梁桩基" in text for text in texts(HAO, sent))
    # three working days after the planned day the node problem goes to the 包抓领导
    office.travel(at(11, 27, 17, 35))
    await node_job.run(tg.core.db, tg.clock, renderer)
    await escalation.run(tg.core.db, tg.clock, renderer)
    [problem] = await _node_problems(tg, "ZD2026-001")
    assert (problem.level, problem.status) == (1, "open")
    await office.deliver()

    # Monday's weekly bulletin lists the overdue node; not the finished project's
    office.travel(at(11, 30, 9))
    await office.tick()
    [bulletin] = texts(GROUP, await office.deliver())
    assert "桥梁桩基" in node_section(bulletin) and FINISHED not in node_section(bulletin)

    # the liaison reports 竣工, the lead unit confirms: the project is finished
    office.travel(at(11, 30, 10))
    assert "已请牵头单位" in (await tg.send(HAO, "/finished ZD2026-001 11月28日")).text
    await office.deliver()
    assert "项目阶段现为「竣工」" in (await tg.press(ZHAO, "确认竣工")).text
    await office.deliver()

    # the next tick closes the node problem and tells everyone it had reached; nothing goes up any more
    office.travel(at(11, 30, 10, 5))
    await node_job.run(tg.core.db, tg.clock, renderer)
    await escalation.run(tg.core.db, tg.clock, renderer)
    sent = await office.deliver()
    for person in (ZHAO, LIU, HAO):
        [notice] = texts(person, sent)
        assert "ZD2026-001 城北高速连接线 已竣工" in notice and f"问题 {problem.number}（节点逾期）已自动销号" in notice
    [problem] = await _node_problems(tg, "ZD2026-001")
    assert problem.status == "closed" and problem.next_check_at is None
    async with tg.session() as session:
        kinds = (
            await session.scalars(
                select(ProblemEvent.kind).where(ProblemEvent.problem_id == problem.id).order_by(ProblemEvent.id)
            )
        ).all()
    assert list(kinds) == ["raised", "escalated", "node_project_finished"]
    issue = await tg.send(HAO, f"/issue {problem.number}")
    assert "项目已竣工，节点逾期问题自动销号" in issue.text
    office.travel(at(12, 4, 10))
    await node_job.run(tg.core.db, tg.clock, renderer)
    ticked = await escalation.run(tg.core.db, tg.clock, renderer)
    assert not [action for action in ticked.actions if action.startswith(problem.number)]
    assert to(HAO, await office.deliver()) == []
    page = await tg.send(HAO, "/project ZD2026-001")
    assert "桥梁桩基：项目已竣工，未登记完成日期" in page.text
    closed = await tg.send(HAO, "/node ZD2026-001")
    assert "已竣工，其节点不再跟踪" in closed.text and "竣工日期 2026-11-28" in closed.text

    # the liaison records the day 桥梁桩基 was really done: on or before the 竣工 day, not after it
    asked = await tg.press(HAO, "补记完成：桥梁桩基")
    assert "不晚于竣工日期 2026-11-28" in asked.text and asked.buttons == ["取消"], asked
    after = await tg.send(HAO, "12月1日")
    assert "晚于项目竣工日期 2026-11-28" in after.text, after.text
    assert "完成日期：2026-11-27" in (await tg.send(HAO, "11月27日")).text
    done = await tg.press(HAO, "完成")
    assert "2026-11-27 完成" in done.text and "逾期 3 天完成" in done.text, done.text
    page = await tg.send(HAO, "/project ZD2026-001")
    assert "桥梁桩基：项目已竣工" not in page.text and "桥梁桩基" in page.text
    [problem] = await _node_problems(tg, "ZD2026-001")
    assert problem.status == "closed"  # closed when the project finished; recording the day changes nothing

    # the next weekly bulletin lists neither
    office.travel(at(12, 7, 9))
    await office.tick()
    [bulletin] = texts(GROUP, await office.deliver())
    section = node_section(bulletin)
    assert "桥梁桩基" not in section and FINISHED not in section and "ZD2026-001" not in section


async def test_a_finished_project_over_two_weeks_is_asked_nothing_and_not_warned(
    finished_ledger: TelegramHarness,
    settings: Settings,  # noqa: F811
) -> None:
    """ZD2026-023, finished and red against 序时进度: its liaison is never reminded, nobody is alerted that it
    has not reported, it keeps its place and money in the ranking but is neither urged nor warned, and a problem
    of its settlement can still be raised and handled."""
    tg = finished_ledger
    office = Office(tg, settings)
    await office.setup((DU, "杜敏", "liaison"), (WANG_GANG, "王刚", "unit"), (SUN, "孙立新", "lead"), monthly=False)
    mine = await tg.send(DU, "/mine")
    assert f"{FINISHED} 20万吨玉米秸秆饲草加工（竣工，无需填报）" in mine.text, mine.text

    # two working weeks of reminders and 连续未填报 alerts: none about the finished project
    for day in range(23, 31):
        for hour in (16, 18):
            office.travel(at(11, day, hour))
            await office.remind(time(hour, 0))
            for call in await office.deliver():
                assert FINISHED not in call.get("text", "") and str(call["chat_id"]) != str(DU), call.params
    for day in range(1, 5):
        for hour in (16, 18):
            office.travel(at(12, day, hour))
            await office.remind(time(hour, 0))
            for call in await office.deliver():
                assert FINISHED not in call.get("text", "") and str(call["chat_id"]) != str(DU), call.params

    # a problem of its settlement is still raised, reaches its lead unit, and is answered
    office.travel(at(12, 3, 10))
    raised = await tg.send(DU, f"/issue {FINISHED} 资金 竣工结算尾款未拨付")
    assert "已登记您反映的问题" in raised.text and "已交办 区发改局" in raised.text, raised.text
    told = texts(WANG_GANG, await office.deliver())
    assert any(FINISHED in text and "尾款" in text for text in told), told

    # Monday's weekly bulletin: ranked with its money, red, but not urged or warned
    office.travel(at(12, 7, 9))
    await office.tick()
    sent = await office.deliver()
    [bulletin] = texts(GROUP, sent)
    assert "（其中 1 个已竣工，不再督促、预警）" in bulletin, bulletin
    # its 包抓领导's digest says it is finished beside its red light
    assert any(f"🔴 {FINISHED} 20万吨玉米秸秆饲草加工（已竣工）：第" in text for text in texts(SUN, sent)), texts(
        SUN, sent
    )
    for section in ("督促", "预警"):
        if f"<b>{section}</b>" in bulletin:
            line = bulletin.split(f"<b>{section}</b>", 1)[1].split("\n", 1)[0]
            assert FINISHED not in line, line
    async with tg.session() as session:
        today = local_today(tg.clock)
        standings = await compute_standings(
            session, period="x", cutoff=today, window_start=today, calendar=WorkCalendar()
        )
    [finished] = [p for p in standings.projects if p.code == FINISHED]
    assert finished.light == "red" and finished.rank is not None and finished.ytd_done == 1000
    assert finished not in standings.warned and finished not in standings.urged


def ledger_with_stage(source: Path, path: Path, code: str, stage: str, node: tuple[str, date]) -> Path:
    """`source` with project `code`'s 建设阶段 set to `stage`, and `node` (name, planned day) in its 节点计划."""
    workbook = openpyxl.load_workbook(source)
    projects = workbook["重点项目包抓责任分解表"]
    [row] = [r for r in projects.iter_rows(min_row=3) if r[0].value == code]
    row[9].value = stage
    workbook["项目节点计划"].append([code, *node])
    workbook.save(path)
    return path


async def _bulletin(tg: TelegramHarness, week: str, out: Path) -> Rendered:
    async with tg.session() as session:
        return await render_bulletin(session, tg.core.deps.renderer, period=parse_period("weekly", week),
                                     calendar=WorkCalendar(), settings=DigestSettings(), out_dir=out)


async def test_a_past_weeks_bulletin_reads_the_same_after_an_import_finishes_its_project(
    finished_ledger: TelegramHarness,
    settings: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    """ZD2026-001 has a node planned Tuesday 24 November, not done: W48's bulletin (out Monday 30 November) lists
    it missed. The ledger imported on Wednesday 2 December says the project is 竣工 (and nothing else new):
    W48 made again reads as it did, and W49's (out 7 December) has the project finished, its node closed."""
    tg = finished_ledger
    office = Office(tg, settings)
    await tg.bind(ADMIN, "管理员(区重大项目办)", "admin")
    office.travel(at(11, 20, 10))
    assert "计划 2026-11-24" in (await tg.send(ADMIN, "/node ZD2026-001 新增 桥梁桩基 2026-11-24")).text

    office.travel(at(12, 1, 10))
    before = await _bulletin(tg, "2026-W48", tmp_path / "before")
    assert "桥梁桩基" in node_section(before.text)

    office.travel(at(12, 2, 10))
    ledger = ledger_without_done_days(tmp_path / "台账.xlsx")
    finished = ledger_with_stage(ledger, tmp_path / "台账-竣工.xlsx", "ZD2026-001", "竣工",
                                 ("桥梁桩基", date(2026, 11, 24)))  # the node kept on the plan
    result = await import_ledger_files(tg.core.db, tg.clock, [finished], actor=TEST_ACTOR)
    assert result.written and not result.issues and not result.needs_as_of
    assert [(c.key, [f.field for f in c.fields]) for c in result.changes] == [("ZD2026-001", ["stage"])]
    async with tg.session() as session:
        project = await session.scalar(select(Project).where(Project.code == "ZD2026-001"))
        assert project is not None and project.stage == "竣工"
        assert await stage_events.finish_day(session, project_id=project.id) == date(2026, 12, 2)

    again = await _bulletin(tg, "2026-W48", tmp_path / "again")
    assert again.text == before.text
    assert again.leaders == before.leaders

    office.travel(at(12, 7, 9))
    after = await _bulletin(tg, "2026-W49", tmp_path / "after")
    assert "桥梁桩基" not in node_section(after.text) and "ZD2026-001" not in node_section(after.text)
    assert not any("桥梁桩基" in line for lines in after.leaders.values() for line in lines)
