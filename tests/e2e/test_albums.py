"""Albums through the real python-telegram-bot Application and the fake Bot API: Telegram sends an album as one
message per photo, the caption on any one of them, in no promised order, and may deliver a message twice.
Every photo joins the report its album belongs to (made at once, or after the buttons it asked for), the parts
after the caption answered once; photos that belong to nothing get one notice, once the bot has waited for the
rest of the album.

郝芳 (1001) is the liaison of ZD2026-001; the clock is Friday 2026-11-20 10:00, a working day.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from bot.channels.telegram_transport import TelegramTransport
from bot.clock import SHANGHAI
from bot.domain.albums import ALBUM_WAIT, ANSWER_WAIT
from bot.services import album_waits
from bot.services.outbox import OutboxSender
from storage.models import ReportPhoto
from tests.e2e.harness import Replies, TelegramHarness
from tests.fakes.bot_api import FakeBotAPI

HAO = 1001
CODE = "ZD2026-001"
LINE = f"{CODE} 850万 桩基完成"
UNEXPLAINED = "没有说明是哪个项目的填报"


@pytest.fixture
async def tg(telegram: TelegramHarness) -> TelegramHarness:
    await telegram.bind(HAO, "郝芳")
    return telegram


def part_update(fake: FakeBotAPI, album: str, caption: str = "") -> dict[str, Any]:
    """An update carrying one photo of an album 郝芳 sends (not queued)."""
    update = fake.text_update(HAO, "")
    del update["message"]["text"]
    update["message"].update({"media_group_id": album, "photo": [
        {"file_id": fake.add_file(), "file_unique_id": f"u{update['update_id']}", "width": 1280, "height": 960,
         "file_size": 200_000}]})
    if caption:
        update["message"]["caption"] = caption
    return update


async def deliver(tg: TelegramHarness, update: dict[str, Any]) -> Replies:
    """Telegram delivers the update (again, with a new update id, when it was delivered before)."""
    if "handled" in update:
        update = {"message": dict(update["message"])}
    mark = len(tg.fake.calls)
    tg.fake.enqueue_update(update)
    await tg.wait_processed(update["update_id"])
    update["handled"] = True
    return Replies([c for c in tg.fake.calls[mark:] if c.matches(None, {"chat_id": HAO})])


async def part(tg: TelegramHarness, album: str, caption: str = "") -> Replies:
    return await deliver(tg, part_update(tg.fake, album, caption))


async def photo_files(tg: TelegramHarness) -> list[str]:
    [report] = await tg.reports()
    async with tg.session() as session:
        query = select(ReportPhoto.file_id).where(ReportPhoto.report_id == report.id).order_by(ReportPhoto.id)
        return list((await session.scalars(query)).all())


async def notices_after(tg: TelegramHarness, **wait: float) -> list[str]:
    """What the outbox's sender sends the liaison once the clock has moved on by `wait`."""
    tg.clock.advance(**wait)
    mark = len(tg.fake.calls)
    await OutboxSender(tg.core.db, tg.clock, {"telegram": TelegramTransport(tg.application.bot)}).drain(10)
    return tg.fake.texts(HAO, since=mark)


async def answer(tg: TelegramHarness) -> str:
    """The one answer to the album parts a guided flow took, sent once the bot has waited for the rest."""
    [text] = await notices_after(tg, seconds=ANSWER_WAIT.total_seconds())
    return text


async def test_parts_before_the_captioned_last_one_join_its_report(tg: TelegramHarness) -> None:
    early = [part_update(tg.fake, "501") for _ in range(2)]
    for update in early:
        assert (await deliver(tg, update)).messages == []  # held for the caption, not answered
    saved = await part(tg, "501", LINE)
    assert "已记录填报" in saved and "照片 3 张" in saved, saved
    files = await photo_files(tg)
    assert len(files) == 3 and {u["message"]["photo"][0]["file_id"] for u in early} <= set(files)
    assert await notices_after(tg, minutes=5) == []  # the caption came: nothing more is said
    tg.assert_nothing_failed()


async def test_a_caption_in_the_middle_takes_the_parts_before_and_after(tg: TelegramHarness) -> None:
    assert (await part(tg, "502")).messages == []
    assert "照片 2 张" in await part(tg, "502", LINE)
    assert (await part(tg, "502")).messages == []  # the parts after the caption are answered once
    assert (await part(tg, "502", "3号墩柱")).messages == []  # a photo's own words, no report line: it joins
    assert "现有照片 4 张" in await answer(tg)
    assert len(await photo_files(tg)) == 4 and await tg.report_count() == 1
    assert await notices_after(tg, minutes=5) == []


async def test_redelivered_parts_join_once(tg: TelegramHarness) -> None:
    early, late = part_update(tg.fake, "503"), part_update(tg.fake, "503")
    await deliver(tg, early)
    assert (await deliver(tg, early)).messages == []  # the same message again, before the caption
    assert "照片 2 张" in await part(tg, "503", LINE)
    await deliver(tg, late)
    assert "现有照片 3 张" in await answer(tg)
    assert (await deliver(tg, late)).messages == []
    assert (await deliver(tg, early)).messages == []  # and once more, after it joined
    files = await photo_files(tg)
    assert len(files) == 3 and len(set(files)) == 3


async def test_every_order_of_an_album_makes_one_report_with_every_photo(tg: TelegramHarness) -> None:
    """Three photos, the caption on any one, arriving in each of the six orders, the first one delivered again
    after the second: each time one report with three photos, and the parts after the caption answered once."""
    for n, order in enumerate(itertools.permutations(["caption", "a", "b"])):
        tg.clock.advance(days=1)
        album = f"6{n:02d}"
        updates = {name: part_update(tg.fake, album, LINE if name == "caption" else "") for name in order}
        answers = [await deliver(tg, updates[order[0]]), await deliver(tg, updates[order[1]]),
                   await deliver(tg, updates[order[0]]), await deliver(tg, updates[order[2]])]
        assert sum("已记录填报" in a for a in answers) == 1, (order, answers)
        assert answers[2].messages == []  # the redelivered part
        [report] = [r for r in await tg.reports() if r.local_day == tg.clock.now().astimezone(SHANGHAI).date()]
        async with tg.session() as session:
            files = (await session.scalars(select(ReportPhoto.file_id)
                                           .where(ReportPhoto.report_id == report.id))).all()
        assert sorted(files) == sorted(u["message"]["photo"][0]["file_id"] for u in updates.values()), order
        joined = await notices_after(tg, seconds=ANSWER_WAIT.total_seconds())
        assert [("现有照片 3 张" in text) for text in joined] == ([] if order[2] == "caption" else [True]), order
    assert await notices_after(tg, minutes=5) == []


async def test_parts_after_the_guided_flows_buttons_join_its_report(tg: TelegramHarness) -> None:
    await tg.send(HAO, "/report")
    await tg.press(HAO, f"{CODE} 城北高速连接线")
    await tg.send(HAO, "850万 桩基完成")
    assert (await part(tg, "504")).messages == []  # answered once the rest of the album had time to come
    assert "已收到 1 张照片" in await answer(tg)
    assert "现场照片：1 张" in await tg.press(HAO, "完成（不再上传照片）")
    await part(tg, "504")  # the summary waits for 确认: the photo is kept for the report
    assert "现有 2 张，将随这条填报一并保存" in await answer(tg)
    assert "照片 2 张" in await tg.press(HAO, "确认")
    await part(tg, "504")
    assert "照片已加入 ZD2026-001 今天的填报，现有照片 3 张" in await answer(tg)
    assert len(await photo_files(tg)) == 3


@pytest.mark.parametrize(("caption", "button"), [
    (f"{CODE} 3 000 主体施工", "3,000.0 万元，进度「主体施工」"),  # which reading of the amount: asked with buttons
    (LINE, "确认替换"),  # today's report is there already: replace it?
])
async def test_parts_after_the_button_a_captioned_part_asked_for_join_the_report(
        tg: TelegramHarness, caption: str, button: str) -> None:
    if button == "确认替换":
        assert "已记录填报" in await tg.send(HAO, f"/report {CODE} 500 桩基")
    asked = await part(tg, "505", caption)
    assert button in asked.buttons and "已记录" not in asked
    await part(tg, "505")
    assert "现有 2 张" in await answer(tg)
    assert "照片 2 张" in await tg.press(HAO, button)
    await part(tg, "505")
    assert "现有照片 3 张" in await answer(tg)
    assert len(await photo_files(tg)) == 3


async def test_an_album_captioned_only_report_keeps_its_photos_for_the_guided_report(tg: TelegramHarness) -> None:
    assert (await part(tg, "506")).messages == []
    started = await part(tg, "506", "/report")
    assert "已收到照片 2 张" in started and f"{CODE} 城北高速连接线" in started.buttons
    await part(tg, "506")
    assert "现有 3 张" in await answer(tg)
    await tg.press(HAO, f"{CODE} 城北高速连接线")
    assert "已收到 3 张照片" in await tg.send(HAO, "850万 桩基完成")
    assert "现场照片：3 张" in await tg.press(HAO, "完成（不再上传照片）")
    assert "照片 3 张" in await tg.press(HAO, "确认")
    await part(tg, "506")
    assert "现有照片 4 张" in await answer(tg)
    assert len(await photo_files(tg)) == 4
    assert await notices_after(tg, minutes=5) == []


async def test_an_album_captioned_with_only_the_code_keeps_its_photos(tg: TelegramHarness) -> None:
    assert (await part(tg, "507")).messages == []
    assert "请输入本期完成投资" in await part(tg, "507", CODE)
    assert "已收到 2 张照片" in await tg.send(HAO, "850万 桩基完成")
    await tg.press(HAO, "完成（不再上传照片）")
    assert "照片 2 张" in await tg.press(HAO, "确认")


async def test_an_album_with_no_caption_is_answered_once_after_the_wait(tg: TelegramHarness) -> None:
    for _ in range(3):
        assert (await part(tg, "508")).messages == []
        tg.clock.advance(seconds=2)
    assert await notices_after(tg, seconds=ALBUM_WAIT.total_seconds() - 5) == []  # still waiting for the rest
    [notice] = await notices_after(tg, seconds=5)
    assert "收到 3 张照片" in notice and UNEXPLAINED in notice and "未保存" in notice
    assert await notices_after(tg, minutes=10) == []
    assert await tg.report_count() == 0

    # A photo that is no part of an album is answered at once, as in WeCom.
    assert UNEXPLAINED in await tg.photo(HAO)


async def test_a_refused_caption_is_the_albums_one_answer(tg: TelegramHarness) -> None:
    assert (await part(tg, "509")).messages == []
    refused = await part(tg, "509", "ZD2026-002 100 清表完成")  # not her project
    assert "您不是项目 ZD2026-002" in refused
    assert (await part(tg, "509")).messages == []
    assert await notices_after(tg, minutes=5) == []
    assert await tg.report_count() == 0


async def test_two_albums_at_once_each_keep_their_own_photos(tg: TelegramHarness) -> None:
    await part(tg, "510")
    await part(tg, "511")  # another album, never captioned
    assert "照片 2 张" in await part(tg, "510", LINE)
    [notice] = await notices_after(tg, minutes=1)
    assert "收到 1 张照片" in notice and UNEXPLAINED in notice
    [report] = await tg.reports()
    assert report.amount == Decimal(850) and len(await photo_files(tg)) == 2


async def restart(tg: TelegramHarness, *, down_for: timedelta) -> None:
    """The bot stops, and starts again `down_for` later, its leader putting off the albums' notices before the
    outbox sender starts (as ``diaodu run`` does)."""
    await tg.stop()
    tg.clock.advance(seconds=down_for.total_seconds())
    await album_waits.resume(tg.core.db, tg.clock, tg.core.deps.renderer)
    await tg.start()


def sent_before(tg: TelegramHarness, update: dict[str, Any], ago: timedelta) -> dict[str, Any]:
    update["message"]["date"] = int((tg.clock.now() - ago).timestamp())
    return update


async def test_after_a_restart_a_caption_still_queued_takes_the_album_and_no_notice_goes_out(
        tg: TelegramHarness) -> None:
    """Two parts were handled, then the bot stopped before the captioned part, sent with them, was: it is queued
    at Telegram. The notice, due while the bot was down, waits after the restart for the backlog to be handled."""
    for _ in range(2):
        assert (await deliver(tg, sent_before(tg, part_update(tg.fake, "520"), timedelta(0)))).messages == []
    await restart(tg, down_for=timedelta(minutes=5))
    assert await notices_after(tg, seconds=1) == []  # the sender runs before the backlog is handled
    caption = sent_before(tg, part_update(tg.fake, "520", LINE), timedelta(minutes=5, seconds=1))
    assert "照片 3 张" in await deliver(tg, caption)
    assert await notices_after(tg, minutes=30) == []
    assert len(await photo_files(tg)) == 3

    # With no caption at all, the notice goes out once the longer wait after the restart is over.
    for _ in range(2):
        await deliver(tg, sent_before(tg, part_update(tg.fake, "521"), timedelta(0)))
    await restart(tg, down_for=timedelta(minutes=2))
    assert await notices_after(tg, minutes=2) == []  # 15 s, and as long again as the bot is behind the parts
    [notice] = await notices_after(tg, seconds=20)
    assert UNEXPLAINED in notice and "收到 2 张照片" in notice

