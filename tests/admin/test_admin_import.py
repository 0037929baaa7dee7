"""/import: the ledger sent in the chat, previewed (a dry run), then imported on 确认 or dropped on 取消.

Most tests go through the Router with console accounts and `Incoming.document`; one goes through the real
Telegram channel (PTB polling the fake Bot API), which downloads the document with getFile.
The sample ledger has ZD2026-001 城北高速连接线 with an annual plan of 40,800 万元.
"""

from __future__ import annotations

import asyncio
import io
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from bot.app import Core
from bot.clock import SHANGHAI
from bot.config import Settings
from bot.domain.messages import Incoming, IncomingFile
from handlers import import_upload
from storage import people
from storage.models import Conversation, Person, Project
from tests.admin.admin_support import ADMIN_NAME, Desk, make_desk, wire_admin
from tests.e2e.harness import SAMPLE_LEDGER, Replies, TelegramHarness, e2e_settings
from tests.fakes.bot_api import FakeBotAPI

SAMPLE_CSV = Path(__file__).resolve().parents[2] / "bot" / "demo" / "projects_sample.csv"
CODE = "ZD2026-001"


def ledger_csv(plan: str = "45000") -> bytes:
    """The sample projects CSV with ZD2026-001's annual plan changed."""
    text = SAMPLE_CSV.read_text(encoding="utf-8-sig")
    assert "68000,40800,26051" in text
    return text.replace("68000,40800,26051", f"68000,{plan},26051").encode("utf-8-sig")


def ledger_csv_with_errors(rows: int) -> bytes:
    """The sample projects CSV and `rows` more projects, each with an annual plan that is no number."""
    header, first, *others = SAMPLE_CSV.read_text(encoding="utf-8-sig").splitlines()
    bad = [first.replace("ZD2026-001", f"ZD2026-9{n:02d}").replace(",40800,", ",四万多,") for n in range(rows)]
    return "\n".join([header, first, *others, *bad]).encode("utf-8-sig")


def listed_errors(reply: str) -> tuple[int, list[str], str]:
    """How many errors a reply says the ledger has, the lines listing them, and the line after them."""
    lines = reply.splitlines()
    [count] = [int(line.split("有 ")[1].split(" 处错误")[0]) for line in lines if "处错误，未导入任何数据" in line]
    listed = [line for line in lines if line.startswith("- ")]
    return count, listed, lines[lines.index(listed[-1]) + 1]


def ledger_xlsx(plan: int = 45000) -> bytes:
    """The sample workbook with ZD2026-001's annual plan (row 3, column H) changed."""
    workbook = openpyxl.load_workbook(SAMPLE_LEDGER)
    sheet = workbook["重点项目包抓责任分解表"]
    assert sheet["A3"].value == CODE and sheet["H2"].value == "年度计划投资(万元)"
    sheet["H3"] = plan
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def upload(name: str, data: bytes | None, size: int | None = None) -> IncomingFile:
    return IncomingFile(name=name, size=len(data) if size is None else size, data=data)


async def annual_plan(desk: Desk) -> Decimal:
    async with desk.session() as session:
        project = await session.scalar(select(Project).where(Project.code == CODE))
        assert project is not None
        return project.annual_plan


def waiting(desk: Desk) -> list[Path]:
    folder = desk.data_dir / "imports"
    return sorted(folder.iterdir()) if folder.is_dir() else []


async def test_preview_then_confirm_imports_the_file_and_audits_it(desk: Desk) -> None:
    asked = await desk.send(ADMIN_NAME, "/import")
    assert "请发送项目台账文件（.xlsx 或 .csv，不超过 5 MB）" in asked
    assert "模板即 /export 导出的台账" in asked and "「人员编号」两列可以不填" in asked  # where the template is

    preview = await desk.send(ADMIN_NAME, document=upload("2026台账.csv", ledger_csv()))

    assert "导入预览（尚未写入）：「2026台账.csv」" in preview
    assert "项目：新增 0，更新 1，不变 41" in preview
    assert "更新项目 ZD2026-001 城北高速连接线：年度计划投资 40,800.0 → 45,000.0 万元" in preview
    assert "累计完成基数截至 2026-10-31（台账未注明，按表头「截至上月」计为上月底）" in preview  # the day said
    assert "annual_plan" not in preview
    assert desk.labels(ADMIN_NAME) == ["确认", "取消"]
    assert await annual_plan(desk) == Decimal(40800)  # a dry run writes nothing
    [kept] = waiting(desk)
    assert kept.name.startswith("20261120_100000_") and kept.name.endswith("_2026台账.csv")
    async with desk.session() as session:
        conversation = await session.scalar(select(Conversation))
        assert conversation is not None and conversation.state["path"] == f"imports/{kept.name}"

    done = await desk.press(ADMIN_NAME, "确认")

    assert "导入完成：「2026台账.csv」" in done and "更新 1" in done
    assert await annual_plan(desk) == Decimal(45000)
    assert waiting(desk) == []
    [entry] = await desk.chat_imports()
    assert (entry.actor, entry.channel, entry.object_key) == (ADMIN_NAME, "console", "2026台账.csv")
    assert entry.detail["changed"] == {"project": 1}
    [update] = await desk.audits("project.update")  # the importer's own audit, as the admin
    assert (update.actor, update.channel, update.object_key) == (ADMIN_NAME, "console", CODE)
    assert "已失效" in await desk.tap(ADMIN_NAME, "imp:ok")  # pressed again: the flow is over


async def test_cancel_drops_the_file_and_changes_nothing(desk: Desk) -> None:
    await desk.send(ADMIN_NAME, "/import")
    await desk.send(ADMIN_NAME, document=upload("台账.xlsx", ledger_xlsx()))
    assert len(waiting(desk)) == 1

    assert "已取消导入" in await desk.press(ADMIN_NAME, "取消")

    assert waiting(desk) == [] and await annual_plan(desk) == Decimal(40800)
    assert await desk.chat_imports() == []
    again = await desk.send(ADMIN_NAME, document=upload("台账.xlsx", ledger_xlsx()))  # flow over
    assert "未导入" in again and "请先发送 /import" in again


async def test_a_file_sent_with_import_as_its_caption_is_previewed_at_once(desk: Desk) -> None:
    preview = await desk.send(ADMIN_NAME, "/import", document=upload("台账.xlsx", ledger_xlsx(46000)))
    assert "导入预览" in preview and "更新 1" in preview
    assert "导入完成" in await desk.press(ADMIN_NAME, "确认")
    assert await annual_plan(desk) == Decimal(46000)


def with_extra_sheet(data: bytes) -> bytes:
    """The workbook with a report sheet as /export writes (项目台账), which the import does not read."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    workbook.create_sheet("项目台账").append(["编号", "名称", "累计完成(万元)"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def test_a_sheet_the_import_does_not_read_is_named_in_the_preview(desk: Desk) -> None:
    preview = await desk.send(ADMIN_NAME, "/import", document=upload("台账.xlsx", with_extra_sheet(ledger_xlsx())))
    assert "更新 1" in preview
    assert "未读取的工作表：「项目台账」（只导入「重点项目包抓责任分解表」「人员名单」「项目节点计划」" in preview


async def test_a_ledger_with_errors_is_listed_by_row_and_not_imported(desk: Desk) -> None:
    await desk.send(ADMIN_NAME, "/import")

    reply = await desk.send(ADMIN_NAME, document=upload("台账.csv", ledger_csv(plan="四万多")))

    assert "「台账.csv」有 1 处错误，未导入任何数据" in reply
    assert "「台账.csv」第2行【年度计划投资(万元)】" in reply and "不是数字" in reply
    assert desk.labels(ADMIN_NAME) == ["取消"] and waiting(desk) == []
    fixed = await desk.send(ADMIN_NAME, document=upload("台账.csv", ledger_csv()))  # still waiting for a file
    assert "导入预览" in fixed


async def test_a_ledger_with_many_errors_lists_the_first_fifty(desk: Desk) -> None:
    await desk.send(ADMIN_NAME, "/import")

    reply = await desk.send(ADMIN_NAME, document=upload("台账.csv", ledger_csv_with_errors(60)))

    count, listed, after = listed_errors(reply)
    assert count == 60 and len(listed) == 50, reply
    assert listed[0].startswith("- 「台账.csv」第44行【年度计划投资(万元)】") and "不是数字" in listed[0]
    assert after == "…… 另有 10 处错误未列出"


async def test_the_ledger_is_read_in_the_worker_process_when_the_bot_has_one(desk: Desk) -> None:
    """As `diaodu run` wires it: the file is read and checked in the app's worker process, not in the bot's own
    (where it would hold the replies to everyone else); the preview and the import are the same."""
    desk.core.deps.workers = desk.core.workers
    try:
        preview = await desk.send(ADMIN_NAME, "/import", document=upload("台账.csv", ledger_csv("45000")))
        assert desk.core.workers.started
        assert "导入预览" in preview and "更新 1" in preview
        await desk.press(ADMIN_NAME, "确认")
    finally:
        await asyncio.to_thread(desk.core.workers.close)
    assert await annual_plan(desk) == Decimal("45000")


async def test_a_new_file_replaces_the_one_waiting_for_confirmation(desk: Desk) -> None:
    await desk.send(ADMIN_NAME, "/import")
    await desk.send(ADMIN_NAME, document=upload("一.csv", ledger_csv("45000")))
    desk.core.clock.advance(seconds=5)
    await desk.send(ADMIN_NAME, document=upload("二.csv", ledger_csv("47000")))
    [kept] = waiting(desk)
    assert kept.name.endswith("_二.csv")
    await desk.press(ADMIN_NAME, "确认")
    assert await annual_plan(desk) == Decimal(47000)


@pytest.mark.parametrize(("name", "data", "size", "expected"), [
    ("台账.pdf", b"%PDF-1.4", None, "只接受 .xlsx 或 .csv"),
    ("台账.xls", b"\xd0\xcf\x11\xe0", None, "旧版 .xls"),
    ("台账.xlsx", b"just text renamed", None, "不是有效的 .xlsx 文件"),
    ("台账.xlsx", zipped({"sheet.xml": b"<x/>"}), None, "不是有效的 .xlsx 文件"),
    ("台账.xlsx", zipped({"[Content_Types].xml": b"<Types/>", "xl/bomb.xml": bytes(4 * 1024 * 1024)}), None,
     "解压后过大"),
    ("台账.csv", b"\x80\x81\x82 not text", None, "不是文本格式的 CSV"),
    ("台账.csv", b"a,b\x00c", None, "不是文本格式的 CSV"),
    ("台账.xlsx", None, 6 * 1024 * 1024, "超过 5 MB"),
    ("台账.xlsx", None, 1000, "没能收到"),
])
async def test_files_that_are_not_ledgers_are_refused_before_reading(
        desk: Desk, name: str, data: bytes | None, size: int | None, expected: str) -> None:
    await desk.send(ADMIN_NAME, "/import")

    reply = await desk.send(ADMIN_NAME, document=upload(name, data, size))

    assert expected in reply
    assert waiting(desk) == [] and desk.labels(ADMIN_NAME) == ["取消"]


def test_zip_size_limits_count_what_the_members_inflate_to(monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    rng = random.Random(1)
    noise = "".join(rng.choice("0123456789abcdef") for _ in range(400_000)).encode()
    workbook = zipped({"[Content_Types].xml": b"<Types/>", "xl/worksheets/sheet1.xml": noise})
    assert import_upload.refusal_for(upload("a.xlsx", workbook), max_bytes=5 * 1024 * 1024) is None
    monkeypatch.setattr(import_upload, "ZIP_MAX_BYTES", 300_000)  # under the ratio, over the size
    assert import_upload.refusal_for(upload("a.xlsx", workbook), max_bytes=5 * 1024 * 1024) == "zip_bomb"
    assert import_upload.refusal_for(upload("a.xlsx", ledger_xlsx()), max_bytes=5 * 1024 * 1024) is None


async def test_the_size_cap_is_a_setting(ledger_template: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    small = await make_desk(ledger_template, tmp_path / "data", monkeypatch, IMPORT_MAX_BYTES=2048)
    try:
        assert "不超过 2 KB" in await small.send(ADMIN_NAME, "/import")
        assert "超过 2 KB" in await small.send(ADMIN_NAME, document=upload("台账.csv", ledger_csv()))
    finally:
        await small.core.db.dispose()


async def test_non_admins_can_neither_start_nor_confirm_an_import(desk: Desk) -> None:
    assert "没有权限" in await desk.send("郝芳", "/import")
    assert "没有权限" in await desk.send("郝芳", "/import", document=upload("台账.csv", ledger_csv()))
    await desk.send(ADMIN_NAME, "/import")
    await desk.send(ADMIN_NAME, document=upload("台账.csv", ledger_csv()))
    liaison = await desk.account("郝芳")
    outcome = await desk.router.handle(Incoming(channel="console", user_id=liaison, chat_id=liaison,
                                                callback_data="imp:ok"))
    assert "没有权限" in outcome.replies[0].html
    assert await annual_plan(desk) == Decimal(40800) and len(waiting(desk)) == 1


# --- through Telegram ------------------------------------------------------------------------------

ADMIN_TG = 9001


@pytest.fixture
def tg_settings(fake_api: FakeBotAPI, tmp_path: Path) -> Settings:
    return e2e_settings(fake_api, DATA_DIR=str(tmp_path / "data"))


async def send_document(telegram: TelegramHarness, user_id: int, name: str, data: bytes, *,
                        size: int | None = None, caption: str = "") -> Replies:
    """The user sends a file; the fake serves its bytes through getFile and the file URL."""
    fake = telegram.fake
    file_id = fake.add_file(data)
    update = fake.text_update(user_id, "")
    message = update["message"]
    del message["text"]
    message["document"] = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": name,
                           "mime_type": "application/octet-stream",
                           "file_size": len(data) if size is None else size}
    if caption:
        message["caption"] = caption
    mark = len(fake.calls)
    fake.enqueue_update(update)
    await telegram.wait_processed(update["update_id"])
    return Replies([c for c in fake.calls[mark:] if c.matches(None, {"chat_id": user_id})])


async def test_import_through_telegram_downloads_previews_and_imports(
        e2e_core: Core, telegram: TelegramHarness, fake_api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch,
        tg_settings: Settings) -> None:
    wire_admin(e2e_core.router, monkeypatch)
    await telegram.bind(ADMIN_TG, ADMIN_NAME, "admin")
    assert "请发送项目台账文件" in (await telegram.send(ADMIN_TG, "/import")).text

    preview = await send_document(telegram, ADMIN_TG, "重点项目台账.xlsx", ledger_xlsx())

    assert "<b>导入预览</b>" in preview.text and "更新 1" in preview.text, preview
    assert preview.buttons == ["确认", "取消"]
    assert len(fake_api.calls_of("getFile", ok=True)) == 1 and len(fake_api.downloads) == 1
    done = await telegram.press(ADMIN_TG, "确认")
    assert "<b>导入完成</b>" in done.text
    async with telegram.session() as session:
        plan = await session.scalar(select(Project.annual_plan).where(Project.code == CODE))
        assert plan == Decimal(45000)
        assert await session.scalar(select(func.count(Conversation.id))) == 0
    assert not any((tg_settings.data_dir / "imports").iterdir())


async def test_telegram_does_not_download_a_document_over_the_cap(
        e2e_core: Core, telegram: TelegramHarness, fake_api: FakeBotAPI,
        monkeypatch: pytest.MonkeyPatch) -> None:
    wire_admin(e2e_core.router, monkeypatch)
    await telegram.bind(ADMIN_TG, ADMIN_NAME, "admin")

    replies = await send_document(telegram, ADMIN_TG, "台账.xlsx", b"PK", size=6 * 1024 * 1024,
                                  caption="/import")

    assert "超过 5 MB" in replies.text
    assert fake_api.calls_of("getFile") == []



async def test_uploads_stamped_the_same_instant_do_not_overwrite_each_other(desk: Desk) -> None:
    second_chat = "admin-second-device"
    async with desk.session() as session:
        [admin] = await people.find_people_by_name(session, name=ADMIN_NAME)
        await people.bind_account(session, person=admin, channel="console", external_id=second_chat,
                                  chat_id=second_chat, display_name=None, now=desk.core.clock.now())
    for chat, plan in ((None, "45000"), (second_chat, "47000")):  # the clock does not move in between
        await desk.send(ADMIN_NAME, "/import", user_id=chat)
        assert "导入预览" in await desk.send(ADMIN_NAME, document=upload("台账.csv", ledger_csv(plan)),
                                           user_id=chat)
    first, second = waiting(desk)
    assert first.name != second.name and first.read_bytes() != second.read_bytes()


async def test_telegram_downloads_a_document_only_for_an_admin_importing_it(
        e2e_core: Core, telegram: TelegramHarness, fake_api: FakeBotAPI,
        monkeypatch: pytest.MonkeyPatch) -> None:
    wire_admin(e2e_core.router, monkeypatch)
    await telegram.bind(1001, "郝芳", "liaison")
    await telegram.bind(ADMIN_TG, ADMIN_NAME, "admin")
    stranger = 4242
    telegram.fake.user(stranger, first_name="陌生人")

    as_caption = await send_document(telegram, 1001, "台账.xlsx", ledger_xlsx(), caption="/import")
    assert "没有权限" in as_caption.text
    assert "由区项目办管理员导入" in (await send_document(telegram, 1001, "台账.xlsx", ledger_xlsx())).text
    await send_document(telegram, stranger, "台账.xlsx", ledger_xlsx(), caption="/import")
    await send_document(telegram, ADMIN_TG, "台账.xlsx", ledger_xlsx())  # an admin, but no /import
    await telegram.send(ADMIN_TG, "/import")
    refused = await send_document(telegram, ADMIN_TG, "说明.pdf", b"%PDF-1.4")  # not a ledger: not fetched
    assert "不是台账文件" in refused.text, refused

    assert fake_api.calls_of("getFile") == [] and fake_api.downloads == []
    preview = await send_document(telegram, ADMIN_TG, "台账.xlsx", ledger_xlsx())
    assert "<b>导入预览</b>" in preview.text
    assert len(fake_api.calls_of("getFile")) == 1 and len(fake_api.downloads) == 1


async def test_the_node_sheet_alone_is_previewed_and_imported_in_the_chat(desk: Desk) -> None:
    nodes_csv = SAMPLE_CSV.with_name("nodes_sample.csv").read_text(encoding="utf-8-sig")
    assert "ZD2026-001,路基完成,2027-02-04,," in nodes_csv
    moved = nodes_csv.replace("ZD2026-001,路基完成,2027-02-04,,", "ZD2026-001,路基完成,2027-02-20,,")
    await desk.send(ADMIN_NAME, "/import")
    preview = await desk.send(ADMIN_NAME, document=upload("节点计划.csv", moved.encode("utf-8-sig")))
    assert "节点：新增 0，更新 1，移出计划 0，不变 196（节点表列出 42 个项目，按表调整这些项目的节点）" in preview
    assert "不在台账中" not in preview  # a node sheet alone says nothing of the projects it leaves out
    done = await desk.press(ADMIN_NAME, "确认")
    assert "导入完成" in done and "节点：新增 0，更新 1" in done
    [entry] = await desk.chat_imports()
    assert entry.detail["changed"] == {"node": 1}
    [update] = await desk.audits("node.update")
    assert update.object_key == "ZD2026-001" and update.detail["changed"] == {"planned_on": "2027-02-20"}


async def test_a_node_sheet_naming_some_projects_replaces_their_nodes_only(desk: Desk) -> None:
    nodes_csv = SAMPLE_CSV.with_name("nodes_sample.csv").read_text(encoding="utf-8-sig")
    await desk.send(ADMIN_NAME, "/import")
    await desk.send(ADMIN_NAME, document=upload("节点计划.csv", nodes_csv.encode("utf-8-sig")))
    await desk.press(ADMIN_NAME, "确认")
    header, *rows = nodes_csv.splitlines()
    *one, last = [r for r in rows if r.startswith("ZD2026-001,")]  # its last node left out
    await desk.send(ADMIN_NAME, "/import")
    preview = await desk.send(ADMIN_NAME, document=upload("城北节点.csv", "\n".join([header, *one]).encode()))
    assert (f"节点：新增 0，更新 0，移出计划 1，不变 {len(one)}（节点表列出 1 个项目，按表调整这些项目的节点；"
            "另有 41 个项目未列出，其节点保持不变）") in preview, preview
    await desk.press(ADMIN_NAME, "确认")
    [removed] = await desk.audits("node.remove")
    assert (removed.object_key, removed.detail["name"]) == ("ZD2026-001", last.split(",")[1])


async def test_an_undated_ledger_in_january_asks_the_day_its_plans_are_of(desk: Desk) -> None:
    """In January 「截至上月」 is last December: the file may be last year's ledger or this year's."""
    desk.core.clock.set(datetime(2027, 1, 8, 10, 0, tzinfo=SHANGHAI))
    await desk.send(ADMIN_NAME, "/import")
    asked = await desk.send(ADMIN_NAME, document=upload("2027台账.csv", ledger_csv()))
    assert "表头「截至上月」现在是指上一年度 12 月底，无法确定年度计划投资记入哪一年" in asked, asked
    assert desk.labels(ADMIN_NAME) == ["截至 2026-12-31", "截至 2027-01-07", "取消"]
    preview = await desk.press(ADMIN_NAME, "截至 2027-01-07")
    assert "累计完成基数截至 2027-01-07（按指定日期）" in preview and "年度计划投资按 2027 年度录入" in preview


async def _exported(desk: Desk) -> bytes:
    """The workbook /export sends the admin."""
    await desk.send(ADMIN_NAME, "/export")
    [attachment] = [r.attachment for r in desk.last[ADMIN_NAME].replies if r.attachment is not None]
    return (desk.data_dir / attachment.path).read_bytes()


async def test_the_office_edits_the_export_and_sends_it_back(desk: Desk) -> None:
    """The round trip a 项目办 makes in the chat: /export, the workbook edited in Excel (ZD2026-001's plan
    changed; a project added whose liaison is one of two 联络员 王伟 without a phone, numbered 1 and 2 by hand),
    sent back with /import, previewed and confirmed. The next /export, sent back as it is, changes nothing."""
    workbook = openpyxl.load_workbook(io.BytesIO(await _exported(desk)))
    projects, roster = workbook["重点项目包抓责任分解表"], workbook["人员名单"]
    assert projects["A3"].value == CODE
    projects["H3"] = 45000
    added = [c.value for c in projects[3]]
    added[:2], added[15:17] = ["ZD2026-043", "城南污水处理厂提标改造"], ["王伟", None]
    projects.append(added)
    roster.append(["王伟", "联络员", "区住建局", None, "ZD2026-043", None, 1])
    roster.append(["王伟", "联络员", "区水务局", None, None, None, 2])
    edited = io.BytesIO()
    workbook.save(edited)

    preview = await desk.send(ADMIN_NAME, "/import", document=upload("台账.xlsx", edited.getvalue()))
    assert "项目：新增 1，更新 1，不变 41" in preview and "人员：新增 2，更新 0" in preview, preview
    assert "导入完成" in await desk.press(ADMIN_NAME, "确认")
    async with desk.session() as session:
        project = await session.scalar(select(Project).where(Project.code == "ZD2026-043"))
        assert project is not None and project.liaison is not None and project.liaison.name == "王伟"
        wangs = await session.scalar(select(func.count()).select_from(Person).where(Person.name == "王伟"))
    assert wangs == 2 and await annual_plan(desk) == Decimal(45000)

    again = await desk.send(ADMIN_NAME, "/import", document=upload("台账2.xlsx", await _exported(desk)))
    assert "项目：新增 0，更新 0，不变 43" in again and "人员：新增 0，更新 0，不变 69" in again, again
