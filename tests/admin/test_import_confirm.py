"""/import's 确认 writes the plan the preview showed, kept since (bot.services.import_previews), without reading
the file again; when the database changed what the preview compared the file with, or the plan is gone (a
restart), it writes nothing and previews the file again.

The sample ledger has ZD2026-001 城北高速连接线 with an annual plan of 40,800 万元.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.services import ledger_import
from bot.services.import_previews import PreviewedImports
from storage import audit
from storage.audit import Actor
from storage.models import Project
from tests.admin.admin_support import ADMIN_NAME, Desk
from tests.admin.test_admin_import import annual_plan, ledger_csv, upload, waiting


async def test_confirm_writes_the_previewed_plan_without_reading_the_file_again(
        desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    preview = await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", ledger_csv("45000")))
    assert "导入预览" in preview and "更新 1" in preview

    def not_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was read again at 确认")

    monkeypatch.setattr(ledger_import, "read_ledger", not_again)
    done = await desk.press(ADMIN_NAME, "确认")

    assert "导入完成：「台账.csv」" in done and "更新 1" in done
    assert await annual_plan(desk) == Decimal(45000)
    assert waiting(desk) == []
    [entry] = await desk.audits("ledger.import")
    assert entry.detail["changed"] == {"project": 1}


async def rename(desk: Desk, code: str, name: str) -> None:
    """Another admin renames a project in the chat (as /project_set writes it: the row and its audit entry)."""
    async with desk.session() as session:
        project = await session.scalar(select(Project).where(Project.code == code))
        assert project is not None
        before, project.name, project.updated_at = project.name, name, desk.core.clock.now()
        await audit.record(session, actor=Actor(label="另一位管理员", channel="console"), at=desk.core.clock.now(),
                           action="project.update", object_type="project", object_key=code,
                           detail={"field": "name", "before": before, "after": name})


async def test_a_change_in_the_chat_after_the_preview_is_not_written_over(desk: Desk) -> None:
    """Another admin renames a project between the preview and 确认: the previewed plan would write its old
    name back without saying so. 确认 writes nothing and shows the preview again, which lists the rename;
    确认 then imports it."""
    preview = await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", ledger_csv("45000")))
    assert "更新 1" in preview
    await rename(desk, "ZD2026-003", "新名称项目")

    stale = await desk.press(ADMIN_NAME, "确认")

    assert "「台账.csv」未导入：预览之后项目、人员或单位已有变动" in stale
    assert "导入预览（尚未写入）" in stale and "更新 2" in stale and "新名称项目" in stale
    assert await annual_plan(desk) == Decimal(40800)  # nothing written
    assert await desk.audits("ledger.import") == []
    assert desk.labels(ADMIN_NAME) == ["确认", "取消"]

    done = await desk.press(ADMIN_NAME, "确认")
    assert "导入完成" in done and "更新 2" in done
    assert await annual_plan(desk) == Decimal(45000)


async def test_a_plan_lost_with_a_restart_is_previewed_again(desk: Desk) -> None:
    await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", ledger_csv("45000")))
    desk.core.deps.previews = PreviewedImports()  # the bot restarted: the file and the conversation remain

    stale = await desk.press(ADMIN_NAME, "确认")

    assert "未导入" in stale and "导入预览（尚未写入）" in stale
    assert await annual_plan(desk) == Decimal(40800)
    assert len(waiting(desk)) == 1
    assert "导入完成" in await desk.press(ADMIN_NAME, "确认")
    assert await annual_plan(desk) == Decimal(45000)


async def test_only_the_latest_plans_of_the_day_are_kept() -> None:
    from datetime import date

    from bot.services.import_previews import Previewed
    from bot.services.ledger_import import ImportResult
    from storage.ledger_state import LedgerMark

    kept = PreviewedImports(kept=2)
    mark = LedgerMark(1, (1,), None)
    keys = [kept.keep(Previewed(ImportResult(), mark, date(2026, 11, 20))) for _ in range(3)]
    assert kept.take(keys[0]) is None  # pushed out by newer ones
    assert kept.take(keys[2]) is not None
    assert kept.take(keys[2]) is None  # taken once
    kept.keep(Previewed(ImportResult(), mark, date(2026, 11, 21)))
    assert kept.take(keys[1]) is None  # yesterday's: no 确认 could write it


def dated(data: bytes) -> bytes:
    """The ledger with its baseline's day in the header (「截至2026年11月15日累计完成(万元)」)."""
    text = data.decode("utf-8-sig")
    assert "截至上月累计完成(万元)" in text
    return text.replace("截至上月累计完成(万元)", "截至2026年11月15日累计完成(万元)").encode("utf-8-sig")


async def test_a_report_after_the_preview_of_a_dated_ledger_changes_nothing_it_writes(desk: Desk) -> None:
    """Liaisons go on reporting while the admin reads the preview: with the baseline's day given, a report
    changes nothing the plan writes, and 确认 writes it."""
    preview = await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", dated(ledger_csv("45000"))))
    assert "导入预览" in preview and "截至 2026-11-15" in preview
    assert "已记录填报" in await desk.send("郝芳", "/report ZD2026-001 100 路基施工")

    done = await desk.press(ADMIN_NAME, "确认")

    assert "导入完成" in done
    assert await annual_plan(desk) == Decimal(45000)


async def test_a_report_after_the_preview_of_an_undated_ledger_is_previewed_again(desk: Desk) -> None:
    """Without a day the baseline counts up to 上月底, which a report sent meanwhile (one for last month,
    late) could make matter: 确认 previews again instead."""
    preview = await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", ledger_csv("45000")))
    assert "台账未注明" in preview
    assert "已记录填报" in await desk.send("郝芳", "/report ZD2026-001 100 路基施工")

    stale = await desk.press(ADMIN_NAME, "确认")

    assert "未导入" in stale
    assert await annual_plan(desk) == Decimal(40800)
