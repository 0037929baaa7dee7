"""The half-monthly written report (半月报) end to end, travelling in time through the real python-telegram-bot
Application and the fake Bot API: the ask on the 16th, a liaison's guided report (采用 the prefill, type over
it, submit, send again), the office's .docx on the compile day, opened with python-docx.

2026-11-16 is a Monday: the first half of November is asked for that day at 09:00 and compiled two working
days later, Wednesday 11-18 at 09:00. 郝芳 (1001) is liaison of ZD2026-001, 武杰 (1002) of ZD2026-002;
the admin 管理员(区重大项目办) is 9001.
"""

from __future__ import annotations

import io
import re

from docx import Document
from sqlalchemy import select

from bot.config import Settings
from bot.domain.halfmonth import containing
from jobs import halfmonth
from storage import project_versions
from storage.models import Bulletin, HalfMonthReport, Person, Project
from tests.e2e.harness import TelegramHarness
from tests.e2e.test_digests import Office, at, data_dir, imported, settings, to  # noqa: F401 - fixtures

HAO, WU, ADMIN = 1001, 1002, 9001


async def _run(office: Office) -> halfmonth.HalfMonthRun:
    return await halfmonth.run(office.core.db, office.core.deps.renderer, now=office.tg.clock.now(),
                               files_root=office.settings.data_dir)


def _docx_text(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def _parts(data: bytes) -> dict[str, list[str]]:
    """The document's paragraphs under each numbered section heading (一、二、…), by heading."""
    parts: dict[str, list[str]] = {}
    current: list[str] | None = None
    for paragraph in Document(io.BytesIO(data)).paragraphs:
        text = paragraph.text.strip()
        if re.match(r"^[一二三四五六七八九十]+、", text):
            current = parts.setdefault(text, [])
        elif current is not None and text:
            current.append(text)
    return parts


async def test_ask_fill_in_and_compile(imported: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    office = Office(imported, settings)
    tg, fake = imported, imported.fake
    await office.setup((HAO, "郝芳", "liaison"), (WU, "武杰", "liaison"))
    await tg.bind(ADMIN, "管理员(区重大项目办)", "admin")

    office.travel(at(11, 10, 17))
    await office.report(HAO, "ZD2026-001", "120万", "主体结构施工至第8层")
    office.travel(at(11, 12, 17))
    await office.report(HAO, "ZD2026-001", "80万", "主体结构施工至第10层")
    problem = await tg.send(HAO, "/issue ZD2026-001 用地 还有12户未签约")
    assert "W0001" in problem.text

    office.travel(at(11, 16, 8, 59))  # before the monthly time: nothing yet
    assert (await _run(office)).owing == []
    office.travel(at(11, 16, 9, 0))
    run = await _run(office)
    assert "郝芳" in run.owing and "武杰" in run.owing and run.compiled is None
    asked = [c for c in await office.deliver() if str(c["chat_id"]) == str(HAO)]
    assert len(asked) == 1 and "2026年11月上半月半月报" in asked[0]["text"] and "ZD2026-001" in asked[0]["text"]
    await _run(office)  # the next tick asks nobody twice
    assert to(HAO, await office.deliver()) == []

    # 郝芳 fills in ZD2026-001: the prefill comes from her reports and the open problem
    step1 = await tg.press(HAO, "填写 ZD2026-001")
    assert "第1步" in step1.text and "填报进度2次，完成投资200.0万元" in step1.text, step1.text
    assert "主体结构施工至第10层" in step1.text and "采用" in step1.buttons
    step2 = await tg.press(HAO, "采用")
    assert "第2步" in step2.text and "W0001（用地）还有12户未签约" in step2.text, step2.text
    step3 = await tg.send(HAO, "征地还有12户未签约，影响二期施工")
    assert "第3步" in step3.text and "采用" not in step3.buttons  # nothing answered yet: no proposal
    confirm = await tg.send(HAO, "协调区自然资源局11月底前完成签约")
    assert "提交" in confirm.buttons and "征地还有12户未签约" in confirm.text
    saved = await tg.press(HAO, "提交")
    assert "已报送 ZD2026-001" in saved.text and "11月18日汇总" in saved.text, saved.text

    # sent again before the compile day: replaced, one row
    await tg.send(HAO, "/halfmonth ZD2026-001")
    await tg.press(HAO, "采用")
    await tg.send(HAO, "征地还有10户未签约")
    await tg.send(HAO, "11月25日前完成签约")
    again = await tg.press(HAO, "提交")
    assert "替换了此前报送的内容" in again.text
    async with tg.session() as session:
        rows = (await session.scalars(select(HalfMonthReport))).all()
    assert [(r.period_start, r.problems) for r in rows] == [(containing(at(11, 1).date()).start, "征地还有10户未签约")]

    mine = await tg.send(HAO, "/halfmonth")
    assert "✅ ZD2026-001" in mine.text and "重填 ZD2026-001" in mine.buttons

    office.travel(at(11, 17, 9))
    assert (await _run(office)).compiled is None  # not the compile day yet
    office.travel(at(11, 18, 9, 1))
    run = await _run(office)
    assert run.compiled is not None and run.compiled.exists()
    calls = await office.deliver()
    [summary] = to(ADMIN, calls)
    assert "2026年11月上半月半月报已汇总" in summary["text"] and "ZD2026-002" in summary["text"]
    [document] = to(ADMIN, calls, "sendDocument")
    text = _docx_text(fake.files[document.result["document"]["file_id"]])
    assert "关于2026年11月上半月全区重点项目建设进展情况的报告" in text
    assert "征地还有10户未签约" in text and "11月25日前完成签约" in text
    parts = _parts(fake.files[document.result["document"]["file_id"]])
    assert list(parts) == ["一、总体情况", "二、各项目进展情况", "三、未报送情况"]
    # each project once: 郝芳's under 二 with what she sent, 武杰's (not sent) named under 三 only
    assert "（一）城北高速连接线（ZD2026-001）" in parts["二、各项目进展情况"]
    assert not any("ZD2026-002" in line for line in parts["二、各项目进展情况"])
    missing = "\n".join(parts["三、未报送情况"])
    assert "ZD2026-002 滨江四期沿江路（牵头单位：区城管局，联络员：武杰）" in missing and "ZD2026-001" not in missing
    assert "未报送半月报" in missing and text.count("ZD2026-002") == 2  # the table's row and this line
    assert (await _run(office)).compiled is None  # at most once
    async with tg.session() as session:
        assert (await session.scalars(select(Bulletin.period).where(Bulletin.kind == "halfmonth"))).all() == [
            "2026-11-01"]

    late = await tg.send(WU, "/halfmonth ZD2026-002")  # 武杰 is late: still kept, and told so
    assert "第1步" in late.text
    await tg.send(WU, "完成桩基施工")
    await tg.send(WU, "无")
    await tg.send(WU, "继续主体施工")
    saved = await tg.press(WU, "提交")
    assert "项目办已于11月18日汇总" in saved.text


async def test_a_liaison_reports_only_on_their_projects(imported: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    office = Office(imported, settings)
    tg = imported
    await office.setup((HAO, "郝芳", "liaison"))
    office.travel(at(11, 20, 10))
    refused = await tg.send(HAO, "/halfmonth ZD2026-002")
    assert "不是您联络的项目" in refused.text
    unknown = await tg.send(HAO, "/halfmonth ZD2099-999")
    assert "没有找到项目" in unknown.text
    started = await tg.send(HAO, "/halfmonth ZD2026-001")
    assert "2026年11月上半月" in started.text
    too_long = await tg.send(HAO, "进" * 2001)
    assert "2000" in too_long.text and "第2步" not in too_long.text
    cancelled = await tg.send(HAO, "/cancel")
    assert cancelled.text
    async with tg.session() as session:
        assert (await session.scalars(select(HalfMonthReport))).all() == []


async def test_a_project_finished_within_the_half_month_owes_its_last_report(
        imported: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """ZD2026-002 (武杰's) is set 竣工 on 11-10: it had progress in the first half of November, so 武杰 is asked
    for that half-month on 11-16 and the compiled table has its row; for the second half (asked 12-01) it owes
    nothing."""
    office = Office(imported, settings)
    tg = imported
    await office.setup((HAO, "郝芳", "liaison"), (WU, "武杰", "liaison"))
    await tg.bind(ADMIN, "管理员(区重大项目办)", "admin")
    office.travel(at(11, 10, 10))
    asked = await tg.send(ADMIN, "/project_set ZD2026-002 阶段 竣工")
    if "确认修改" in asked.buttons:
        asked = await tg.press(ADMIN, "确认修改")
    assert "竣工" in asked.text
    await office.deliver()

    office.travel(at(11, 16, 9))
    run = await _run(office)
    assert "武杰" in run.owing and "郝芳" in run.owing
    asked_wu = to(WU, await office.deliver())
    assert len(asked_wu) == 1 and "ZD2026-002" in asked_wu[0]["text"]
    assert "ZD2026-002" in (await tg.send(WU, "/halfmonth")).text
    status = await tg.send(ADMIN, "/halfmonth")
    assert "ZD2026-002" in status.text, status.text

    office.travel(at(11, 18, 9, 1))
    run = await _run(office)
    assert run.compiled is not None
    [document] = to(ADMIN, await office.deliver(), "sendDocument")
    parts = _parts(imported.fake.files[document.result["document"]["file_id"]])
    missing = "\n".join(next(lines for title, lines in parts.items() if "未报送情况" in title))
    assert "ZD2026-002 滨江四期沿江路（牵头单位：区城管局，联络员：武杰）" in missing

    office.travel(at(12, 1, 9))
    run = await _run(office)
    assert "郝芳" in run.owing and "武杰" not in run.owing
    assert to(WU, await office.deliver()) == []
    assert "ZD2026-002" not in (await tg.send(WU, "/halfmonth")).text


async def test_a_project_handed_over_after_the_half_month_is_reported_by_its_liaison_then(
        imported: TelegramHarness, settings: Settings) -> None:  # noqa: F811
    """ZD2026-001 handed from 郝芳 to 武杰 on 17 November: the first half of November is still 郝芳's to report
    on (he held it at its end, and the document names him), as the project is now 武杰's too."""
    office = Office(imported, settings)
    tg = imported
    await office.setup((HAO, "郝芳", "liaison"), (WU, "武杰", "liaison"))
    office.travel(at(11, 17, 10))
    async with tg.session() as session:
        project = await session.scalar(select(Project).where(Project.code == "ZD2026-001"))
        wu = await session.scalar(select(Person).where(Person.name == "武杰"))
        assert project is not None and wu is not None
        project.liaison_id = wu.id
        await project_versions.record(session, [project], at=tg.clock.now())
    office.travel(at(11, 20, 10))

    started = await tg.send(HAO, "/halfmonth ZD2026-001")
    assert "2026年11月上半月" in started.text and "不是您联络的项目" not in started.text
    assert "不是您联络的项目" not in (await tg.send(HAO, "进展顺利")).text  # the next step goes on
    await tg.send(HAO, "/cancel")
    assert "2026年11月上半月" in (await tg.send(WU, "/halfmonth ZD2026-001")).text
