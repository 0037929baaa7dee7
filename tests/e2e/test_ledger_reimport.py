"""Re-importing the ledger through Telegram (PTB polling the fake Bot API) after a month of chat work:
the baseline is dated, so a report it already counts is not counted twice, and what was done in the chat
(a handover, a deactivation) is listed as a conflict and kept unless the admin takes the file's version.

The sample ledger has ZD2026-001 城北高速连接线 (liaison 郝芳, 截至上月累计完成 26,051 万元).
"""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import select

from bot.app import Core
from bot.clock import FrozenClock
from storage.models import AuditEntry, Person, Project
from tests.admin.admin_support import ADMIN_NAME, wire_admin
from tests.admin.test_admin_import import send_document
from tests.e2e.harness import SAMPLE_LEDGER, TelegramHarness

ADMIN_TG, HAO_TG = 9001, 9002
CODE = "ZD2026-001"


def ledger_with_done(done: int, *, hao_status: str | None = None) -> bytes:
    """The sample workbook with ZD2026-001's 截至上月累计完成 (row 3, column I) set to `done`; with
    `hao_status`, a roster column 状态 saying it for 郝芳."""
    workbook = openpyxl.load_workbook(SAMPLE_LEDGER)
    sheet = workbook["重点项目包抓责任分解表"]
    assert sheet["A3"].value == CODE and sheet["I2"].value == "截至上月累计完成(万元)"
    sheet["I3"] = done
    if hao_status is not None:
        people = workbook["人员名单"]
        column = people.max_column + 1
        people.cell(row=1, column=column, value="状态")
        hao = next(row for row in range(2, people.max_row + 1) if people.cell(row=row, column=1).value == "郝芳")
        people.cell(row=hao, column=column, value=hao_status)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def _project(telegram: TelegramHarness) -> tuple[Project, str, Person]:
    async with telegram.session() as session:
        project = await session.scalar(select(Project).where(Project.code == CODE))
        assert project is not None and project.liaison is not None
        hao = await session.scalar(select(Person).where(Person.name == "郝芳"))
        assert hao is not None
        return project, project.liaison.name, hao


@pytest.fixture
async def month_of_chat_work(e2e_core: Core, telegram: TelegramHarness, frozen_clock: FrozenClock,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    """郝芳 reports 1,000 万元 on 11-20; the admin hands her projects over to 严超 and deactivates her;
    then it is 12-03 and the end-of-November ledger (27,051 done as of 11-30) comes in."""
    wire_admin(e2e_core.router, monkeypatch)
    await telegram.bind(ADMIN_TG, ADMIN_NAME, "admin")
    await telegram.bind(HAO_TG, "郝芳")
    assert "已记录" in await telegram.send(HAO_TG, f"/report {CODE} 1000 桩基完成")
    assert "27,051.0" in (await telegram.send(HAO_TG, f"/project {CODE}")).text  # 26,051 + 1,000
    assert "严超" in (await telegram.send(ADMIN_TG, "/handover 郝芳 严超")).text
    assert "已停用 <b>郝芳</b>" in (await telegram.send(ADMIN_TG, "/deactivate 郝芳")).text
    frozen_clock.advance(days=13)


async def test_reimport_with_a_dated_baseline_keeps_the_chat_work(
        month_of_chat_work: None, telegram: TelegramHarness) -> None:
    assert "请发送项目台账文件" in (await telegram.send(ADMIN_TG, "/import")).text
    asked = await send_document(telegram, ADMIN_TG, "11月底台账.xlsx", ledger_with_done(27051))

    # The file names no day and ZD2026-001 has a report this year: the admin is asked.
    assert "没有注明累计完成数截至哪一天" in asked.text, asked
    assert asked.buttons == ["截至 2026-11-30", "截至 2026-12-02", "取消"]
    preview = await telegram.press(ADMIN_TG, "截至 2026-11-30")

    text = preview.text
    assert "导入预览" in text and "累计完成基数截至 2026-11-30（按指定日期），基数已含 1 条已有填报" in text, text
    assert (f"更新项目 {CODE} 城北高速连接线：累计完成基数 26,051.0 → 27,051.0 万元；"
            "基数截至日期 2026-10-31 → 2026-11-30") in text
    assert f"{CODE} 城北高速连接线：本年累计完成 27,051.0 → 27,051.0 万元，基数已含 1 条填报" in text
    # The roster does not say 在用: she stays deactivated, with nothing to choose.
    assert ("- 郝芳 已在系统中停用，台账仍列有此人：保留停用（不任联络员、包抓领导）；"
            "人员名单的状态填「在用」才可恢复启用") in text
    assert (f"1. {CODE} 城北高速连接线 的联络员已在系统中改为 严超，台账为 郝芳：保留 严超"
            in text)
    assert "annual_plan" not in text and "done_before" not in text
    assert preview.buttons == ["✓ 1 保留系统", "1 用台账", "确认", "取消"]

    done = await telegram.press(ADMIN_TG, "确认")
    assert "导入完成" in done.text

    project, liaison, hao = await _project(telegram)
    assert project.baseline_date is not None
    assert (project.done_before, project.baseline_date.isoformat()) == (27051, "2026-11-30")
    assert (liaison, hao.active) == ("严超", False)  # the chat's handover and deactivation stand
    # The report of 11-20 is in the 27,051 already: not counted again.
    assert "年度累计完成：27,051.0 万元" in (await telegram.send(ADMIN_TG, f"/project {CODE}")).text
    async with telegram.session() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "ledger.import")
                                     .order_by(AuditEntry.id.desc()).limit(1))  # the chat's, after the sample's
    assert entry is not None and entry.detail["as_of"] == "2026-11-30"
    assert entry.detail["conflicts"] == {f"handover:{CODE}:liaison": "keep"}


async def test_the_admin_can_take_the_files_version_of_each_conflict(
        month_of_chat_work: None, telegram: TelegramHarness) -> None:
    await telegram.send(ADMIN_TG, "/import")
    await send_document(telegram, ADMIN_TG, "11月底台账.xlsx", ledger_with_done(27051, hao_status="在用"))
    await telegram.press(ADMIN_TG, "截至 2026-11-30")

    chosen = await telegram.press(ADMIN_TG, "全部用台账")
    assert "1. 郝芳 已在系统中停用，台账仍列有此人：按台账恢复启用" in chosen.text
    assert "台账为 郝芳：改为 郝芳" in chosen.text
    assert chosen.buttons[:4] == ["1 保留系统", "✓ 1 用台账", "2 保留系统", "✓ 2 用台账"]
    kept_one = await telegram.press(ADMIN_TG, "1 保留系统")
    assert "保留停用" in kept_one.text
    again = await telegram.press(ADMIN_TG, "1 用台账")
    assert "按台账恢复启用" in again.text

    assert "导入完成" in (await telegram.press(ADMIN_TG, "确认")).text
    _project_row, liaison, hao = await _project(telegram)
    assert (liaison, hao.active) == ("郝芳", True)


async def test_a_baseline_day_typed_as_today_or_later_is_asked_again(
        month_of_chat_work: None, telegram: TelegramHarness) -> None:
    """Today (12-03) is not over: a base up to its end would hold, and never count, the reports sent later today.
    The import refuses it as it refuses a file dated so; the chat asks for the day again and keeps the file."""
    await telegram.send(ADMIN_TG, "/import")
    await send_document(telegram, ADMIN_TG, "11月底台账.xlsx", ledger_with_done(27051))
    for typed in ("2026-12-03", "2026-12-10"):
        again = await telegram.send(ADMIN_TG, typed)
        assert f"「{typed}」不是已过去的日期" in again.text and "没有注明累计完成数截至哪一天" in again.text, again
        assert again.buttons == ["截至 2026-11-30", "截至 2026-12-02", "取消"]
    preview = await telegram.press(ADMIN_TG, "截至 2026-11-30")
    assert "累计完成基数截至 2026-11-30（按指定日期）" in preview.text, preview
