"""The 确认 of an older message, pressed after a newer draft was shown, in /report, /issue and 半月报 (the 确认替换
of a second report too): it stores nothing and says the button is out of date, and the newest message's 确认 stores
the newest draft. A 确认 of a message sent before the 确认 named its draft (an older version's: its data is the
bare ``rp:ok``), pressed while such a draft waits, stores nothing either: the draft is shown again, with a 确认
that stores it. A node's 完成 and 取消 left on an older message neither mark the node begun since nor cancel the
report under way."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from bot.config import Settings
from storage import conversations
from storage.models import AuditEntry, HalfMonthReport, Problem
from tests.e2e.harness import Replies, TelegramHarness
from tests.e2e.test_backfill_old_buttons import press_on
from tests.e2e.test_digests import Office, at, data_dir, imported, settings  # noqa: F401  (fixtures)

HAO, WU = 1001, 1002  # 郝芳, liaison of ZD2026-001; 武杰, of ZD2026-002
CODE, NODE_CODE = "ZD2026-001", "ZD2026-002"
OUTDATED = "这个按钮已失效"


def last_id(replies: Replies) -> int:
    """The id of the last message of `replies` (the one with the buttons)."""
    return replies.messages[-1].result["message_id"]


async def summary(tg: TelegramHarness, amount: str) -> Replies:
    """A guided /report of ZD2026-001 up to its summary (no photos)."""
    await tg.send(HAO, f"/report {CODE}")
    await tg.send(HAO, f"{amount} 桩基施工")
    shown = await tg.press(HAO, "完成（不再上传照片）")
    assert "请核对填报内容" in shown.text and "确认" in shown.buttons, shown
    return shown


async def as_before_the_upgrade(tg: TelegramHarness, user: int, message_id: int) -> None:
    """Makes the waiting draft, and message `message_id`'s buttons, what an older version left: no token (the
    buttons' data ``rp:ok``, the state without its draft's)."""
    keyboard = tg.fake.messages[(user, message_id)]["reply_markup"]["inline_keyboard"]
    for row in keyboard:
        for button in row:
            prefix, kind, *_token = button["callback_data"].split(":")
            button["callback_data"] = f"{prefix}:{kind}"
    async with tg.session() as session:
        held = await conversations.get_conversation(session, channel="telegram", chat_id=str(user),
                                                    user_id=str(user))
        assert held is not None and "draft" in held.state
        await conversations.save_conversation(
            session, channel="telegram", chat_id=str(user), user_id=str(user), flow=held.flow,
            state={key: value for key, value in held.state.items() if key != "draft"}, now=tg.clock.now())
        await session.commit()


async def test_an_older_reports_confirm_stores_nothing(telegram: TelegramHarness) -> None:
    tg = telegram
    await tg.bind(HAO, "郝芳")
    first = await summary(tg, "850万")
    await summary(tg, "900万")  # /report again: the first summary's flow is left, a second one shown
    pressed = await press_on(tg, HAO, last_id(first), "确认")
    assert OUTDATED in pressed.text and "最新一条消息" in pressed.text, pressed
    assert await tg.reports() == []
    done = await tg.press(HAO, "确认")  # the newest summary's
    assert "已记录填报" in done.text, done
    assert [r.amount for r in await tg.reports()] == [Decimal(900)]


async def test_an_older_replace_stores_nothing(telegram: TelegramHarness) -> None:
    tg = telegram
    await tg.bind(HAO, "郝芳")
    assert "已记录填报" in (await tg.send(HAO, f"/report {CODE} 800万 清表")).text
    first = await tg.send(HAO, f"/report {CODE} 850万 桩基")
    assert "确认替换" in first.buttons, first
    await tg.send(HAO, f"/report {CODE} 950万 主体")  # asked again, for the 950
    pressed = await press_on(tg, HAO, last_id(first), "确认替换")
    assert OUTDATED in pressed.text, pressed
    assert [r.amount for r in await tg.reports()] == [Decimal(800)]
    assert "替换" in (await tg.press(HAO, "确认替换")).text
    assert [r.amount for r in await tg.reports()] == [Decimal(950)]


async def test_a_confirm_from_before_the_upgrade_shows_the_draft_again(telegram: TelegramHarness) -> None:
    tg = telegram
    await tg.bind(HAO, "郝芳")
    old = await summary(tg, "850万")
    await as_before_the_upgrade(tg, HAO, last_id(old))
    update = tg.fake.enqueue_callback(HAO, data="rp:ok", message_id=last_id(old))  # its 确认, as it was
    mark = len(tg.fake.calls)
    await tg.wait_processed(update["update_id"])
    pressed = Replies([c for c in tg.fake.calls[mark:] if c.matches(None, {"chat_id": HAO})])
    assert OUTDATED in pressed.text and "请核对填报内容" in pressed.text and "850.0" in pressed.text, pressed
    assert await tg.reports() == []
    assert "已记录填报" in (await tg.press(HAO, "确认")).text  # the draft shown again: its 确认 stores it
    assert [r.amount for r in await tg.reports()] == [Decimal(850)]


async def test_a_bare_confirm_while_a_newer_draft_waits_stores_nothing(telegram: TelegramHarness) -> None:
    tg = telegram
    await tg.bind(HAO, "郝芳")
    old = await summary(tg, "850万")
    await summary(tg, "900万")
    update = tg.fake.enqueue_callback(HAO, data="rp:ok", message_id=last_id(old))  # an older version's 确认
    mark = len(tg.fake.calls)
    await tg.wait_processed(update["update_id"])
    pressed = Replies([c for c in tg.fake.calls[mark:] if c.matches(None, {"chat_id": HAO})])
    assert OUTDATED in pressed.text and "请核对填报内容" not in pressed.text, pressed
    assert await tg.reports() == []
    assert "已记录填报" in (await tg.press(HAO, "确认")).text
    assert [r.amount for r in await tg.reports()] == [Decimal(900)]


async def _issue_summary(tg: TelegramHarness, text: str) -> Replies:
    await tg.send(HAO, "/issue")
    await tg.press(HAO, "ZD2026-001 城北高速连接线")
    await tg.press(HAO, "水电路气")
    await tg.send(HAO, text)
    await tg.press(HAO, "完成（不再上传照片）")
    shown = await tg.press(HAO, "牵头单位：区住建局")
    assert "确认" in shown.buttons and text in shown.text, shown
    return shown


async def _problems(tg: TelegramHarness) -> list[str]:
    async with tg.session() as session:
        return list((await session.scalars(select(Problem.text).order_by(Problem.id))).all())


async def test_an_older_issues_confirm_raises_nothing(telegram: TelegramHarness) -> None:
    tg = telegram
    await tg.bind(HAO, "郝芳")
    first = await _issue_summary(tg, "施工用电迟迟未接入")
    await _issue_summary(tg, "供水管线改迁未完成")
    pressed = await press_on(tg, HAO, last_id(first), "确认")
    assert OUTDATED in pressed.text, pressed
    assert await _problems(tg) == []
    assert "W0001" in (await tg.press(HAO, "确认")).text
    assert await _problems(tg) == ["供水管线改迁未完成"]


async def _halfmonth_confirm(tg: TelegramHarness, problems: str) -> Replies:
    await tg.send(HAO, f"/halfmonth {CODE}")
    await tg.send(HAO, "主体结构施工至第10层")
    await tg.send(HAO, problems)
    shown = await tg.send(HAO, "按计划推进")
    assert "提交" in shown.buttons and problems in shown.text, shown
    return shown


async def test_an_older_halfmonths_submit_saves_nothing(imported: TelegramHarness,  # noqa: F811
                                                       settings: Settings) -> None:  # noqa: F811
    tg = imported
    office = Office(tg, settings)
    await office.setup((HAO, "郝芳", "liaison"))
    office.travel(at(11, 16, 10))  # the first half of November is asked for
    first = await _halfmonth_confirm(tg, "征地还有12户未签约")
    await _halfmonth_confirm(tg, "征地还有10户未签约")
    pressed = await press_on(tg, HAO, last_id(first), "提交")
    assert OUTDATED in pressed.text, pressed
    async with tg.session() as session:
        assert await session.scalar(select(func.count(HalfMonthReport.id))) == 0
    assert "已报送 ZD2026-001" in (await tg.press(HAO, "提交")).text
    async with tg.session() as session:
        assert (await session.scalars(select(HalfMonthReport.problems))).all() == ["征地还有10户未签约"]


async def _node_audits(tg: TelegramHarness) -> int:
    async with tg.session() as session:
        return int(await session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "node.done"))
                   or 0)


async def test_an_older_nodes_buttons_mark_nothing_and_cancel_nothing(imported: TelegramHarness,  # noqa: F811
                                                                      settings: Settings) -> None:  # noqa: F811
    tg = imported
    office = Office(tg, settings)
    await office.setup((WU, "武杰", "liaison"))
    office.travel(at(12, 2, 10))
    await tg.send(WU, "/node")
    await tg.press(WU, f"{NODE_CODE} 施工许可")
    first = await tg.press(WU, "今天完成（2026-12-02）")
    assert "完成" in first.buttons, first
    keyboard = tg.fake.messages[(WU, last_id(first))]["reply_markup"]["inline_keyboard"]
    cancel = next(b["callback_data"] for row in keyboard for b in row if b["text"] == "取消")
    await tg.send(WU, "/node")  # the node begun again: a flow of its own
    await tg.press(WU, f"{NODE_CODE} 施工许可")
    await tg.press(WU, "今天完成（2026-12-02）")
    pressed = await press_on(tg, WU, last_id(first), "完成")
    assert OUTDATED in pressed.text and await _node_audits(tg) == 0, pressed
    assert "已记录" in (await tg.press(WU, "完成")).text and await _node_audits(tg) == 1
    # the node's 取消, on its message, while a report is under way: the report goes on
    await tg.send(WU, f"/report {NODE_CODE}")
    update = tg.fake.enqueue_callback(WU, data=cancel, message_id=last_id(first))  # shown again: Telegram's
    mark = len(tg.fake.calls)  # client can still send a press of a keyboard it had not updated
    await tg.wait_processed(update["update_id"])
    cancelled = Replies([c for c in tg.fake.calls[mark:] if c.matches(None, {"chat_id": WU})])
    assert "这项操作已经结束，无需取消" in cancelled.text, cancelled
    assert "请输入本期完成投资" not in cancelled.text
    assert "形象进度" in (await tg.send(WU, "120万")).text  # the report's amount step took it


async def test_an_issues_confirm_from_before_the_upgrade_shows_it_again(telegram: TelegramHarness) -> None:
    tg = telegram
    await tg.bind(HAO, "郝芳")
    old = await _issue_summary(tg, "施工用电迟迟未接入")
    await as_before_the_upgrade(tg, HAO, last_id(old))
    pressed = await press_on(tg, HAO, last_id(old), "确认")  # iss:ok, as an older version sent it
    assert OUTDATED in pressed.text and "施工用电迟迟未接入" in pressed.text and "确认" in pressed.buttons, pressed
    assert await _problems(tg) == []
    assert "W0001" in (await tg.press(HAO, "确认")).text
    assert await _problems(tg) == ["施工用电迟迟未接入"]
