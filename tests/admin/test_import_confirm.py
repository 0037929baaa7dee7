"""/import's 确认 writes the plan the preview showed, kept since (bot.services.import_previews), without reading
the file again; a plan this process does not have (another process previewed, or a restart) is worked out again
from the file. Either way, when the database no longer holds what the preview compared the file with, it writes
nothing and previews the file again; changes that do not touch what the import writes do not stop it.

The sample ledger has ZD2026-001 城北高速连接线 with an annual plan of 40,800 万元.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from bot.services import ledger_import
from bot.services.import_previews import PreviewedImports
from storage import audit, stage_events
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
    [entry] = await desk.chat_imports()
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
    assert await desk.chat_imports() == []
    assert desk.labels(ADMIN_NAME) == ["确认", "取消"]

    done = await desk.press(ADMIN_NAME, "确认")
    assert "导入完成" in done and "更新 2" in done
    assert await annual_plan(desk) == Decimal(45000)


async def test_a_plan_this_process_does_not_have_is_imported_from_the_file(desk: Desk) -> None:
    """Several processes serve the bot: one previews, another gets 确认 (or the bot restarted in between). The
    file and the conversation are shared; the plan is not. 确认 imports the file, nothing having changed."""
    await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", ledger_csv("45000")))
    desk.core.deps.previews = PreviewedImports()  # another process: the file and the conversation are shared

    done = await desk.press(ADMIN_NAME, "确认")

    assert "导入完成：「台账.csv」" in done and "未导入" not in done
    assert await annual_plan(desk) == Decimal(45000)
    assert waiting(desk) == []
    [entry] = await desk.chat_imports()
    assert entry.detail["changed"] == {"project": 1}


async def test_another_process_still_sees_a_change_since_the_preview(desk: Desk) -> None:
    await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", ledger_csv("45000")))
    desk.core.deps.previews = PreviewedImports()
    await rename(desk, "ZD2026-003", "新名称项目")

    stale = await desk.press(ADMIN_NAME, "确认")

    assert "未导入：预览之后项目、人员或单位已有变动" in stale and "新名称项目" in stale
    assert await annual_plan(desk) == Decimal(40800)
    assert "导入完成" in await desk.press(ADMIN_NAME, "确认")
    assert await annual_plan(desk) == Decimal(45000)


async def test_a_change_committed_late_with_an_old_update_time_is_seen(desk: Desk) -> None:
    """On PostgreSQL a transaction begun before the preview can commit after it, its row's update time older
    than the newest one the preview saw, and no audit entry newer: 确认 still sees that the row changed."""
    await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", ledger_csv("45000")))
    async with desk.session() as session:
        await session.execute(update(Project).where(Project.code == "ZD2026-003").values(
            name="悄悄改名项目", updated_at=desk.core.clock.now() - timedelta(days=30)))

    stale = await desk.press(ADMIN_NAME, "确认")

    assert "未导入" in stale and "悄悄改名项目" in stale
    assert await annual_plan(desk) == Decimal(40800)


async def test_changes_the_import_does_not_write_over_leave_the_preview_standing(desk: Desk) -> None:
    """A leave recorded, a stage event waiting for an admin, a problem raised: none is what the import compares
    or writes, and 确认 writes the previewed plan."""
    await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", ledger_csv("45000")))
    async with desk.session() as session:
        project = await session.scalar(select(Project).where(Project.code == "ZD2026-001"))
        assert project is not None
        await stage_events.report(session, project=project, kind="start", day=desk.core.clock.now().date(),
                                  person_id=None, now=desk.core.clock.now(), confirmed=False)
        await audit.record(session, actor=Actor(label="另一位管理员", channel="console"), at=desk.core.clock.now(),
                           action="leave.start", object_type="person", object_key="1", detail={})

    done = await desk.press(ADMIN_NAME, "确认")

    assert "导入完成" in done
    assert await annual_plan(desk) == Decimal(45000)


async def test_the_plan_is_forgotten_at_every_end_of_its_flow(desk: Desk) -> None:
    await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", ledger_csv("45000")))
    assert len(desk.core.deps.previews) == 1
    await desk.press(ADMIN_NAME, "取消")
    assert len(desk.core.deps.previews) == 0

    await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", ledger_csv("45000")))
    [path] = waiting(desk)
    path.write_bytes(ledger_csv("46000"))  # the waiting file changed on disk: refused
    assert "已被改动" in await desk.press(ADMIN_NAME, "确认")
    assert len(desk.core.deps.previews) == 0

    await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", ledger_csv("45000")))
    await desk.send(ADMIN_NAME, "/import", document=upload("台账2.csv", ledger_csv("47000")))
    assert len(desk.core.deps.previews) == 1  # only the latest
    await desk.press(ADMIN_NAME, "确认")
    assert len(desk.core.deps.previews) == 0


async def test_a_plan_is_dropped_when_its_conversation_could_have_expired() -> None:
    import asyncio
    from datetime import date

    from bot.services.import_previews import Previewed
    from bot.services.ledger_import import ImportResult

    kept = PreviewedImports(idle=0.01)
    key = kept.keep(Previewed(ImportResult(), date(2026, 11, 20)))
    await asyncio.sleep(0.05)
    assert kept.take(key) is None


async def test_only_the_latest_plan_of_the_day_is_kept() -> None:
    from datetime import date

    from bot.services.import_previews import Previewed
    from bot.services.ledger_import import ImportResult

    kept = PreviewedImports()
    keys = [kept.keep(Previewed(ImportResult(), date(2026, 11, 20))) for _ in range(2)]
    assert kept.take(keys[0]) is None  # pushed out by the newer one
    assert kept.take(keys[1]) is not None
    assert kept.take(keys[1]) is None  # taken once
    key = kept.keep(Previewed(ImportResult(), date(2026, 11, 20)))
    kept.keep(Previewed(ImportResult(), date(2026, 11, 21)))
    assert kept.take(key) is None  # yesterday's: no 确认 could write it


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
