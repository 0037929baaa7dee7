"""Images in WeCom, which has no albums: an image sent while the guided /report waits for a button (the project,
确认) is kept for its report, as on Telegram, and goes with the node when 节点完成 is pressed there; images sent
one after the other during the flow are answered once, as an album is, a few seconds after the last. An image that
belongs to no report is answered at once, each one, and a report line typed afterwards does not take it (the
answer said how to send it). Someone not bound is told so once for images sent one after the other."""

from __future__ import annotations

from sqlalchemy import select

from bot.clock import SHANGHAI
from bot.domain.albums import ALBUM_WAIT, RUN_WAIT
from storage.models import NodePhoto
from tests.fakes.wecom_api import FakeWeCom
from tests.wecom.harness import HAO, WeComHarness, WeComReplies

CODE = "ZD2026-001"
STRANGER = "lu_ren"  # nobody bound


async def images(wecom: WeComHarness, count: int = 1) -> WeComReplies:
    """`count` images sent one after the other, a second apart: what the liaison is answered (once, ``RUN_WAIT``
    after the last; nothing before)."""
    for _ in range(count):
        assert (await wecom.photo(HAO, alone=False)).messages == []
        wecom.clock.advance(seconds=1)
    mark = len(wecom.fake.calls)
    wecom.clock.advance(seconds=RUN_WAIT.total_seconds() - 2)
    await wecom.deliver_outbox()
    assert wecom.fake.sent_to(HAO, since=mark) == []  # still waiting for the next image
    wecom.clock.advance(seconds=1)
    await wecom.deliver_outbox()
    return WeComReplies(wecom.fake.sent_to(HAO, since=mark))


async def test_images_sent_while_the_guided_report_waits_for_a_button_are_kept(wecom: WeComHarness) -> None:
    await wecom.bind(HAO, "郝芳")
    await wecom.send(HAO, "/report")
    assert "现有 1 张，将随这条填报一并保存" in await images(wecom)  # before the project is picked
    await wecom.press(HAO, f"{CODE} 城北高速连接线")
    assert "已收到 1 张照片" in await wecom.send(HAO, "3000万元 路基完成40%")
    assert "现场照片：1 张" in await wecom.press(HAO, "完成（不再上传照片）")
    assert "现有 2 张，将随这条填报一并保存" in await images(wecom)  # the summary waits for 确认
    assert "照片 2 张" in await wecom.press(HAO, "确认")
    [report] = await wecom.reports()
    assert len(report.photos) == 2


async def test_images_before_a_report_line_are_answered_at_once_and_not_taken(wecom: WeComHarness) -> None:
    await wecom.bind(HAO, "郝芳")
    for _ in range(2):
        assert "没有说明是哪个项目的填报" in await wecom.photo(HAO)
    saved = await wecom.send(HAO, f"{CODE} 3000万元 路基完成40%")
    assert "已记录填报" in saved and "照片" not in saved.text.split("。")[0]
    assert (await wecom.deliver_outbox()).sent == 0  # nothing more is said later
    [report] = await wecom.reports()
    assert not report.photos


async def test_node_done_from_the_report_takes_its_images_as_evidence(wecom: WeComHarness) -> None:
    """节点完成 pressed in /report's flow: the images the report held go with the node, as on Telegram."""
    await wecom.bind(HAO, "郝芳")
    await wecom.send(HAO, "/report")
    await wecom.press(HAO, f"{CODE} 城北高速连接线")
    answered = await images(wecom, 2)  # WeCom has no albums: the two are answered once
    assert len(answered.messages) == 1 and "现有 2 张" in answered.text
    await wecom.press(HAO, "节点完成")
    assert "填报中已发送的 2 张照片" in await wecom.press(HAO, f"{CODE} 路基完成")
    today = wecom.clock.now().astimezone(SHANGHAI).date().isoformat()
    assert "照片 2 张" in await wecom.press(HAO, f"今天完成（{today}）")
    assert "照片 2 张" in await wecom.press(HAO, "完成")
    async with wecom.session() as session:
        photos = (await session.scalars(select(NodePhoto.channel))).all()
    assert photos == ["wecom", "wecom"] and await wecom.report_count() == 0


async def test_a_stranger_sending_images_one_by_one_is_answered_once(wecom: WeComHarness,
                                                                     fake_wecom: FakeWeCom) -> None:
    fake_wecom.add_user(STRANGER)
    answers = []
    for _ in range(3):
        answers.append((await wecom.photo(STRANGER)).text)
        wecom.clock.advance(seconds=2)
    assert ["/start 邀请码" in text for text in answers] == [True, False, False], answers
    wecom.clock.advance(seconds=ALBUM_WAIT.total_seconds() + 1)
    assert "/start 邀请码" in await wecom.photo(STRANGER)  # a while later: answered again


async def test_five_images_in_a_row_during_the_report_are_answered_once_with_the_count(wecom: WeComHarness) -> None:
    await wecom.bind(HAO, "郝芳")
    await wecom.send(HAO, "/report")
    await wecom.press(HAO, f"{CODE} 城北高速连接线")
    await wecom.send(HAO, "3000万元")
    await wecom.send(HAO, "路基完成40%")
    answered = await images(wecom, 5)
    assert len(answered.messages) == 1 and "已收到 5 张照片" in answered.text, answered.texts
    assert (await wecom.deliver_outbox()).sent == 0  # nothing more later
    assert "现场照片：5 张" in await wecom.press(HAO, "完成（不再上传照片）")


async def test_words_sent_before_the_runs_answer_went_out_take_its_place(wecom: WeComHarness) -> None:
    """The flow moved on (a button pressed, words typed) before the answer to the images went out: that answer
    would come after, out of date, so it is not sent; the flow's answer counts the images."""
    await wecom.bind(HAO, "郝芳")
    await wecom.send(HAO, "/report")
    assert (await wecom.photo(HAO, alone=False)).messages == []
    picked = await wecom.press(HAO, f"{CODE} 城北高速连接线")
    assert "本期完成投资" in picked.text, picked.texts
    for _ in range(2):
        assert (await wecom.photo(HAO, alone=False)).messages == []
    assert "已收到 3 张照片" in await wecom.send(HAO, "3000万元 路基完成40%")
    wecom.clock.advance(minutes=1)
    assert (await wecom.deliver_outbox()).sent == 0
